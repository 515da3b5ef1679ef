// KubeVirt restores and clones: VirtualMachineRestore (in place) and VirtualMachineClone (a new VM
// from a snapshot); what a restore changes back (the stored VM spec against the current one); and
// the refusals KubeVirt reports for a second restore of one VM, as ConcurrentRestoreError.
import { advice } from "../../core/advice.js";
import { invalidInput, notFound, operationFailed } from "../../core/errors.js";
import { formatDiffLine, jsonDiff } from "../../core/diff.js";
import type { Snapshot } from "../../core/schema.js";
import type { KubeReader } from "../../kube/client.js";
import { KubeApiError } from "../../kube/client.js";
import { KubeVirt, apiVersionOf, type KubeObject } from "../../kube/resources.js";
import { waitForObject } from "../../kube/watch.js";
import { ConcurrentRestoreError, OperationInProgressError } from "../errors.js";
import type {
  Manifest,
  RestoreAction,
  RestorePreview,
  UnfinishedRestore,
  VmState,
  WaitOptions,
} from "../types.js";
import { conditionOf, obj, str, vmStatus, volumesOf } from "./model.js";

// KubeVirt's admission webhook and its restore controller both say a restore of the VM is in
// progress this way (pkg/virt-api/webhooks/validating-webhook/admitters/vmrestore-admitter.go,
// pkg/storage/snapshot/restore.go): `VirtualMachineRestore "<name>" in progress`.
const RESTORE_IN_PROGRESS = /VirtualMachineRestore "[^"]+" in progress/;
const WEBHOOK_IN_PROGRESS = /in progress/i;
// restore.go errorRestoreToExistingTarget.
const RESTORE_TO_EXISTING_TARGET =
  "restore source and restore target are different but restore target already exists";

/** The name of a restore of this VM that is in progress: the VM's lock, or an unfinished restore. */
export async function restoreInProgress(
  kube: KubeReader,
  vm: VmState,
): Promise<string | undefined> {
  const lock = str(vmStatus(vm.raw).restoreInProgress);
  if (lock) return lock;
  const restores = await kube.list(KubeVirt.restores, vm.namespace);
  const active = restores.items.find((r) => {
    const spec = obj(r.spec);
    const st = obj(r.status);
    const failed = conditionOf(r, "Failure")?.status === "True";
    return (
      str(obj(spec.target).name) === vm.name &&
      st.complete !== true &&
      !failed &&
      !r.metadata.deletionTimestamp
    );
  });
  return active?.metadata.name;
}

/**
 * A restore of this VM that is not complete, failed ones included: KubeVirt's restore admitter
 * (kubevirt/kubevirt v1.9.0 pkg/storage/admitters/vmrestore-admitter.go) refuses a new restore
 * of a target while any restore of it is not `complete: true`, and a failed restore never
 * completes: it blocks every later one until it is deleted. Unfinished ones are named first;
 * with none, the VM's own restore lock. One list covers what restoreInProgress also checks.
 */
export async function unfinishedRestore(
  kube: KubeReader,
  vm: VmState,
): Promise<UnfinishedRestore | undefined> {
  const restores = await kube.list(KubeVirt.restores, vm.namespace);
  const open = restores.items.filter(
    (r) =>
      str(obj(obj(r.spec).target).name) === vm.name &&
      obj(r.status).complete !== true &&
      !r.metadata.deletionTimestamp,
  );
  const failed = (r: KubeObject) => conditionOf(r, "Failure")?.status === "True";
  const r = open.find((x) => !failed(x)) ?? open[0];
  if (!r) {
    // No restore object left, but the VM still carries a restore's lock.
    const lock = str(vmStatus(vm.raw).restoreInProgress);
    return lock ? { name: lock, failed: false, resource: "virtualmachinerestore" } : undefined;
  }
  const reason = str((conditionOf(r, "Failure") ?? conditionOf(r, "Ready"))?.reason);
  return {
    name: r.metadata.name,
    failed: failed(r),
    ...(reason ? { reason } : {}),
    resource: "virtualmachinerestore",
  };
}

