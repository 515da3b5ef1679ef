// VirtualMachineSnapshot: the snapshot controller (finalizer, vm-name label, owner reference,
// deletion without a VM, garbage collection of a deleted VM's snapshots) and the VM reconciler's
// snapshot step (VMO ReconcileCurrentSnapshot: one at a time per VM, oldest first).
import { randomBytes } from "node:crypto";
import { Core, keyOf, type KubeObject } from "../../../kube/resources.js";
import { quantityBytes } from "../../../core/quantity.js";
import { SIM, annotation, failures, hasGuestAgent, snapshotDelayMs } from "../annotations.js";
import { asObj, hasFinalizer, ignoreNotFound, storageClassOf } from "../storage.js";
import {
  COND,
  MEMORY_SIZE,
  POWER,
  REASON,
  SNAPSHOT_CONTROLLER,
  SNAPSHOT_FINALIZER,
  VMOP_SIM,
  VM_CONTROLLER,
  VM_NAME_LABEL,
  VmOp,
  claimsOf,
  condition,
  formatBytes,
  isTrue,
  mergeConditions,
  nextUniqueId,
  patch,
  powerStateOf,
  snapshotRefusal,
  takenAt,
  vmNameOf,
  writeStatus,
  type SavedData,
  type SavedVm,
  type VmopContext,
} from "./context.js";

/** A failed creation is retried after this long (VMO requeues with backoff). */
export const CREATE_RETRY_MS = 10_000;

const NOT_CREATED_MESSAGE = "Snapshot is not ready because it doesn't have created condition";
const NOT_SYNCED_MESSAGE = "Snapshot is not ready because CSI volume sync hasn't been completed";

export function registerSnapshotController(ctx: VmopContext): void {
  const { rt, inf } = ctx;
  let seq = 0;
  inf.snapshots.on((e, o) => {
    if (e === "add" && o.metadata.uid && !ctx.seq.has(o.metadata.uid))
      ctx.seq.set(o.metadata.uid, ++seq);
    if (e === "delete" && o.metadata.uid) ctx.seq.delete(o.metadata.uid);
    rt.enqueue(SNAPSHOT_CONTROLLER, keyOf(o));
    const vm = vmNameOf(o);
    if (vm) rt.enqueue(VM_CONTROLLER, `${o.metadata.namespace}/${vm}`);
  });
  inf.vms.on((_e, vm) => {
    for (const s of inf.snapshots.list()) {
      if (s.metadata.namespace === vm.metadata.namespace && vmNameOf(s) === vm.metadata.name)
        rt.enqueue(SNAPSHOT_CONTROLLER, keyOf(s));
    }
  });

  rt.register(SNAPSHOT_CONTROLLER, async (key) => {
    let snap = ctx.fresh.get(inf.snapshots, key);
    if (!snap) return;
    const ns = snap.metadata.namespace!;
    const vmName = vmNameOf(snap);
    const vm = vmName ? ctx.fresh.get(inf.vms, `${ns}/${vmName}`) : undefined;
    const owner = (snap.metadata.ownerReferences ?? []).find(
      (o) => o.kind === "VirtualMachine" && o.apiVersion.startsWith(`${VmOp.vms.group}/`),
    );

    if (snap.metadata.deletionTimestamp) {
      if (!hasFinalizer(snap, SNAPSHOT_FINALIZER)) return;
      // The VM reconciler removes the node from the tree; without a VM there is no tree.
      if (!vm || vm.metadata.deletionTimestamp || (owner && owner.uid !== vm.metadata.uid)) {
        await removeFinalizer(ctx, snap);
      } else rt.enqueue(VM_CONTROLLER, keyOf(vm));
      return;
    }

    // A snapshot owned by a VM that is gone goes by the garbage collector (kube-controller-manager).
    if (owner && (!vm || vm.metadata.uid !== owner.uid)) return;

    const metadata: Record<string, unknown> = {};
    if (!hasFinalizer(snap, SNAPSHOT_FINALIZER))
      metadata.finalizers = [...(snap.metadata.finalizers ?? []), SNAPSHOT_FINALIZER];
    if (vmName && snap.metadata.labels?.[VM_NAME_LABEL] !== vmName)
      metadata.labels = { [VM_NAME_LABEL]: vmName };
    if (vm && !owner) {
      metadata.ownerReferences = [
        ...(snap.metadata.ownerReferences ?? []),
        {
          apiVersion: vm.apiVersion ?? `${VmOp.vms.group}/${VmOp.vms.version}`,
          kind: "VirtualMachine",
          name: vm.metadata.name,
          uid: vm.metadata.uid!,
        },
      ];
    }
    if (Object.keys(metadata).length) snap = await patch(ctx, inf.snapshots, snap, { metadata });

    if (!vmName) {
      await writeStatus(ctx, inf.snapshots, snap, {
        conditions: mergeConditions(asObj(snap).status?.conditions, [
          condition(COND.created, false, REASON.creationFailed, "spec.vmName is required"),
          condition(COND.ready, false, REASON.waitingForCreation, NOT_CREATED_MESSAGE),
        ]),
      });
    } else if (!vm) {
      await writeStatus(ctx, inf.snapshots, snap, {
        conditions: mergeConditions(asObj(snap).status?.conditions, [
          condition(
            COND.ready,
            false,
            REASON.waitingForCreation,
            `${NOT_CREATED_MESSAGE}: VirtualMachine "${vmName}" not found`,
          ),
        ]),
      });
    } else rt.enqueue(VM_CONTROLLER, keyOf(vm));
  });
}

