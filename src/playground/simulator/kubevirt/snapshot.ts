// The VirtualMachineSnapshot controller, after kubevirt/kubevirt v1.9.0 pkg/storage/snapshot
// (snapshot.go updateVMSnapshot/updateSnapshotStatus, source.go Lock/Unlock): finalizers, the
// source lock, content `vmsnapshot-content-<uid>`, freeze, VolumeSnapshots, indications,
// conditions, phases keyed on creationTime and the failure deadline, and deletion.
import { Csi, KubeVirt, apiVersionOf, keyOf, type KubeObject } from "../../../kube/resources.js";
import { failures, guestOs, hasGuestAgent, isPaused, parseDuration } from "../annotations.js";
import { asObj, hasFinalizer, ignoreConflict, ignoreNotFound, nowIso } from "../storage.js";
import type { ReconcileResult } from "../runtime.js";
import {
  CONTENT_FINALIZER,
  SNAPSHOT_FINALIZER,
  SOURCE_FINALIZER,
  condition,
  jsonEqual,
  mergeConditions,
  runStrategy,
  snapshotClassFor,
  vmVolumes,
  type KvContext,
} from "./context.js";

export const DEFAULT_FAILURE_DEADLINE_MS = 5 * 60_000;
const FREEZE_RETRY_MS = 5000;
const LOCK_RETRY_MS = 5000;

export function contentNameFor(snapshot: KubeObject): string {
  return `vmsnapshot-content-${snapshot.metadata.uid}`;
}

export function volumeSnapshotNameFor(snapshot: KubeObject, volumeName: string): string {
  return `vmsnapshot-${snapshot.metadata.uid}-volume-${volumeName}`;
}

interface Indication {
  indication: string;
  message: string;
}