export function restoreManifest(
  namespace: string,
  name: string,
  vm: string,
  snapshot: string,
): Manifest {
  return {
    type: KubeVirt.restores,
    body: {
      apiVersion: apiVersionOf(KubeVirt.restores),
      kind: "VirtualMachineRestore",
      metadata: { name, namespace },
      spec: {
        target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm },
        virtualMachineSnapshotName: snapshot,
        // vmsnap stops the VM itself when the user chose it; if the VM were running anyway,
        // KubeVirt must refuse rather than wait or act on its own.
        targetReadinessPolicy: "FailImmediate",
      },
    },
  };
}

export function cloneManifest(
  namespace: string,
  name: string,
  snapshot: string,
  target: string,
): Manifest {
  return {
    type: KubeVirt.clones,
    body: {
      apiVersion: apiVersionOf(KubeVirt.clones),
      kind: "VirtualMachineClone",
      metadata: { name, namespace },
      spec: {
        source: {
          apiGroup: "snapshot.kubevirt.io",
          kind: "VirtualMachineSnapshot",
          name: snapshot,
        },
        target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: target },
      },
    },
  };
}

export async function restorePreview(
  kube: KubeReader,
  now: Date,
  vm: VmState,
  snapshot: Snapshot,
): Promise<RestorePreview> {
  // A VM deleted and created again under the same name is another VM: KubeVirt never restores
  // a snapshot onto it (restore.go sourceAndTargetAreDifferent), the restore just stays not
  // ready. Refused here, before anything is stopped or written.
  const raw = await kube.getIfExists(KubeVirt.snapshots, snapshot.name, vm.namespace);
  const sourceUID = str(obj(raw?.status).sourceUID);
  if (sourceUID && sourceUID !== vm.uid)
    throw invalidInput(
      `snapshot ${snapshot.name} was taken of an earlier VM named ${vm.name} (uid ${sourceUID}); VM ${vm.namespace}/${vm.name} now is another VM (uid ${vm.uid}), deleted and created again since, and KubeVirt does not restore a snapshot onto a VM other than its source`,
      advice`create a new VM from the snapshot instead (${{ do: "clone", namespace: vm.namespace, snapshot: snapshot.name }})`,
    );
  const content = snapshot.contentName
    ? await kube.getIfExists(KubeVirt.snapshotContents, snapshot.contentName, vm.namespace)
    : undefined;
  const stored = obj(obj(obj(content?.spec).source).virtualMachine);
  const storedSpec = { ...obj(stored.spec) };
  const currentSpec = { ...obj(vm.raw.spec) };
  // The run setting is kept by KubeVirt on restore; it is not a change the restore makes.
  for (const s of [storedSpec, currentSpec]) {
    delete s.runStrategy;
    delete s.running;
  }
  const specChanges = jsonDiff(currentSpec, storedSpec, "spec").map(formatDiffLine);
  const backedUp = new Set(
    ((obj(content?.spec).volumeBackups ?? []) as { volumeName?: string }[]).map(
      (b) => b.volumeName,
    ),
  );
  const volumesNotInSnapshot = volumesOf(vm.raw)
    .filter((v) => v.claimName && !backedUp.has(v.name))
    .map((v) => `${v.name} (claim ${v.claimName})`);
  const cut = snapshot.creationTime ? Date.parse(snapshot.creationTime) : NaN;
  return {
    notes: [],
    blockers: [],
    snapshotAgeSeconds: Number.isFinite(cut)
      ? Math.max(0, Math.round((now.getTime() - cut) / 1000))
      : null,
    specChanges,
    volumesNotInSnapshot,
  };
}