export async function removeFinalizer(ctx: VmopContext, snap: KubeObject): Promise<void> {
  await patch(ctx, ctx.inf.snapshots, snap, {
    metadata: {
      finalizers: (snap.metadata.finalizers ?? []).filter((f) => f !== SNAPSHOT_FINALIZER),
    },
  }).catch(ignoreNotFound);
}

export interface CreationResult {
  /** The VM's current snapshot after this step. */
  current: string | undefined;
  /** A snapshot created by this step and its final status, written once the tree shows it. */
  completing?: { snap: KubeObject; status: Record<string, unknown> };
  requeueAfterMs?: number;
}

/**
 * Creates the VM's pending snapshots one at a time, oldest first. A snapshot is "taken" (the
 * disks' fingerprints, the VM's spec, labels and annotations, and its parent are recorded) when
 * its turn comes, and is created after the VM's snapshot delay.
 */
export async function reconcileCreation(
  ctx: VmopContext,
  vm: KubeObject,
  snaps: KubeObject[],
  current: string | undefined,
): Promise<CreationResult> {
  const result: CreationResult = { current };
  const pending = snaps.filter((s) => !s.metadata.deletionTimestamp && !isTrue(s, COND.created));
  const refusal = snapshotRefusal(vm);
  let head: KubeObject | undefined;
  for (const s of pending) {
    if (refusal) {
      // VM Operator's admission webhook refuses these; here the refusal is the snapshot's status.
      await setConditions(ctx, s, [
        condition(COND.created, false, REASON.creationFailed, refusal),
        condition(COND.ready, false, REASON.waitingForCreation, NOT_CREATED_MESSAGE),
      ]);
    } else if (!head) head = s;
    else {
      await setConditions(ctx, s, [
        condition(
          COND.ready,
          false,
          REASON.waitingForCreation,
          `${NOT_CREATED_MESSAGE}: waiting for the older snapshot "${head.metadata.name}" of VirtualMachine "${vm.metadata.name}"`,
        ),
      ]);
    }
  }
  if (!head) return result;
  // Wait for the snapshot controller's finalizer and owner reference (its event re-queues the VM).
  const owned = (head.metadata.ownerReferences ?? []).some((o) => o.uid === vm.metadata.uid);
  if (!owned || !hasFinalizer(head, SNAPSHOT_FINALIZER)) return result;

  const name = head.metadata.name;
  const fail = failures(vm);
  const taken = takenAt(head);
  if (taken === undefined) {
    if (fail.has("stuck")) {
      // The vSphere task never ends: the snapshot stays in progress and blocks newer ones.
      await setConditions(ctx, head, inProgress("snapshot in progress"));
      return result;
    }
    const power = powerStateOf(vm);
    const spec = asObj(head).spec;
    if (spec.quiesce && power === POWER.on) {
      const why = !hasGuestAgent(vm)
        ? "Cannot complete operation because VMware Tools is not running in this virtual machine (quiescing requires VMware Tools)"
        : fail.has("freeze")
          ? "An error occurred while taking a snapshot: Failed to quiesce the virtual machine."
          : undefined;
      if (why) {
        await setConditions(ctx, head, [
          condition(
            COND.created,
            false,
            REASON.creationFailed,
            `failed to create snapshot "${name}": ${why}`,
          ),
          condition(COND.ready, false, REASON.waitingForCreation, NOT_CREATED_MESSAGE),
        ]);
        return { ...result, requeueAfterMs: CREATE_RETRY_MS };
      }
    }
    // Take it: read the VM and its disks from the API server, not from a possibly stale cache.
    const live = await ctx.client.get(VmOp.vms, vm.metadata.name, vm.metadata.namespace);
    ctx.fresh.remember(ctx.inf.vms, live);
    const ns = vm.metadata.namespace!;
    const claims = claimsOf(live);
    const pvcs: KubeObject[] = [];
    for (const claim of claims) {
      const pvc = await ctx.client.getIfExists(Core.pvcs, claim, ns);
      if (!pvc) {
        await setConditions(
          ctx,
          head,
          inProgress(
            `waiting for PersistentVolumeClaim "${claim}" of VirtualMachine "${vm.metadata.name}"`,
          ),
        );
        return result;
      }
      pvcs.push(pvc);
    }
    const data: SavedData = {
      boot: annotation(live, SIM.data) ?? `boot-${randomBytes(4).toString("hex")}`,
      volumes: Object.fromEntries(
        pvcs.map((p) => [p.metadata.name, annotation(p, SIM.data) ?? ""]),
      ),
    };
    const liveSpec = { ...(asObj(live).spec ?? {}) };
    delete liveSpec.currentSnapshotName;
    const saved: SavedVm = {
      spec: liveSpec,
      labels: live.metadata.labels ?? {},
      annotations: live.metadata.annotations ?? {},
    };
    const memory = spec.memory === true && powerStateOf(live) !== POWER.off;
    head = await patch(ctx, ctx.inf.snapshots, head, {
      metadata: {
        annotations: {
          [VMOP_SIM.data]: JSON.stringify(data),
          [VMOP_SIM.vm]: JSON.stringify(saved),
          [VMOP_SIM.parent]: current ?? "",
          [VMOP_SIM.takenAt]: new Date().toISOString(),
        },
      },
    });
    await writeStatus(ctx, ctx.inf.snapshots, head, {
      uniqueID:
        (asObj(head).status?.uniqueID as string | undefined) ?? nextUniqueId(ctx, "snapshot"),
      powerState: spec.memory === true ? powerStateOf(live) : POWER.off,
      quiesced: Boolean(spec.quiesce),
      storage: storageOf(ctx, live, pvcs, memory),
      conditions: mergeConditions(
        asObj(head).status?.conditions,
        inProgress("snapshot in progress"),
      ),
    });
    return { ...result, requeueAfterMs: snapshotDelayMs(vm) };
  }

  const remaining = taken + snapshotDelayMs(vm) - Date.now();
  if (remaining > 0) return { ...result, requeueAfterMs: remaining };
  const csiError = fail.has("volume-snapshot");
  return {
    current: name,
    completing: {
      snap: head,
      status: {
        conditions: mergeConditions(asObj(head).status?.conditions, [
          condition(COND.created, true, REASON.true),
          csiError
            ? condition(
                COND.csiSynced,
                false,
                REASON.csiSyncInProgress,
                "Sync CSI volume requested; the CSI driver reported: simulated CSI error: rpc error: code = Internal desc = volume snapshot sync failed",
              )
            : condition(COND.csiSynced, true, REASON.true),
          csiError
            ? condition(COND.ready, false, REASON.waitingForCsiSync, NOT_SYNCED_MESSAGE)
            : condition(COND.ready, true, REASON.true),
        ]),
      },
    },
  };
}

