// The VirtualMachine reconciler: power state, guest info (VMware Tools), uniqueID, the boot disk's
// fingerprint, and, per VM, its snapshot tree (VMO SyncVMSnapshotTreeStatus), snapshot deletion,
// revert through spec.currentSnapshotName, and snapshot creation.
import { randomBytes } from "node:crypto";
import { Core, Csi, keyOf, type KubeObject } from "../../../kube/resources.js";
import { SIM, annotation, guestOs, hasGuestAgent } from "../annotations.js";
import type { ReconcileResult } from "../runtime.js";
import { asObj, hasFinalizer } from "../storage.js";
import {
  COND,
  FIELD_MANAGER,
  POWER,
  REASON,
  SNAPSHOT_FINALIZER,
  VMOP_SIM,
  VM_CONTROLLER,
  VmOp,
  claimsOf,
  condition,
  isTrue,
  isVksNode,
  mergeConditions,
  nextUniqueId,
  parentOf,
  patch,
  powerStateOf,
  savedData,
  savedVm,
  snapshotsOf,
  takenAt,
  vmNameOf,
  writeStatus,
  type VmopContext,
} from "./context.js";
import { reconcileCreation, removeFinalizer } from "./snapshot.js";

/** What VMware Tools reports (status.guest): vmsnap reads "tools running" from guestFullName. */
export const GUEST = {
  linux: { guestID: "ubuntu64Guest", guestFullName: "Ubuntu Linux (64-bit)" },
  windows: {
    guestID: "windows2019srvNext_64Guest",
    guestFullName: "Microsoft Windows Server 2022 (64-bit)",
  },
} as const;

type Condition = Record<string, unknown>;

export function registerVmController(ctx: VmopContext): void {
  const { rt, inf } = ctx;
  inf.vms.on((_e, o) => rt.enqueue(VM_CONTROLLER, keyOf(o)));
  // A snapshot waits for its VM's claims.
  inf.pvcs.on((_e, pvc) => {
    for (const vm of inf.vms.list()) {
      if (
        vm.metadata.namespace === pvc.metadata.namespace &&
        claimsOf(vm).includes(pvc.metadata.name)
      )
        rt.enqueue(VM_CONTROLLER, keyOf(vm));
    }
  });
  // A revert blocked by a CSI VolumeSnapshot is retried when VolumeSnapshots change.
  inf.volumeSnapshots.on((_e, vs) => {
    for (const vm of inf.vms.list()) {
      if (vm.metadata.namespace === vs.metadata.namespace && asObj(vm).spec?.currentSnapshotName)
        rt.enqueue(VM_CONTROLLER, keyOf(vm));
    }
  });
  rt.register(VM_CONTROLLER, (key) => reconcileVm(ctx, key));
}

async function reconcileVm(ctx: VmopContext, key: string): Promise<ReconcileResult | void> {
  const { inf } = ctx;
  let vm = ctx.fresh.get(inf.vms, key);
  if (!vm || vm.metadata.deletionTimestamp) return;
  if (annotation(vm, SIM.data) === undefined) {
    vm = await patch(ctx, inf.vms, vm, {
      metadata: { annotations: { [SIM.data]: `boot-${randomBytes(4).toString("hex")}` } },
    });
  }
  let snaps = snapshotsOf(ctx, vm);
  let current = currentOf(vm, snaps);

  // Deleted snapshots leave the tree (vSphere RemoveSnapshot_Task, removeChildren=false): their
  // children move to their parent, and so does the current snapshot. Then the finalizer goes.
  const deleting = snaps.filter(
    (s) => s.metadata.deletionTimestamp && hasFinalizer(s, SNAPSHOT_FINALIZER),
  );
  if (deleting.length) {
    for (const d of deleting) {
      const name = d.metadata.name;
      const parent = parentOf(ctx.fresh.get(inf.snapshots, keyOf(d)) ?? d) ?? "";
      for (const child of snapshotsOf(ctx, vm)) {
        if (child.metadata.name !== name && parentOf(child) === name) {
          await patch(ctx, inf.snapshots, child, {
            metadata: { annotations: { [VMOP_SIM.parent]: parent } },
          });
        }
      }
      if (current === name) current = parent || undefined;
    }
    snaps = snapshotsOf(ctx, vm);
    await syncTree(
      ctx,
      ctx.fresh.get(inf.vms, key) ?? vm,
      snaps,
      inTree(snaps),
      current,
      undefined,
    );
    for (const d of deleting)
      await removeFinalizer(ctx, ctx.fresh.get(inf.snapshots, keyOf(d)) ?? d);
    return;
  }

  const revert = await reconcileRevert(ctx, vm, snaps);
  if (revert.done) return; // the VM's update event brings the next reconcile
  const created = await reconcileCreation(ctx, vm, snaps, current);
  snaps = snapshotsOf(ctx, vm);
  const completing = created.completing?.snap.metadata.name;
  const members = inTree(snaps, completing);
  vm = ctx.fresh.get(inf.vms, key) ?? vm;
  await syncTree(ctx, vm, snaps, members, created.current, revert.condition);
  // Ready last: whoever waits for it then sees the VM's current snapshot and the parent's children.
  if (created.completing) {
    const snap = ctx.fresh.get(inf.snapshots, keyOf(created.completing.snap));
    if (snap) await writeStatus(ctx, inf.snapshots, snap, created.completing.status);
  }
  // A failed revert is an error of the reconcile: it is retried (with back-off upstream) for as
  // long as spec.currentSnapshotName asks for it (vmware-tanzu/vm-operator main,
  // pkg/providers/vsphere/vmprovider_vmsnapshot.go reconcileSnapshotRevertDoTask returns the
  // error; only the VKS skip does not).
  const retry = revert.retry ? REVERT_RETRY_MS : undefined;
  const next = [created.requeueAfterMs, retry].filter((n): n is number => n !== undefined);
  if (next.length) return { requeueAfterMs: Math.min(...next) };
}