export function registerSnapshotController(ctx: KvContext): void {
  const { rt, inf, client: c } = ctx;
  const enqueueSnapshotsIn = (
    ns: string | undefined,
    filter: (s: KubeObject) => boolean = () => true,
  ) => {
    for (const s of inf.snapshots.list())
      if (s.metadata.namespace === ns && filter(s)) rt.enqueue("kubevirt-snapshot", keyOf(s));
  };
  inf.snapshots.on((_e, o) => rt.enqueue("kubevirt-snapshot", keyOf(o)));
  inf.contents.on((_e, o) =>
    enqueueSnapshotsIn(
      o.metadata.namespace,
      (s) => s.metadata.name === asObj(o).spec.virtualMachineSnapshotName,
    ),
  );
  inf.volumeSnapshots.on((_e, o) =>
    enqueueSnapshotsIn(o.metadata.namespace, (s) =>
      o.metadata.name.startsWith(`vmsnapshot-${s.metadata.uid}-`),
    ),
  );
  inf.vms.on((_e, o) =>
    enqueueSnapshotsIn(
      o.metadata.namespace,
      (s) => asObj(s).spec.source?.name === o.metadata.name && !isDone(s),
    ),
  );
  inf.pvcs.on((_e, o) => enqueueSnapshotsIn(o.metadata.namespace, (s) => !isDone(s)));
  rt.register("kubevirt-snapshot-content", (key) => reconcileContentDeletion(ctx, key));
  inf.contents.on((_e, o) => rt.enqueue("kubevirt-snapshot-content", keyOf(o)));

  rt.register("kubevirt-snapshot", async (key): Promise<ReconcileResult | void> => {
    let snap = inf.snapshots.cache.get(key) as KubeObject | undefined;
    if (!snap) return;
    const ns = snap.metadata.namespace!;
    const spec = asObj(snap).spec;
    const status = asObj(snap).status ?? {};
    const content = inf.contents.get(contentNameFor(snap), ns);
    const vm = inf.vms.get(spec.source?.name as string, ns);

    if (snap.metadata.deletionTimestamp) {
      if (
        content &&
        (spec.deletionPolicy !== "Retain" || asObj(content).status?.readyToUse !== true)
      ) {
        await c.delete(KubeVirt.snapshotContents, content.metadata.name, ns).catch(ignoreNotFound);
      }
      await unlock(ctx, snap, vm);
      if (hasFinalizer(snap, SNAPSHOT_FINALIZER)) {
        if (status.phase !== "Deleting") {
          await c
            .patch(
              KubeVirt.snapshots,
              snap.metadata.name,
              ns,
              {
                status: {
                  phase: "Deleting",
                  conditions: mergeConditions(status.conditions, [
                    condition("Progressing", false, "VM snapshot is deleting"),
                    condition("Ready", false, "Not ready"),
                  ]),
                },
              },
              { subresource: "status" },
            )
            .catch(ignoreNotFound);
        }
        await c
          .patch(KubeVirt.snapshots, snap.metadata.name, ns, {
            metadata: {
              finalizers: (snap.metadata.finalizers ?? []).filter((f) => f !== SNAPSHOT_FINALIZER),
            },
          })
          .catch(ignoreNotFound);
      }
      return;
    }
    if (!hasFinalizer(snap, SNAPSHOT_FINALIZER)) {
      snap = await c.patch(KubeVirt.snapshots, snap.metadata.name, ns, {
        metadata: { finalizers: [...(snap.metadata.finalizers ?? []), SNAPSHOT_FINALIZER] },
      });
    }
    // updateVMSnapshot unlocks the source only in a reconcile that finds the phase no longer
    // progressing (canUnlockSource): the update that sets Succeeded still holds the lock, the
    // next one (triggered by that very update) releases it.
    if (status.phase === "Failed" || status.phase === "Succeeded") await unlock(ctx, snap, vm);
    if (status.phase === "Failed" || (status.phase === "Succeeded" && status.readyToUse === true))
      return;
    const succeededBefore = status.phase === "Succeeded";

    // Failure deadline, measured from creation; "0" means none.
    const deadlineMs =
      parseDuration(spec.failureDeadline as string | undefined) ?? DEFAULT_FAILURE_DEADLINE_MS;
    const elapsed = Date.now() - Date.parse(snap.metadata.creationTimestamp!);
    const remaining = deadlineMs === 0 ? Infinity : deadlineMs - elapsed;
    const contentStatus = asObj(content ?? { metadata: { name: "" } }).status ?? {};
    if (remaining <= 0 && !contentStatus.creationTime) {
      if (content)
        await c.delete(KubeVirt.snapshotContents, content.metadata.name, ns).catch(ignoreNotFound);
      await writeStatus(ctx, snap, {
        phase: "Failed",
        readyToUse: false,
        ...(status.error ? { error: status.error } : {}),
        conditions: mergeConditions(status.conditions, [
          condition("Progressing", false, "Operation failed"),
          condition("Ready", false, "Not ready"),
          condition("Failure", true, "snapshot deadline exceeded"),
        ]),
      });
      return; // unlocked by the next reconcile, as after Succeeded
    }
    const requeue = (ms: number): ReconcileResult => ({ requeueAfterMs: Math.min(ms, remaining) });

    if (!vm) {
      await writeStatus(
        ctx,
        snap,
        inProgress(status, condition("Progressing", false, "Source does not exist")),
      );
      return Number.isFinite(remaining) ? { requeueAfterMs: remaining } : undefined;
    }
    const vmStatus = asObj(vm).status ?? {};
    const vmi = inf.vmis.get(vm.metadata.name, ns);
    const online = Boolean(vmi);

    // Lock the source (only while the snapshot is progressing).
    if (!succeededBefore && vmStatus.snapshotInProgress !== snap.metadata.name) {
      const why = lockBlocker(ctx, vm, online);
      if (why) {
        await writeStatus(ctx, snap, {
          ...inProgress(status, condition("Progressing", false, `Source not locked: ${why}`)),
          sourceUID: vm.metadata.uid,
        });
        return requeue(LOCK_RETRY_MS);
      }
      if (!hasFinalizer(vm, SOURCE_FINALIZER)) {
        await c.patch(KubeVirt.vms, vm.metadata.name, ns, {
          metadata: { finalizers: [...(vm.metadata.finalizers ?? []), SOURCE_FINALIZER] },
        });
      }
      await c.patch(
        KubeVirt.vms,
        vm.metadata.name,
        ns,
        { status: { snapshotInProgress: snap.metadata.name } },
        { subresource: "status" },
      );
    }

    // Volumes: included when snapshottable, excluded otherwise.
    const volumes = vmVolumes(vm);
    const included: string[] = [];
    const excluded: string[] = [];
    const backups: { volumeName: string; claimName: string; className: string }[] = [];
    for (const v of volumes) {
      const r = snapshotClassFor(ctx, ns, v);
      if ("className" in r && v.claimName) {
        included.push(v.name);
        backups.push({ volumeName: v.name, claimName: v.claimName, className: r.className });
      } else excluded.push(v.name);
    }

    // Indications are read from the VMI when the snapshot starts.
    const agent = online && hasGuestAgent(vm);
    const paused = online && isPaused(vm);
    const fail = failures(vm);
    const windows = guestOs(vm) === "windows";
    const indications: Indication[] = [];
    if (online) {
      indications.push({
        indication: "Online",
        message: "Snapshot was taken while the VM was running",
      });
      if (paused)
        indications.push({
          indication: "Paused",
          message: "Snapshot was taken while the VM was paused",
        });
      else if (agent) {
        indications.push({
          indication: "GuestAgent",
          message: "The guest agent froze the filesystems",
        });
        if (fail.has("freeze") && windows) {
          indications.push({
            indication: "QuiesceTimeout",
            message:
              "Windows VSS freeze is limited to 10 seconds; the snapshot is not application-consistent",
          });
        }
      } else
        indications.push({
          indication: "NoGuestAgent",
          message: "No guest agent: the snapshot is crash-consistent",
        });
    }

    let current = content;
    if (!current) {
      const pvcBackups = backups.map((b) => {
        const pvc = inf.pvcs.get(b.claimName, ns)!;
        return {
          volumeName: b.volumeName,
          volumeSnapshotName: volumeSnapshotNameFor(snap!, b.volumeName),
          persistentVolumeClaim: {
            metadata: {
              name: pvc.metadata.name,
              namespace: ns,
              labels: pvc.metadata.labels,
              annotations: pvc.metadata.annotations,
            },
            spec: asObj(pvc).spec,
          },
        };
      });
      current = await c
        .create(KubeVirt.snapshotContents, {
          apiVersion: apiVersionOf(KubeVirt.snapshotContents),
          kind: "VirtualMachineSnapshotContent",
          metadata: { name: contentNameFor(snap), namespace: ns, finalizers: [CONTENT_FINALIZER] },
          spec: {
            virtualMachineSnapshotName: snap.metadata.name,
            source: {
              virtualMachine: {
                metadata: {
                  name: vm.metadata.name,
                  namespace: ns,
                  uid: vm.metadata.uid,
                  generation: vm.metadata.generation,
                  labels: vm.metadata.labels,
                  annotations: vm.metadata.annotations,
                },
                spec: asObj(vm).spec,
                status: {},
              },
            },
            volumeBackups: pvcBackups,
          },
        })
        .catch(async (err) => {
          ignoreConflict(err);
          return c.get(KubeVirt.snapshotContents, contentNameFor(snap!), ns);
        });
    }
    const cstatus = asObj(current!).status ?? {};

    // Freeze: only online, with an agent, not paused. A Linux freeze failure keeps the snapshot in
    // error until the deadline; on Windows the VSS limit is reported as QuiesceTimeout and it goes on.
    if (agent && !paused && fail.has("freeze") && !windows && !cstatus.creationTime) {
      const error = {
        time: nowIso(),
        message: `Failed freezing vm ${vm.metadata.name}: guest agent command failed: fsfreeze: Resource temporarily unavailable`,
      };
      await c.patch(
        KubeVirt.snapshotContents,
        current!.metadata.name,
        ns,
        { status: { readyToUse: false, error } },
        { subresource: "status" },
      );
      await writeStatus(ctx, snap, {
        ...inProgress(status, condition("Progressing", false, "In error state")),
        error,
        sourceUID: vm.metadata.uid,
        virtualMachineSnapshotContentName: current!.metadata.name,
        indications: indications.map((i) => i.indication),
        sourceIndications: indications,
      });
      return requeue(FREEZE_RETRY_MS);
    }

    // VolumeSnapshots.
    const vsStatuses: Record<string, unknown>[] = [];
    let allCut = true;
    let allReady = true;
    let error: { time: string; message: string } | undefined;
    for (const b of backups) {
      const name = volumeSnapshotNameFor(snap, b.volumeName);
      let vs = inf.volumeSnapshots.get(name, ns);
      if (!vs) {
        vs = await c
          .create(Csi.volumeSnapshots, {
            apiVersion: apiVersionOf(Csi.volumeSnapshots),
            kind: "VolumeSnapshot",
            metadata: {
              name,
              namespace: ns,
              labels: {
                "snapshot.kubevirt.io/source-vm-name": vm.metadata.name,
                "snapshot.kubevirt.io/source-vm-namespace": ns,
              },
              ownerReferences: [
                {
                  apiVersion: apiVersionOf(KubeVirt.snapshotContents),
                  kind: "VirtualMachineSnapshotContent",
                  name: current!.metadata.name,
                  uid: current!.metadata.uid!,
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            },
            spec: {
              source: { persistentVolumeClaimName: b.claimName },
              volumeSnapshotClassName: b.className,
            },
          })
          .catch(async (err) => {
            ignoreConflict(err);
            return c.get(Csi.volumeSnapshots, name, ns);
          });
      }
      const s = asObj(vs).status ?? {};
      if (!s.creationTime) allCut = false;
      if (s.readyToUse !== true) allReady = false;
      if (s.error)
        error = {
          time: (s.error as { time?: string }).time ?? nowIso(),
          message: `VolumeSnapshot ${name} error: ${(s.error as { message?: string }).message ?? ""}`,
        };
      vsStatuses.push({
        volumeSnapshotName: name,
        ...(s.creationTime ? { creationTime: s.creationTime } : {}),
        readyToUse: s.readyToUse === true,
        ...(s.error ? { error: s.error } : {}),
      });
    }
    const creationTime = allCut
      ? ((cstatus.creationTime as string | undefined) ?? nowIso())
      : undefined;
    const nextContentStatus = {
      ...(creationTime ? { creationTime } : {}),
      readyToUse: allCut && allReady,
      volumeSnapshotStatus: vsStatuses,
      ...(error ? { error } : {}),
    };
    if (
      !jsonEqual(pickKeys(cstatus, Object.keys(nextContentStatus)), nextContentStatus) ||
      (cstatus.error && !error)
    ) {
      await c.patch(
        KubeVirt.snapshotContents,
        current!.metadata.name,
        ns,
        { status: { ...nextContentStatus, ...(cstatus.error && !error ? { error: null } : {}) } },
        { subresource: "status" },
      );
    }

    const succeeded = Boolean(creationTime);
    const finalIndications = [...indications];
    if (succeeded && excluded.some((name) => volumes.find((v) => v.name === name)?.claimName)) {
      finalIndications.push({
        indication: "PartialSnapshot",
        message: "Some volumes of the VM are not in the snapshot",
      });
    }
    await writeStatus(ctx, snap, {
      phase: succeeded ? "Succeeded" : "InProgress",
      sourceUID: vm.metadata.uid,
      virtualMachineSnapshotContentName: current!.metadata.name,
      readyToUse: allCut && allReady,
      ...(creationTime ? { creationTime } : {}),
      ...(error ? { error } : {}),
      indications: finalIndications.map((i) => i.indication),
      sourceIndications: finalIndications,
      snapshotVolumes: { includedVolumes: included, excludedVolumes: excluded },
      conditions: mergeConditions(status.conditions, [
        error
          ? condition("Progressing", false, "In error state")
          : succeeded
            ? condition("Progressing", false, "Operation complete")
            : condition("Progressing", true, "Source locked and operation in progress"),
        allCut && allReady
          ? condition("Ready", true, "Ready")
          : condition("Ready", false, "Not ready"),
      ]),
    });
    // The lock is released by the next reconcile (above), which this status update triggers.
    if (succeeded) return;
    return Number.isFinite(remaining) ? { requeueAfterMs: remaining } : undefined;
  });
}

function isDone(s: KubeObject): boolean {
  const st = asObj(s).status ?? {};
  return st.phase === "Failed" || (st.phase === "Succeeded" && st.readyToUse === true);
}

function inProgress(
  status: Record<string, unknown>,
  progressing: Record<string, unknown>,
): Record<string, unknown> {
  return {
    phase: "InProgress",
    readyToUse: false,
    conditions: mergeConditions(status.conditions, [
      progressing,
      condition("Ready", false, "Not ready"),
    ]),
  };
}

/** Why the source cannot be locked now, or undefined when it can. */
function lockBlocker(ctx: KvContext, vm: KubeObject, online: boolean): string | undefined {
  const st = asObj(vm).status ?? {};
  if (st.snapshotInProgress) return `snapshot ${String(st.snapshotInProgress)} in progress`;
  if (st.restoreInProgress) return `restore ${String(st.restoreInProgress)} in progress`;
  // kubevirt#12515: a stopped VM with RerunOnFailure is never considered safely offline.
  if (!online && runStrategy(vm) === "RerunOnFailure")
    return "VM is not running and runStrategy RerunOnFailure may restart it";
  for (const v of vmVolumes(vm)) {
    if (!v.claimName) continue;
    const pvc = ctx.inf.pvcs.get(v.claimName, vm.metadata.namespace);
    if (!pvc) return `PVC ${v.claimName} not found`;
    if (asObj(pvc).status?.phase !== "Bound") return `PVC ${v.claimName} is not Bound`;
    if (pvc.metadata.deletionTimestamp) return `PVC ${v.claimName} is being deleted`;
  }
  return undefined;
}

async function unlock(ctx: KvContext, snap: KubeObject, vm: KubeObject | undefined): Promise<void> {
  if (!vm || asObj(vm).status?.snapshotInProgress !== snap.metadata.name) return;
  const ns = vm.metadata.namespace;
  // The mirror of locking: the finalizer goes first, so "unlocked" is never seen with it still on.
  if (hasFinalizer(vm, SOURCE_FINALIZER)) {
    await ctx.client
      .patch(KubeVirt.vms, vm.metadata.name, ns, {
        metadata: {
          finalizers: (vm.metadata.finalizers ?? []).filter((f) => f !== SOURCE_FINALIZER),
        },
      })
      .catch(ignoreNotFound);
  }
  await ctx.client
    .patch(
      KubeVirt.vms,
      vm.metadata.name,
      ns,
      { status: { snapshotInProgress: null } },
      { subresource: "status" },
    )
    .catch(ignoreNotFound);
}

async function writeStatus(
  ctx: KvContext,
  snap: KubeObject,
  next: Record<string, unknown>,
): Promise<void> {
  const current = asObj(snap).status ?? {};
  const clearError = current.error !== undefined && next.error === undefined;
  if (!clearError && jsonEqual(pickKeys(current, Object.keys(next)), next)) return;
  await ctx.client.patch(
    KubeVirt.snapshots,
    snap.metadata.name,
    snap.metadata.namespace,
    { status: { ...next, ...(clearError ? { error: null } : {}) } },
    { subresource: "status" },
  );
}

/**
 * A content being deleted is released; its VolumeSnapshots, which it owns, then go with it by
 * the garbage collector (kube-controller-manager).
 */
async function reconcileContentDeletion(ctx: KvContext, key: string): Promise<void> {
  const content = ctx.inf.contents.cache.get(key);
  if (!content?.metadata.deletionTimestamp) return;
  const ns = content.metadata.namespace!;
  if (hasFinalizer(content, CONTENT_FINALIZER)) {
    await ctx.client
      .patch(KubeVirt.snapshotContents, content.metadata.name, ns, {
        metadata: {
          finalizers: (content.metadata.finalizers ?? []).filter((f) => f !== CONTENT_FINALIZER),
        },
      })
      .catch(ignoreNotFound);
  }
}

function pickKeys(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}