// KubeVirt's VM admitter refuses a run strategy or volume change while the VM is locked by a
// snapshot or a restore (pkg/storage/admitters/vm-storage-status.go, kubevirt v1.8.4):
// `Cannot update vm running state until snapshot "<name>" completes`,
// `Cannot update VM runStrategy until restore "<name>" completes`.
const VM_LOCKED = /Cannot update .* until (snapshot|restore) "([^"]+)" completes/;

/**
 * KubeVirt's webhook refuses a restore while another one of the VM is unfinished (422), and a
 * run strategy change while a snapshot or restore holds the VM (422).
 */
export function explainRefusal(
  err: unknown,
): ConcurrentRestoreError | OperationInProgressError | undefined {
  if (!(err instanceof KubeApiError) || err.code !== 422) return undefined;
  const locked = VM_LOCKED.exec(err.message);
  if (locked)
    return new OperationInProgressError(
      locked[2]!,
      `the VM is locked by ${locked[1]} ${locked[2]}: KubeVirt refuses to change its run state until it completes (${err.message})`,
    );
  if (WEBHOOK_IN_PROGRESS.test(err.message))
    return new ConcurrentRestoreError(`refused by KubeVirt: ${err.message}`);
  return undefined;
}

export async function waitRestore(
  kube: KubeReader,
  namespace: string,
  action: RestoreAction,
  options: WaitOptions,
): Promise<void> {
  const name = action.name;
  await waitForObject(
    kube,
    KubeVirt.restores,
    name,
    namespace,
    (r) => {
      if (!r)
        throw notFound(`VirtualMachineRestore ${namespace}/${name} disappeared while waiting`);
      // The target was deleted and created again since the plan: KubeVirt keeps such a restore
      // not ready for ever (restore.go errorRestoreToExistingTarget), it never fails it.
      if (str(conditionOf(r, "Ready")?.reason) === RESTORE_TO_EXISTING_TARGET)
        throw operationFailed(
          `restore ${name} cannot proceed: ${RESTORE_TO_EXISTING_TARGET} (the VM was deleted and created again since the snapshot); it changed nothing`,
          `delete it (\`kubectl -n ${namespace} delete virtualmachinerestore ${name}\`)`,
        );
      const failure = conditionOf(r, "Failure");
      if (failure?.status === "True") {
        const why = `${str(failure.reason) ?? ""} ${str(failure.message) ?? ""}`.trim();
        // Two restores admitted at the same moment: the controller applies one of them.
        if (RESTORE_IN_PROGRESS.test(why))
          throw new ConcurrentRestoreError(
            `another restore of VM ${str(obj(obj(r.spec).target).name) ?? ""} is in progress: restore failed: ${why}`,
          );
        throw operationFailed(`restore failed: ${why}`);
      }
      return obj(r.status).complete === true;
    },
    {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onChange: (r) =>
        r &&
        options.onProgress?.(
          `restore ${name}: ${str(conditionOf(r, "Ready")?.reason) ?? "pending"}`,
        ),
    },
  );
}

export async function waitClone(
  kube: KubeReader,
  namespace: string,
  name: string,
  options: WaitOptions,
): Promise<{ phase: string; target: string }> {
  const c = await waitForObject(
    kube,
    KubeVirt.clones,
    name,
    namespace,
    (x) => {
      if (!x) throw notFound(`VirtualMachineClone ${namespace}/${name} disappeared while waiting`);
      const phase = str(obj(x.status).phase);
      return phase === "Succeeded" || phase === "Failed";
    },
    {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onChange: (x) =>
        x && options.onProgress?.(`clone ${name}: ${str(obj(x.status).phase) || "pending"}`),
    },
  );
  const st = obj(c?.status);
  if (str(st.phase) === "Failed")
    throw operationFailed(
      `clone failed: ${str(conditionOf(c, "Ready")?.reason) ?? "unknown reason"}`,
    );
  return { phase: str(st.phase) ?? "", target: str(st.targetName) ?? "" };
}