/** How soon a failed revert is tried again (controller-runtime's back-off starts far lower). */
const REVERT_RETRY_MS = 1_000;

/** Snapshots in the vSphere tree: created (or being created now) and not being deleted. */
function inTree(snaps: KubeObject[], creating?: string): KubeObject[] {
  return snaps.filter(
    (s) =>
      !s.metadata.deletionTimestamp && (isTrue(s, COND.created) || s.metadata.name === creating),
  );
}

/** status.currentSnapshot, when it still names a snapshot of the tree. */
function currentOf(vm: KubeObject, snaps: KubeObject[]): string | undefined {
  const name = (asObj(vm).status?.currentSnapshot as { name?: string } | undefined)?.name;
  return name && snaps.some((s) => s.metadata.name === name && isTrue(s, COND.created))
    ? name
    : undefined;
}

interface Tree {
  roots: string[];
  children: Map<string, string[]>;
}

/** The tree from the snapshots' parent annotations (members are oldest first). */
function treeOf(members: KubeObject[]): Tree {
  const names = new Set(members.map((s) => s.metadata.name));
  const tree: Tree = { roots: [], children: new Map() };
  for (const s of members) {
    const parent = parentOf(s);
    if (parent && parent !== s.metadata.name && names.has(parent)) {
      tree.children.set(parent, [...(tree.children.get(parent) ?? []), s.metadata.name]);
    } else tree.roots.push(s.metadata.name);
  }
  return tree;
}

const ref = (name: string) => ({ type: "Managed", name });

/**
 * Writes the VM's status (with current and root snapshots) and every snapshot's children.
 * `revert`: the revert condition, null to remove it, undefined to keep what is there.
 */
async function syncTree(
  ctx: VmopContext,
  vm: KubeObject,
  snaps: KubeObject[],
  members: KubeObject[],
  current: string | undefined,
  revert: Condition | null | undefined,
): Promise<void> {
  const tree = treeOf(members);
  const inMembers = current !== undefined && members.some((s) => s.metadata.name === current);
  await writeStatus(
    ctx,
    ctx.inf.vms,
    vm,
    vmStatus(ctx, vm, tree, inMembers ? current : undefined, revert),
  );
  for (const s of snaps) {
    if (s.metadata.deletionTimestamp) continue;
    const kids = tree.children.get(s.metadata.name) ?? [];
    await writeStatus(ctx, ctx.inf.snapshots, s, {
      children: kids.length ? kids.map(ref) : undefined,
    });
  }
}

/** The VM's desired status: what the simulated vSphere VM reports. */
function vmStatus(
  ctx: VmopContext,
  vm: KubeObject,
  tree: Tree,
  current: string | undefined,
  revert: Condition | null | undefined,
): Record<string, unknown> {
  const status = asObj(vm).status ?? {};
  const power = powerStateOf(vm);
  const existing = (Array.isArray(status.conditions) ? status.conditions : []) as Condition[];
  const others = existing.filter((c) => c.type !== COND.revert);
  const revertCondition =
    revert === undefined ? existing.find((c) => c.type === COND.revert) : (revert ?? undefined);
  const conditions = [...others, ...(revertCondition ? [revertCondition] : [])];
  return {
    powerState: power,
    guest: power === POWER.on && hasGuestAgent(vm) ? { ...GUEST[guestOs(vm)] } : undefined,
    uniqueID: (status.uniqueID as string | undefined) ?? nextUniqueId(ctx, "vm"),
    currentSnapshot: current ? ref(current) : undefined,
    rootSnapshots: tree.roots.length ? tree.roots.map(ref) : undefined,
    conditions: conditions.length ? mergeConditions(existing, conditions) : undefined,
  };
}

interface RevertResult {
  /** The revert happened (the VM was rewritten); the reconcile ends here. */
  done: boolean;
  /** The revert condition: set, null to remove, undefined to leave as it is. */
  condition?: Condition | null;
  /** The revert failed with an error: the reconcile is tried again. */
  retry?: boolean;
}

