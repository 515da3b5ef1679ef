// The platforms' admission refusals as typed errors: a webhook's 403 or 422 that names another
// operation is a conflict with it (exit 7), never a missing permission.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../core/errors.js";
import { KubeApiError } from "../kube/client.js";
import { toVmsnapError } from "../kube/errors.js";
import { explainRefusal as deckhouse } from "./deckhouse/admission.js";
import { explainRefusal as kubevirt } from "./kubevirt/restore.js";
import { ConcurrentRestoreError, OperationInProgressError } from "./errors.js";

const refusal = (code: number, message: string) =>
  new KubeApiError(
    code,
    { kind: "Status", status: "Failure", code, message },
    "POST",
    "/apis/x/v1/namespaces/ns/things",
  );

describe("admission refusals", () => {
  it("Deckhouse's 403 'should finish first' is a conflict naming the operation", () => {
    const err = refusal(
      403,
      'admission webhook "vmop.virtualization-controller.validate.d8-virtualization" denied the request: VMOP cannot be executed now. Previously created operation "db-start-1" should finish first',
    );
    const typed = deckhouse(err);
    assert.ok(typed instanceof OperationInProgressError);
    assert.equal(typed.blocking, "db-start-1");
    assert.equal(typed.code, ErrorCode.Conflict);
    assert.match(typed.message, /db-start-1/);
    // Unexplained, the same answer reads as RBAC: the platform's explanation is what changes it.
    assert.equal(toVmsnapError(err).code, ErrorCode.Forbidden);
  });

  it("an RBAC 403 stays unexplained", () => {
    const err = refusal(
      403,
      'virtualmachineoperations.virtualization.deckhouse.io is forbidden: User "u" cannot create resource "virtualmachineoperations" in API group "virtualization.deckhouse.io" in the namespace "ns"',
    );
    assert.equal(deckhouse(err), undefined);
  });

  it("KubeVirt's 422 VM lock is a conflict naming the snapshot or restore", () => {
    const snap = kubevirt(
      refusal(
        422,
        'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: Cannot update vm running state until snapshot "nightly" completes',
      ),
    );
    assert.ok(snap instanceof OperationInProgressError);
    assert.equal(snap.blocking, "nightly");
    const restore = kubevirt(
      refusal(
        422,
        'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: Cannot update VM runStrategy until restore "r1" completes',
      ),
    );
    assert.ok(restore instanceof OperationInProgressError);
    assert.equal(restore.blocking, "r1");
  });

  it("KubeVirt's 422 restore in progress is a concurrent restore", () => {
    const typed = kubevirt(
      refusal(
        422,
        'admission webhook "virtualmachinerestore-validator.snapshot.kubevirt.io" denied the request: VirtualMachineRestore "r1" in progress',
      ),
    );
    assert.ok(typed instanceof ConcurrentRestoreError);
  });
});
