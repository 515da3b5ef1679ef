package main

// Deckhouse virtualization's VirtualMachineOperation admission, mirrored (its module is not
// importable: github.com/deckhouse/virtualization-controller lives in images/virtualization-artifact
// of github.com/deckhouse/virtualization and the Go proxy does not serve it).
//
// Upstream, v1.10.2:
//   images/virtualization-artifact/pkg/controller/vmop/vmop_webhook.go       activeVMOPValidator
//   images/virtualization-artifact/pkg/controller/vmop/supersede/supersede.go CanSupersede
//   images/virtualization-artifact/pkg/common/vmop/vmop.go                    IsFinished
// controller-runtime turns the validator's plain error into a denial with code 403, reason
// Forbidden (sigs.k8s.io/controller-runtime pkg/webhook/admission/validator_custom.go).
// The other create validators there (nodeSelector needs an EE feature gate; local-storage
// migration is an edition check) are not mirrored: vmsnap never sets either.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

var vmopResource = schema.GroupVersionResource{
	Group: "virtualization.deckhouse.io", Version: "v1alpha2", Resource: "virtualmachineoperations",
}

// The fields of v1alpha2.VirtualMachineOperation the validator reads.
type vmop struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Type           string `json:"type"`
		VirtualMachine string `json:"virtualMachineName"`
		Force          *bool  `json:"force,omitempty"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

type deckhouseAdmission struct {
	client dynamic.Interface
}

func newDeckhouseAdmission(restConfig *rest.Config) (*deckhouseAdmission, error) {
	client, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		return nil, err
	}
	return &deckhouseAdmission{client: client}, nil
}

func (d *deckhouseAdmission) register(mux *http.ServeMux) {
	mux.HandleFunc("/deckhouse/virtualmachineoperations", d.serve)
}

func (d *deckhouseAdmission) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	review := admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	response := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	if review.Request.Operation == admissionv1.Create {
		if err := d.validateCreate(r.Context(), review.Request); err != nil {
			response.Allowed = false
			response.Result = &metav1.Status{
				Status: metav1.StatusFailure, Code: http.StatusForbidden,
				Reason: metav1.StatusReasonForbidden, Message: err.Error(),
			}
		}
	}
	out, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: response})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// activeVMOPValidator.ValidateCreate. Upstream lists through the manager's cached client; this
// lists from the API server (the same answer, without a cache's lag).
func (d *deckhouseAdmission) validateCreate(ctx context.Context, req *admissionv1.AdmissionRequest) error {
	op := vmop{}
	if err := json.Unmarshal(req.Object.Raw, &op); err != nil {
		return err
	}
	list, err := d.client.Resource(vmopResource).Namespace(req.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("failed to list VirtualMachineOperations: %w", err)
	}
	for _, item := range list.Items {
		raw, err := item.MarshalJSON()
		if err != nil {
			return err
		}
		other := vmop{}
		if err := json.Unmarshal(raw, &other); err != nil {
			return err
		}
		if other.Spec.VirtualMachine != op.Spec.VirtualMachine || isFinished(&other) {
			continue
		}
		if !canSupersede(&other, &op) {
			return fmt.Errorf("VMOP cannot be executed now. Previously created operation %q should finish first", other.Name)
		}
	}
	return nil
}

func isFinished(op *vmop) bool {
	switch op.Status.Phase {
	case "Failed", "Completed", "Superseded":
		return true
	}
	return false
}

func canSupersede(old, next *vmop) bool {
	if old.Spec.VirtualMachine != next.Spec.VirtualMachine {
		return false
	}
	oldForce := old.Spec.Force != nil && *old.Spec.Force
	newForce := next.Spec.Force != nil && *next.Spec.Force
	switch old.Spec.Type {
	case "Start":
		return next.Spec.Type == "Stop"
	case "Stop", "Restart":
		if oldForce {
			return false
		}
		return (next.Spec.Type == "Stop" || next.Spec.Type == "Restart") && newForce
	case "Migrate", "Evict":
		return next.Spec.Type == "Stop" || next.Spec.Type == "Restart"
	default:
		return false
	}
}