/** VMO reconcileSnapshotRevertDoTask, against the simulated vSphere tree. */
async function reconcileRevert(
  ctx: VmopContext,
  vm: KubeObject,
  snaps: KubeObject[],
): Promise<RevertResult> {
  const target = asObj(vm).spec?.currentSnapshotName as string | undefined;
  // No revert requested: a failed revert was aborted (or none happened), so no condition.
  if (!target) return { done: false, condition: null };
  const failed = (reason: string, message: string, retry = true): RevertResult => ({
    done: false,
    condition: condition(COND.revert, false, reason, message),
    retry,
  });
  if (isVksNode(vm))
    return failed(REASON.revertSkipped, "Skipping snapshot revert for VKS node", false);
  const ns = vm.metadata.namespace!;
  const snap = ctx.fresh.get(ctx.inf.snapshots, `${ns}/${target}`);
  if (!snap || snap.metadata.deletionTimestamp) {
    return failed(
      REASON.revertFailed,
      `failed to get snapshot object "${target}": virtualmachinesnapshots.vmoperator.vmware.com "${target}" not found`,
    );
  }
  if (vmNameOf(snap) !== vm.metadata.name) {
    return failed(
      REASON.revertFailed,
      `failed to find vSphere snapshot "${target}": it is a snapshot of VirtualMachine "${vmNameOf(snap) ?? ""}", not of "${vm.metadata.name}"`,
    );
  }
  if (!isTrue(snap, COND.ready))
    return failed(REASON.revertSkipped, `skipping revert for not-ready snapshot "${target}"`);
  // VMO skips the revert while a snapshot task of the VM runs.
  const running = snaps.some(
    (s) => !s.metadata.deletionTimestamp && !isTrue(s, COND.created) && takenAt(s) !== undefined,
  );
  if (running) return { done: false };
  const saved = savedVm(snap);
  const data = savedData(snap);
  if (!saved || !data) {
    return failed(
      REASON.revertFailedInvalidManifest,
      "failed to restore vm spec and metadata from snapshot: no VM YAML in snapshot config",
    );
  }

  // vSphere cannot revert across an FCD snapshot, i.e. a CSI VolumeSnapshot of one of the VM's
  // volumes taken after the target (timestamps have one-second resolution: the same second counts).
  const claims = new Set([...claimsOf(vm), ...Object.keys(data.volumes)]);
  const since = Math.floor((takenAt(snap) ?? Date.parse(snap.metadata.creationTimestamp!)) / 1000);
  const volumeSnapshots = await ctx.client.list(Csi.volumeSnapshots, ns);
  const crossed = volumeSnapshots.items.filter((vs) => {
    const claim = asObj(vs).spec?.source?.persistentVolumeClaimName as string | undefined;
    const created = Date.parse(vs.metadata.creationTimestamp ?? "") / 1000;
    return (
      claim !== undefined && claims.has(claim) && !vs.metadata.deletionTimestamp && created >= since
    );
  });
  if (crossed.length) {
    return failed(
      REASON.revertTaskFailed,
      "An error occurred while reverting to a snapshot: The specified snapshot is not revertable. " +
        "The virtual machine cannot be reverted when crossing a CSI VolumeSnapshot. " +
        "VolumeSnapshots should be deleted before retrying the revert. " +
        `VolumeSnapshots taken after snapshot "${target}": ${crossed.map((v) => v.metadata.name).join(", ")}.`,
    );
  }

  // Revert: the disks get the snapshot's data back ...
  for (const [claim, fingerprint] of Object.entries(data.volumes)) {
    const pvc = await ctx.client.getIfExists(Core.pvcs, claim, ns);
    if (pvc && annotation(pvc, SIM.data) !== fingerprint) {
      await ctx.client.patch(
        Core.pvcs,
        claim,
        ns,
        { metadata: { annotations: { [SIM.data]: fingerprint } } },
        { fieldManager: FIELD_MANAGER },
      );
    }
  }
  // ... the VM's spec, labels and annotations become the saved ones, its power state the
  // snapshot's (no memory → PoweredOff), and its status is rebuilt: current = the target, no
  // revert condition. Status first: clearing spec.currentSnapshotName signals the end.
  const power = (asObj(snap).status?.powerState as string | undefined) ?? POWER.off;
  const live = await ctx.client.get(VmOp.vms, vm.metadata.name, ns);
  const spec: Record<string, unknown> = { ...saved.spec, powerState: power };
  delete spec.currentSnapshotName;
  const reverted: KubeObject = {
    ...live,
    metadata: {
      ...live.metadata,
      labels: { ...saved.labels },
      annotations: { ...saved.annotations, [SIM.data]: data.boot },
    },
    spec,
  };
  const tree = treeOf(inTree(snaps));
  const withStatus = await writeStatus(
    ctx,
    ctx.inf.vms,
    live,
    vmStatus(ctx, reverted, tree, target, null),
  );
  const out = await ctx.client.replace(
    VmOp.vms,
    {
      ...reverted,
      metadata: { ...reverted.metadata, resourceVersion: withStatus.metadata.resourceVersion },
      status: withStatus.status,
    },
    { fieldManager: FIELD_MANAGER },
  );
  ctx.fresh.remember(ctx.inf.vms, out);
  return { done: true };
}
