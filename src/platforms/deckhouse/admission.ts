// Deckhouse's admission refusals, as typed errors. Its webhook refuses a VirtualMachineOperation
// while another one of the VM is unfinished (and cannot be superseded by it), with code 403:
// images/virtualization-artifact/pkg/controller/vmop/vmop_webhook.go (activeVMOPValidator),
// deckhouse/virtualization v1.10.2. That 403 is a conflict with the named operation, not RBAC.
import { KubeApiError } from "../../kube/client.js";
import { OperationInProgressError } from "../errors.js";

const SHOULD_FINISH_FIRST = /Previously created operation "([^"]+)" should finish first/;

export function explainRefusal(err: unknown): OperationInProgressError | undefined {
  if (!(err instanceof KubeApiError) || err.code !== 403) return undefined;
  const blocking = SHOULD_FINISH_FIRST.exec(err.status.message ?? "")?.[1];
  if (!blocking) return undefined;
  return new OperationInProgressError(
    blocking,
    `operation ${blocking} of this VM has not finished: Deckhouse refuses another operation of the VM until it does (${err.status.message})`,
    `wait for VirtualMachineOperation ${blocking} to finish (kubectl get virtualmachineoperation ${blocking}), then try again`,
  );
}
