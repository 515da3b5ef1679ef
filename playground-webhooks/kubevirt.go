package main

// KubeVirt's admission, served by upstream's own code from kubevirt.io/kubevirt (version in
// go.mod): the VirtualMachineSnapshot and VirtualMachineRestore admitters of pkg/storage/admitters,
// and for VirtualMachines the storage part of virt-api's VM admitter (pkg/storage/admitters
// vm-storage-admitter.go / vm-storage-status.go, which pkg/virt-api/webhooks/validating-webhook/
// admitters/vms-admitter.go calls): no run strategy or volume change while status.
// snapshotInProgress is set, no run strategy change while status.restoreInProgress is set.
// The rest of the VM admitter (full VMI spec validation, instance types) is not served: the
// playground's VMs are minimal and never run.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"

	admissionv1 "k8s.io/api/admission/v1"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	v1 "kubevirt.io/api/core/v1"
	snapshotv1 "kubevirt.io/api/snapshot/v1beta1"
	"kubevirt.io/client-go/kubecli"

	storageadmitters "kubevirt.io/kubevirt/pkg/storage/admitters"
	webhookutils "kubevirt.io/kubevirt/pkg/util/webhooks"
	validating_webhooks "kubevirt.io/kubevirt/pkg/util/webhooks/validating-webhooks"
	virtconfig "kubevirt.io/kubevirt/pkg/virt-config"
	"kubevirt.io/kubevirt/pkg/virt-config/featuregate"
)

// The playground has no KubeVirt CR: the cluster configuration the admitters consult is a fixed
// one with the Snapshot feature gate on, as on any cluster where snapshots work.
const kubevirtNamespace = "kubevirt"

type kubevirtAdmission struct {
	client        kubecli.KubevirtClient
	clusterConfig *virtconfig.ClusterConfig
	restores      cache.SharedIndexInformer
}

func newKubeVirtAdmission(restConfig *rest.Config) (*kubevirtAdmission, error) {
	client, err := kubecli.GetKubevirtClientFromRESTConfig(restConfig)
	if err != nil {
		return nil, err
	}
	clusterConfig, err := fixedClusterConfig()
	if err != nil {
		return nil, err
	}
	// The informer virt-api gives the restore admitter (pkg/controller/virtinformers.go,
	// VirtualMachineRestore()), with the namespace index the admitter reads. pkg/controller itself
	// is not imported: it needs kubevirt.io/virt-template-* modules the Go proxy does not serve.
	lw := cache.NewListWatchFromClient(client.GeneratedKubeVirtClient().SnapshotV1beta1().RESTClient(),
		"virtualmachinerestores", metav1.NamespaceAll, fields.Everything())
	restores := cache.NewSharedIndexInformer(lw, &snapshotv1.VirtualMachineRestore{}, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	return &kubevirtAdmission{client: client, clusterConfig: clusterConfig, restores: restores}, nil
}

func fixedClusterConfig() (*virtconfig.ClusterConfig, error) {
	crds := cache.NewSharedIndexInformer(&cache.ListWatch{}, &extv1.CustomResourceDefinition{}, 0, cache.Indexers{})
	kubevirts := cache.NewSharedIndexInformer(&cache.ListWatch{}, &v1.KubeVirt{}, 0, cache.Indexers{})
	kv := &v1.KubeVirt{
		ObjectMeta: metav1.ObjectMeta{Name: "kubevirt", Namespace: kubevirtNamespace, ResourceVersion: "1"},
		Spec: v1.KubeVirtSpec{Configuration: v1.KubeVirtConfiguration{
			DeveloperConfiguration: &v1.DeveloperConfiguration{FeatureGates: []string{featuregate.SnapshotGate}},
		}},
		Status: v1.KubeVirtStatus{Phase: v1.KubeVirtPhaseDeployed, DefaultArchitecture: runtime.GOARCH},
	}
	if err := kubevirts.GetStore().Add(kv); err != nil {
		return nil, err
	}
	return virtconfig.NewClusterConfig(crds, kubevirts, kubevirtNamespace)
}

func (k *kubevirtAdmission) start(ctx context.Context) error {
	go k.restores.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), k.restores.HasSynced) {
		return fmt.Errorf("the VirtualMachineRestore informer did not sync")
	}
	return nil
}

func (k *kubevirtAdmission) register(mux *http.ServeMux) {
	snapshots := storageadmitters.NewVMSnapshotAdmitter(k.clusterConfig, k.client)
	restores := storageadmitters.NewVMRestoreAdmitter(k.clusterConfig, k.client, k.restores)
	vms := &vmStorageAdmitter{client: k.client, clusterConfig: k.clusterConfig}
	mux.HandleFunc("/kubevirt/virtualmachinesnapshots", func(w http.ResponseWriter, r *http.Request) {
		validating_webhooks.Serve(w, r, snapshots)
	})
	mux.HandleFunc("/kubevirt/virtualmachinerestores", func(w http.ResponseWriter, r *http.Request) {
		validating_webhooks.Serve(w, r, restores)
	})
	mux.HandleFunc("/kubevirt/virtualmachines", func(w http.ResponseWriter, r *http.Request) {
		validating_webhooks.Serve(w, r, vms)
	})
}

// vmStorageAdmitter is the part of virt-api's VMsAdmitter.Admit that calls the storage admitter:
// decode, let a VM being deleted through, then storageadmitters.Admit.
type vmStorageAdmitter struct {
	client        kubecli.KubevirtClient
	clusterConfig *virtconfig.ClusterConfig
}

func (a *vmStorageAdmitter) Admit(ctx context.Context, ar *admissionv1.AdmissionReview) *admissionv1.AdmissionResponse {
	vm := v1.VirtualMachine{}
	if err := json.Unmarshal(ar.Request.Object.Raw, &vm); err != nil {
		return webhookutils.ToAdmissionResponseError(err)
	}
	if vm.DeletionTimestamp != nil {
		return &admissionv1.AdmissionResponse{Allowed: true}
	}
	causes, err := storageadmitters.Admit(a.client, ctx, ar.Request, &vm, a.clusterConfig)
	if err != nil {
		return webhookutils.ToAdmissionResponseError(err)
	}
	if len(causes) > 0 {
		return webhookutils.ToAdmissionResponse(causes)
	}
	return &admissionv1.AdmissionResponse{Allowed: true}
}
