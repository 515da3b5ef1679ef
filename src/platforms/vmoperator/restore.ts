// VM Operator restores: a revert (VirtualMachine spec.currentSnapshotName), which cannot cross a
// CSI VolumeSnapshot of one of the VM's volumes; clone from a snapshot is not offered by the
// platform and is refused clearly; start and stop are power-state changes.
import { advice } from "../../core/advice.js";
import { ErrorCode, VmsnapError, notFound, operationFailed } from "../../core/errors.js";
import type { Snapshot } from "../../core/schema.js";
import { Csi, type KubeObject } from "../../kube/resources.js";
import { waitForObject } from "../../kube/watch.js";
import type {
  RestoreAction,
  RestorePreview,
  RunStateChange,
  VmState,
  WaitOptions,
  WithdrawOutcome,
} from "../types.js";
import type { VmopApi } from "./api.js";
import { claimsOf, condition, obj, str } from "./model.js";

const REVERT_CONDITION = "VirtualMachineSnapshotRevertSucceeded";

export function restoreAction(
  api: VmopApi,
  name: string,
  vm: VmState,
  snapshot: string,
): RestoreAction {
  return {
    kind: "patch",
    name,
    type: api.t.vms,
    vm: vm.name,
    snapshot,
    patch: { spec: { currentSnapshotName: snapshot } },
  };
}

export function refuseClone(namespace: string, snapshot: string): never {
  throw new VmsnapError(
    ErrorCode.InvalidInput,
    "clone from a snapshot is not supported by VM Operator: its snapshots can only be reverted in place",
    advice`revert the VM to the snapshot instead: ${{ do: "restore", namespace, snapshot }}; or create a new VM from a VM image`,
  );
}

export function runStateChange(api: VmopApi, vm: VmState, running: boolean): RunStateChange {
  const target = running
    ? vm.runStrategy === "PoweredOff"
      ? "PoweredOn"
      : vm.runStrategy
    : "PoweredOff";
  return { kind: "patch", type: api.t.vms, patch: { spec: { powerState: target } } };
}

export async function restorePreview(
  api: VmopApi,
  vm: VmState,
  snapshot: Snapshot,
): Promise<RestorePreview> {
  const raw = await api.kube.getIfExists(api.t.snapshots, snapshot.name, vm.namespace);
  const memory = obj(raw?.spec).memory === true;
  const cut = Date.parse(snapshot.creationTime ?? snapshot.createdAt ?? "");
  // vSphere takes the snapshot at some point after the object exists: any VolumeSnapshot from
  // the object's creation on may lie between it and now.
  const taken = Date.parse(snapshot.createdAt ?? snapshot.creationTime ?? "");
  // A revert cannot cross a CSI VolumeSnapshot of one of the VM's volumes (VMO #1140).
  const claims = new Set(claimsOf(vm.raw).map((c) => c.claimName));
  const vss = claims.size
    ? await api.kube.list(Csi.volumeSnapshots, vm.namespace)
    : { items: [] as KubeObject[] };
  const crossing = vss.items.filter(
    (v) =>
      claims.has(str(obj(obj(v.spec).source).persistentVolumeClaimName) ?? "") &&
      Date.parse(v.metadata.creationTimestamp ?? "") >= taken,
  );
  return {
    snapshotAgeSeconds: Number.isFinite(cut)
      ? Math.max(0, Math.round((api.ctx.now().getTime() - cut) / 1000))
      : null,
    specChanges: [],
    volumesNotInSnapshot: [],
    notes: [
      "VM Operator replaces the VM's spec, labels and annotations with those saved in the snapshot (the saved copy lives in vSphere, so no diff can be shown).",
      memory
        ? "The snapshot includes memory: the VM resumes in the state it had."
        : "The snapshot has no memory: VM Operator leaves the VM powered off after the revert.",
    ],
    blockers: crossing.map((v) => ({
      message: `CSI VolumeSnapshot ${v.metadata.name} of a VM volume was taken after the snapshot; VM Operator cannot revert across it`,
      fix: `delete the VolumeSnapshot ${v.metadata.name} first (VolumeSnapshots should be deleted before retrying the revert)`,
    })),
  };
}

export async function waitRestore(
  api: VmopApi,
  namespace: string,
  action: RestoreAction,
  options: WaitOptions,
): Promise<void> {
  if (action.kind !== "patch") throw new Error("a VM Operator restore is a revert");
  await waitForObject(
    api.kube,
    api.t.vms,
    action.vm,
    namespace,
    (vm) => {
      if (!vm)
        throw notFound(`VirtualMachine ${namespace}/${action.vm} disappeared during the revert`);
      const failed = condition(vm, REVERT_CONDITION);
      if (str(failed?.status) === "False" && !/InProgress/.test(str(failed?.reason) ?? "")) {
        throw operationFailed(
          `revert failed: ${str(failed?.reason) ?? ""} ${str(failed?.message) ?? ""}`.trim(),
        );
      }
      return (
        !str(obj(vm.spec).currentSnapshotName) &&
        str(obj(obj(vm.status).currentSnapshot).name) === action.snapshot
      );
    },
    {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onChange: () => options.onProgress?.(`reverting ${action.vm} to ${action.snapshot}`),
    },
  );
}

/** The kubectl command that clears a revert request (spec.currentSnapshotName). */
export function withdrawCommand(api: VmopApi, vm: VmState): string {
  return `kubectl -n ${vm.namespace} patch ${api.t.vms.plural}.${api.t.vms.group} ${vm.name} --type merge -p '{"spec":{"currentSnapshotName":null}}'`;
}

/**
 * Clears spec.currentSnapshotName where it still names the revert vmsnap asked for: VM Operator
 * retries a failed revert for as long as the field asks for it, and clearing it is how a revert is
 * aborted (vmware-tanzu/vm-operator main, pkg/providers/vsphere/vmprovider_vmsnapshot.go
 * reconcileSnapshotRevertDoTask; docs/concepts/workloads/vm-snapshot.md). vmsnap refuses a
 * restore while the field is set, so clearing it puts it back as it was.
 */
export async function withdrawRestore(
  api: VmopApi,
  vm: VmState,
  action: RestoreAction,
): Promise<WithdrawOutcome> {
  if (action.kind !== "patch") return { state: "not-requested" };
  const clear = withdrawCommand(api, vm);
  try {
    const now = await api.kube.getIfExists(api.t.vms, vm.name, vm.namespace);
    if (!now || str(obj(now.spec).currentSnapshotName) !== action.snapshot)
      return { state: "not-requested" };
    await api.ctx.guard.patch(api.t.vms, vm.name, vm.namespace, {
      spec: { currentSnapshotName: null },
    });
    return { state: "withdrawn" };
  } catch (err) {
    return { state: "still-requested", why: (err as Error).message, clear };
  }
}