function inProgress(message: string): Record<string, unknown>[] {
  return [
    condition(COND.created, false, REASON.creationInProgress, message),
    condition(COND.ready, false, REASON.waitingForCreation, NOT_CREATED_MESSAGE),
  ];
}

async function setConditions(
  ctx: VmopContext,
  snap: KubeObject,
  conditions: Record<string, unknown>[],
): Promise<void> {
  await writeStatus(ctx, ctx.inf.snapshots, snap, {
    conditions: mergeConditions(asObj(snap).status?.conditions, conditions),
  });
}

/**
 * status.storage as VMO computes it (CalculateReservedForSnapshotPerStorageClass): requested per
 * storage class (PVCs by their class, memory under the VM's class); used = disks + memory.
 */
function storageOf(
  ctx: VmopContext,
  vm: KubeObject,
  pvcs: KubeObject[],
  memory: boolean,
): Record<string, unknown> {
  const perClass = new Map<string, number>();
  let used = 0;
  const add = (cls: string | undefined, bytes: number) => {
    used += bytes;
    if (cls !== undefined) perClass.set(cls, (perClass.get(cls) ?? 0) + bytes);
  };
  for (const pvc of pvcs) {
    const size = quantityBytes(asObj(pvc).spec.resources?.requests?.storage) ?? 0;
    const cls =
      (asObj(pvc).spec.storageClassName as string | undefined) ??
      storageClassOf(pvc, ctx.inf.storageClasses)?.metadata.name ??
      "";
    add(cls, size);
  }
  if (memory) {
    const cls =
      (asObj(vm).spec?.storageClass as string | undefined) ??
      (perClass.size ? [...perClass.keys()][0] : undefined);
    add(cls, quantityBytes(MEMORY_SIZE) ?? 0);
  }
  return {
    used: formatBytes(used),
    requested: [...perClass.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([storageClass, total]) => ({ storageClass, total: formatBytes(total) })),
  };
}
