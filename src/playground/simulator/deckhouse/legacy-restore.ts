// The legacy VirtualMachineRestore (removed in Deckhouse v1.9): reconciled only when its CRD is
// served, which may happen after the simulator started (the runtime retries unserved APIs). Safe refuses a
// running VM; Forced stops it. The restore itself is the VirtualMachineOperation Restore's.
import { keyOf } from "../../../kube/resources.js";
import { annotation } from "../annotations.js";
import { asObj } from "../storage.js";
import {
  CTRL,
  DH_SIM,
  SNAP_PHASE,
  VM_PHASE,
  cond,
  phaseOf,
  setAnnotations,
  withConditions,
  writeStatus,
  type DhContext,
} from "./context.js";
import {
  createFromSnapshot,
  disksReady,
  hasFailure,
  planCreate,
  planRestore,
  readStored,
  renamer,
  restoreStep,
  type NameReplacement,
} from "./restore.js";

const SNAPSHOT_READY = "VirtualMachineSnapshotReadyToUse";
const RESTORE_READY = "VirtualMachineRestoreReady";
const PHASE = { pending: "Pending", inProgress: "InProgress", ready: "Ready", failed: "Failed" };

/** Reconciles VirtualMachineRestores (its informer starts once the CRD is served). */
export function registerLegacyRestore(ctx: DhContext): void {
  const { rt } = ctx;
  ctx.inf.vmRestores.on((_e, r) => rt.enqueue(CTRL.vmRestore, keyOf(r)));
  const enqueueAll = (ns: string) => {
    for (const r of ctx.inf.vmRestores.list())
      if (r.metadata.namespace === ns) rt.enqueue(CTRL.vmRestore, keyOf(r));
  };
  for (const i of [ctx.inf.vms, ctx.inf.disks, ctx.inf.vmSnapshots, ctx.inf.diskSnapshots])
    i.on((_e, o) => enqueueAll(o.metadata.namespace!));
  rt.register(CTRL.vmRestore, (key) => reconcileRestore(ctx, key));
}

async function reconcileRestore(ctx: DhContext, key: string) {
  const inf = ctx.inf.vmRestores;
  const restore = ctx.fresh.get(inf, key);
  if (!restore || restore.metadata.deletionTimestamp) return;
  const phase = phaseOf(restore);
  if (phase === PHASE.ready || phase === PHASE.failed) return;
  const ns = restore.metadata.namespace!;
  const spec = asObj(restore).spec ?? {};
  const forced = spec.restoreMode === "Forced";
  const rename = renamer(spec.nameReplacements as NameReplacement[] | undefined);
  const snapName = spec.virtualMachineSnapshotName as string;
  const snap = ctx.fresh.get(ctx.inf.vmSnapshots, `${ns}/${snapName}`);

  const set = (p: string, conditions: Record<string, unknown>[]) =>
    writeStatus(ctx, inf, restore, {
      phase: p,
      observedGeneration: restore.metadata.generation,
      conditions: withConditions(restore, conditions),
    });
  const snapOk = cond(SNAPSHOT_READY, true, "VirtualMachineSnapshotReadyToUse");
  if (!snap || phaseOf(snap) === SNAP_PHASE.failed) {
    const message = snap
      ? `VirtualMachineSnapshot "${snapName}" is Failed.`
      : `VirtualMachineSnapshot "${snapName}" not found.`;
    await set(PHASE.failed, [
      cond(
        SNAPSHOT_READY,
        false,
        snap ? "VirtualMachineSnapshotFailed" : "VirtualMachineSnapshotNotFound",
        message,
      ),
      cond(RESTORE_READY, false, "VirtualMachineSnapshotNotReadyToUse", message),
    ]);
    return;
  }
  if (phaseOf(snap) !== SNAP_PHASE.ready) {
    const message = `Waiting for VirtualMachineSnapshot "${snapName}" to be Ready.`;
    await set(PHASE.pending, [
      cond(SNAPSHOT_READY, false, "VirtualMachineSnapshotNotReady", message),
      cond(RESTORE_READY, false, "VirtualMachineSnapshotNotReadyToUse", message),
    ]);
    return;
  }
  const stored = await readStored(ctx, snap);
  if (!stored) return { requeueAfterMs: 500 };
  const vmName = rename("VirtualMachine", stored.vm.metadata.name);
  const vm = ctx.fresh.get(ctx.inf.vms, `${ns}/${vmName}`);
  const conflict = (message: string) =>
    set(PHASE.failed, [
      snapOk,
      cond(RESTORE_READY, false, "VirtualMachineRestoreConflict", message),
    ]);

  if (phase !== PHASE.inProgress) {
    if (vm) {
      const running = phaseOf(vm) !== VM_PHASE.stopped && phaseOf(vm) !== VM_PHASE.pending;
      if (running && !forced) {
        await set(PHASE.failed, [
          snapOk,
          cond(
            RESTORE_READY,
            false,
            "VirtualMachineIsNotStopped",
            `VirtualMachine "${vmName}" is ${phaseOf(vm)}: stop it, or use restoreMode Forced.`,
          ),
        ]);
        return;
      }
      const plan = planRestore(ctx, snap, vm, stored, "Strict", rename);
      if (hasFailure(plan)) {
        await conflict(
          plan
            .filter((r) => r.status === "Failed")
            .map((r) => `${r.kind} "${r.name}": ${r.message}`)
            .join("; "),
        );
        return;
      }
    } else {
      const plan = planCreate(ctx, snap, stored, "Strict", rename);
      if (hasFailure(plan)) {
        await conflict(
          plan
            .filter((r) => r.status === "Failed")
            .map((r) => `${r.kind} "${r.name}": ${r.message}`)
            .join("; "),
        );
        return;
      }
      await createFromSnapshot(ctx, snap, stored, "Strict", rename);
      await setAnnotations(ctx, inf, restore, { [DH_SIM.step]: "Creating" });
    }
    await set(PHASE.inProgress, [
      snapOk,
      cond(RESTORE_READY, false, "VirtualMachineRestoreInProgress", "Restoring."),
    ]);
    return;
  }
  const current = ctx.fresh.get(inf, key) ?? restore;
  if (annotation(current, DH_SIM.step) === "Creating") {
    const disks = stored.disks.map((d) => rename("VirtualDisk", d.metadata.name));
    if (!disksReady(ctx, ns, disks)) return;
  } else {
    if (!vm) {
      await conflict(`VirtualMachine "${vmName}" disappeared during the restore.`);
      return;
    }
    const progress = await restoreStep(ctx, inf, current, snap, vm, stored, "Strict", rename);
    if (progress.state === "inProgress") return;
    if (progress.state === "failed") {
      await setAnnotations(ctx, ctx.inf.vms, vm, { [DH_SIM.maintenance]: null });
      await set(PHASE.failed, [
        snapOk,
        cond(RESTORE_READY, false, "VirtualMachineRestoreFailed", progress.message),
      ]);
      return;
    }
  }
  await writeStatus(ctx, inf, ctx.fresh.get(inf, key) ?? current, {
    phase: PHASE.ready,
    conditions: withConditions(current, [
      snapOk,
      cond(RESTORE_READY, true, "VirtualMachineRestoreReady"),
    ]),
  });
}
