// VirtualMachineOperation (Start, Stop, Restart within the run policy; Restore, Clone; Migrate and
// Evict, which take sim.vmsnap.io/migration-duration) and VirtualMachineSnapshotOperation
// (CreateVirtualMachine, complete once its objects exist). One Restore/Clone runs per VM at a time:
// a later one waits Pending until the running one finishes.
import { keyOf, type KubeObject } from "../../../kube/resources.js";
import type { Informer } from "../../../kube/watch.js";
import { annotation, parseDuration } from "../annotations.js";
import { asObj, ignoreNotFound } from "../storage.js";
import {
  CTRL,
  DH_API_VERSION,
  DH_SIM,
  Deckhouse,
  OP_PHASE,
  SNAP_PHASE,
  VM_PHASE,
  cond,
  conditionOf,
  ownerRef,
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
  type Mode,
  type NameReplacement,
  type ResourceStatus,
} from "./restore.js";
import { RUN_POLICY, runPolicyOf } from "./vm.js";

const COMPLETED = "Completed";
const MAINTENANCE = "MaintenanceMode";
const SNAPSHOT_READY = "SnapshotReady";

/** Resources as they are while the operation runs (planned ones are InProgress). */
function inProgress(resources: ResourceStatus[]): ResourceStatus[] {
  return resources.map((r) => (r.status === "Completed" ? { ...r, status: "InProgress" } : r));
}

export function registerOperationControllers(ctx: DhContext): void {
  const { rt, inf } = ctx;
  const enqueueOps = (ns: string) => {
    for (const op of inf.vmops.list())
      if (op.metadata.namespace === ns && !done(op)) rt.enqueue(CTRL.vmop, keyOf(op));
    for (const op of inf.vmsops.list())
      if (op.metadata.namespace === ns && !done(op)) rt.enqueue(CTRL.vmsop, keyOf(op));
  };
  inf.vmops.on((_e, op) => enqueueOps(op.metadata.namespace!));
  inf.vmsops.on((_e, op) => enqueueOps(op.metadata.namespace!));
  for (const i of [inf.vms, inf.disks, inf.vmSnapshots, inf.diskSnapshots])
    i.on((_e, o) => enqueueOps(o.metadata.namespace!));
  rt.register(CTRL.vmop, (key) => reconcileVmop(ctx, key));
  rt.register(CTRL.vmsop, (key) => reconcileVmsop(ctx, key));
}

/** Finished: Completed, Failed or Superseded (deckhouse/virtualization v1.10 line,
 * images/virtualization-artifact/pkg/common/vmop/vmop.go IsFinished). */
function done(op: KubeObject): boolean {
  const p = phaseOf(op);
  return p === OP_PHASE.completed || p === OP_PHASE.failed || p === OP_PHASE.superseded;
}

/**
 * Whether `next` supersedes the unfinished `old` of the same VM: Stop over Start; a forced Stop or
 * Restart over a Stop or Restart that is not forced; Stop or Restart over Migrate/Evict
 * (deckhouse/virtualization v1.10 line, HEAD cf3a9e6c4,
 * images/virtualization-artifact/pkg/controller/vmop/supersede/supersede.go, CanSupersede).
 */
export function canSupersede(old: KubeObject, next: KubeObject): boolean {
  const o = asObj(old).spec ?? {};
  const n = asObj(next).spec ?? {};
  if (o.virtualMachineName !== n.virtualMachineName) return false;
  const forcedOver = () =>
    o.force !== true && (n.type === "Stop" || n.type === "Restart") && n.force === true;
  switch (o.type) {
    case "Start":
      return n.type === "Stop";
    case "Stop":
    case "Restart":
      return forcedOver();
    case "Migrate":
    case "Evict":
      return n.type === "Stop" || n.type === "Restart";
    default:
      return false;
  }
}

/** Creation order of operations: timestamp, then name (upstream isOlderVMOP). */
function isOlder(a: KubeObject, b: KubeObject): boolean {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return Date.parse(ta) < Date.parse(tb);
  return a.metadata.name < b.metadata.name;
}

/**
 * Before an operation starts: the VM's older unfinished operations either are all superseded by
 * it (each gets phase Superseded, condition Completed=True reason Superseded, "Superseded by <name>
 * with type <type>", and what it started is undone) or the operation fails NotReadyToBeExecuted
 * (deckhouse/virtualization v1.10 line, HEAD cf3a9e6c4,
 * images/virtualization-artifact/pkg/controller/vmop/service/service.go,
 * ShouldExecuteOrSupersedeOrSetFailedPhase, cleanupSupersededOperation, markSuperseded; called by
 * the powerstate, migration and snapshot lifecycle handlers before they execute). False: stop here.
 */
async function supersedeOrFail(ctx: DhContext, op: KubeObject, vm: KubeObject): Promise<boolean> {
  const { inf } = ctx;
  const vmName = asObj(op).spec?.virtualMachineName;
  const older = ctx.fresh
    .list(inf.vmops)
    .filter(
      (o) =>
        o.metadata.namespace === op.metadata.namespace &&
        o.metadata.uid !== op.metadata.uid &&
        asObj(o).spec?.virtualMachineName === vmName &&
        !done(o) &&
        isOlder(o, op),
    );
  if (!older.length) return true;
  if (!older.every((o) => canSupersede(o, op))) {
    await finish(
      ctx,
      inf.vmops,
      op,
      false,
      "VMOP cannot be executed now. Previously created operation should finish first.",
      {},
      [],
      "NotReadyToBeExecuted",
    );
    return false;
  }
  const type = asObj(op).spec?.type as string;
  for (const o of older) {
    // A superseded migration is deleted (its VirtualMachineInstanceMigration): the VM stays put.
    if (annotation(vm, DH_SIM.migrating) === o.metadata.name)
      await setAnnotations(ctx, inf.vms, vm, { [DH_SIM.migrating]: null });
    await writeStatus(ctx, inf.vmops, o, {
      phase: OP_PHASE.superseded,
      conditions: withConditions(o, [
        cond(COMPLETED, true, "Superseded", `Superseded by ${op.metadata.name} with type ${type}`),
      ]),
    });
  }
  return true;
}

async function finish(
  ctx: DhContext,
  inf: Informer,
  op: KubeObject,
  ok: boolean,
  message: string,
  extra: Record<string, unknown> = {},
  conditions: Record<string, unknown>[] = [],
  failedReason = "OperationFailed",
): Promise<void> {
  await writeStatus(ctx, inf, op, {
    ...extra,
    phase: ok ? OP_PHASE.completed : OP_PHASE.failed,
    ...(inf === ctx.inf.vmops ? { progress: ok ? "100%" : undefined } : {}),
    conditions: withConditions(op, [
      ...conditions,
      cond(COMPLETED, ok, ok ? "OperationCompleted" : failedReason, message),
    ]),
  });
}

/** Another Restore/Clone of the same VM that is running now. */
function runningSnapshotOpFor(
  ctx: DhContext,
  op: KubeObject,
  vmName: string,
): KubeObject | undefined {
  return ctx.fresh
    .list(ctx.inf.vmops)
    .find(
      (o) =>
        o.metadata.uid !== op.metadata.uid &&
        o.metadata.namespace === op.metadata.namespace &&
        ["Restore", "Clone"].includes(asObj(o).spec?.type) &&
        asObj(o).spec?.virtualMachineName === vmName &&
        phaseOf(o) === OP_PHASE.inProgress,
    );
}

async function reconcileVmop(ctx: DhContext, key: string) {
  const { inf } = ctx;
  const op = ctx.fresh.get(inf.vmops, key);
  if (!op || op.metadata.deletionTimestamp || done(op)) return;
  const ns = op.metadata.namespace!;
  const spec = asObj(op).spec ?? {};
  const vmName = spec.virtualMachineName as string;
  const vm = ctx.fresh.get(inf.vms, `${ns}/${vmName}`);
  if (!vm) {
    await finish(ctx, inf.vmops, op, false, `VirtualMachine "${vmName}" not found.`);
    return;
  }
  // Not started yet: one operation per VM at a time, unless this one supersedes the others.
  const started = phaseOf(op) === OP_PHASE.inProgress || annotation(op, DH_SIM.step) !== undefined;
  if (!started && !(await supersedeOrFail(ctx, op, vm))) return;
  switch (spec.type as string) {
    case "Start":
    case "Stop":
    case "Restart":
      return powerOp(ctx, op, vm, spec.type as string);
    case "Restore":
      return restoreOp(ctx, op, vm);
    case "Clone":
      return cloneOp(ctx, op, vm);
    case "Migrate":
    case "Evict":
      return migrateOp(ctx, op, vm, spec.type as string);
    default:
      await finish(ctx, inf.vmops, op, false, `Unknown operation type ${String(spec.type)}.`);
  }
}

/** How long a simulated migration takes: the operation's hook, else its VM's, else 3 s. */
const DEFAULT_MIGRATION_MS = 3_000;

function migrationMs(op: KubeObject, vm: KubeObject): number {
  return (
    parseDuration(
      annotation(op, DH_SIM.migrationDuration) ?? annotation(vm, DH_SIM.migrationDuration),
    ) ?? DEFAULT_MIGRATION_MS
  );
}

/**
 * Migrate and Evict: applicable to a Running VM only (deckhouse/virtualization v1.10,
 * images/virtualization-artifact/pkg/controller/vmop/migration/internal/service/migration.go),
 * InProgress while the migration runs, the VM Migrating meanwhile (.../vmop/migration/internal/
 * handler/lifecycle.go follows the VirtualMachineInstanceMigration); the single simulated node
 * stays the node.
 */
async function migrateOp(ctx: DhContext, op: KubeObject, vm: KubeObject, type: string) {
  const { inf } = ctx;
  const startedAt = Date.parse(annotation(op, DH_SIM.step) ?? "");
  if (Number.isNaN(startedAt)) {
    if (runPolicyOf(vm) === RUN_POLICY.alwaysOff) {
      await notApplicableForRunPolicy(ctx, op, type, RUN_POLICY.alwaysOff);
      return;
    }
    if (phaseOf(vm) !== VM_PHASE.running) {
      await finish(
        ctx,
        inf.vmops,
        op,
        false,
        `Operation type ${type} is not applicable for VirtualMachine in phase ${phaseOf(vm) ?? "Pending"}`,
        {},
        [],
        "NotApplicableForVirtualMachinePhase",
      );
      return;
    }
    const latest = await setAnnotations(ctx, inf.vmops, op, {
      [DH_SIM.step]: new Date().toISOString(),
    });
    await writeStatus(ctx, inf.vmops, latest, {
      phase: OP_PHASE.inProgress,
      progress: "0%",
      conditions: withConditions(latest, [
        cond(
          COMPLETED,
          false,
          "MigrationInProgress",
          `The virtual machine "${vm.metadata.name}" is being migrated.`,
        ),
      ]),
    });
    // After the operation is InProgress: the VM's reconcile reads it to be Migrating.
    await setAnnotations(ctx, inf.vms, vm, { [DH_SIM.migrating]: op.metadata.name });
    return { requeueAfterMs: migrationMs(op, vm) };
  }
  const remaining = startedAt + migrationMs(op, vm) - Date.now();
  if (remaining > 0) return { requeueAfterMs: remaining };
  await finish(
    ctx,
    inf.vmops,
    op,
    true,
    `The virtual machine "${vm.metadata.name}" is migrated (${type}).`,
  );
  if (annotation(vm, DH_SIM.migrating) === op.metadata.name)
    await setAnnotations(ctx, inf.vms, vm, { [DH_SIM.migrating]: null });
}

/**
 * Start and Stop do not apply to AlwaysOn/AlwaysOff VMs, Restart not to AlwaysOff: the operation
 * fails NotApplicableForVirtualMachineRunPolicy (deckhouse/virtualization v1.10,
 * images/virtualization-artifact/pkg/controller/vmop/service/service.go IsApplicableOrSetFailedPhase,
 * .../vmop/powerstate/internal/service/{start,stop,restart}.go IsApplicableForRunPolicy).
 */
async function notApplicableForRunPolicy(
  ctx: DhContext,
  op: KubeObject,
  type: string,
  policy: string,
) {
  await finish(
    ctx,
    ctx.inf.vmops,
    op,
    false,
    `Operation type ${type} is not applicable for VirtualMachine with runPolicy ${policy}`,
    {},
    [],
    "NotApplicableForVirtualMachineRunPolicy",
  );
}

function applicableForRunPolicy(type: string, policy: string): boolean {
  if (type === "Restart") return policy !== RUN_POLICY.alwaysOff;
  return policy !== RUN_POLICY.alwaysOn && policy !== RUN_POLICY.alwaysOff;
}

async function powerOp(ctx: DhContext, op: KubeObject, vm: KubeObject, type: string) {
  const { inf } = ctx;
  const policy = runPolicyOf(vm);
  const step = annotation(op, DH_SIM.step);
  const phase = phaseOf(vm);
  const running = (m: string) =>
    writeStatus(ctx, inf.vmops, op, {
      phase: OP_PHASE.inProgress,
      progress: "50%",
      conditions: withConditions(op, [cond(COMPLETED, false, "OperationInProgress", m)]),
    });
  if (step === undefined) {
    if (!applicableForRunPolicy(type, policy)) {
      await notApplicableForRunPolicy(ctx, op, type, policy);
      return;
    }
    const target = type === "Start" ? "on" : "off";
    await setAnnotations(ctx, inf.vms, vm, { [DH_SIM.power]: target });
    await setAnnotations(ctx, inf.vmops, op, {
      [DH_SIM.step]: type === "Restart" ? "Stopping" : "Waiting",
    });
    await running(`${type} of VirtualMachine "${vm.metadata.name}" in progress.`);
    return;
  }
  if (step === "Stopping") {
    if (phase !== VM_PHASE.stopped) return;
    await setAnnotations(ctx, inf.vms, vm, { [DH_SIM.power]: "on" });
    await setAnnotations(ctx, inf.vmops, op, { [DH_SIM.step]: "Waiting" });
    return;
  }
  const target = type === "Stop" ? VM_PHASE.stopped : VM_PHASE.running;
  if (phase === target)
    await finish(ctx, inf.vmops, op, true, `VirtualMachine "${vm.metadata.name}" is ${target}.`);
}

async function restoreOp(ctx: DhContext, op: KubeObject, vm: KubeObject) {
  const { inf } = ctx;
  const ns = op.metadata.namespace!;
  const restore = (asObj(op).spec?.restore ?? {}) as {
    mode?: Mode;
    virtualMachineSnapshotName?: string;
  };
  const mode = restore.mode ?? "Strict";
  const snapName = restore.virtualMachineSnapshotName ?? "";
  const snap = ctx.fresh.get(inf.vmSnapshots, `${ns}/${snapName}`);
  const started = phaseOf(op) === OP_PHASE.inProgress;
  if (!snap || phaseOf(snap) !== SNAP_PHASE.ready) {
    const message = snap
      ? `VirtualMachineSnapshot "${snapName}" is not ready (${phaseOf(snap) ?? "Pending"}).`
      : `VirtualMachineSnapshot "${snapName}" not found.`;
    await finish(ctx, inf.vmops, op, false, message, {}, [
      cond(
        SNAPSHOT_READY,
        false,
        snap ? "VirtualMachineSnapshotNotReady" : "VirtualMachineSnapshotNotFound",
        message,
      ),
      ...(started ? [cond(MAINTENANCE, false, "MaintenanceModeDisabled")] : []),
    ]);
    if (started) await setAnnotations(ctx, inf.vms, vm, { [DH_SIM.maintenance]: null });
    return;
  }
  const stored = await readStored(ctx, snap);
  if (!stored) {
    await finish(
      ctx,
      inf.vmops,
      op,
      false,
      `The Secret of VirtualMachineSnapshot "${snapName}" is missing or unreadable.`,
    );
    return;
  }
  const snapReady = cond(SNAPSHOT_READY, true, "VirtualMachineSnapshotReady");
  if (stored.vm.metadata.uid !== vm.metadata.uid) {
    await finish(
      ctx,
      inf.vmops,
      op,
      false,
      `VirtualMachine "${vm.metadata.name}" (uid ${vm.metadata.uid}) is not the VM the snapshot was taken of (uid ${stored.vm.metadata.uid}): a restore needs the same VM.`,
      {},
      [snapReady],
    );
    return;
  }
  if (!started) {
    const plan = planRestore(ctx, snap, vm, stored, mode);
    if (mode === "DryRun") {
      const conflicts = plan.filter((r) => r.status === "Failed").length;
      await finish(
        ctx,
        inf.vmops,
        op,
        true,
        conflicts
          ? `Dry run: nothing was changed; ${conflicts} resource(s) would fail.`
          : "Dry run: nothing was changed; the restore would succeed.",
        { resources: plan },
        [snapReady],
      );
      return;
    }
    if (hasFailure(plan)) {
      await finish(
        ctx,
        inf.vmops,
        op,
        false,
        "The restore cannot proceed: see status.resources.",
        { resources: plan },
        [snapReady],
      );
      return;
    }
    const other = runningSnapshotOpFor(ctx, op, vm.metadata.name);
    if (other) {
      await writeStatus(ctx, inf.vmops, op, {
        phase: OP_PHASE.pending,
        conditions: withConditions(op, [
          snapReady,
          cond(
            COMPLETED,
            false,
            "NotReadyToBeExecuted",
            `Waiting for VirtualMachineOperation "${other.metadata.name}" on the same virtual machine to finish.`,
          ),
        ]),
      });
      return;
    }
    await writeStatus(ctx, inf.vmops, op, {
      phase: OP_PHASE.inProgress,
      progress: "10%",
      resources: inProgress(plan),
    });
  }
  const current = ctx.fresh.get(inf.vmops, keyOf(op)) ?? op;
  const progress = await restoreStep(ctx, inf.vmops, current, snap, vm, stored, mode);
  const latest = ctx.fresh.get(inf.vmops, keyOf(op)) ?? current;
  if (progress.state === "inProgress") {
    await writeStatus(ctx, inf.vmops, latest, {
      phase: OP_PHASE.inProgress,
      conditions: withConditions(latest, [
        snapReady,
        cond(
          MAINTENANCE,
          true,
          "MaintenanceModeEnabled",
          "The virtual machine is in maintenance mode for the restore.",
        ),
        cond(COMPLETED, false, "RestoreInProgress", progress.message),
      ]),
    });
    return;
  }
  const resources = ((asObj(latest).status?.resources ?? []) as ResourceStatus[]).map((r) =>
    r.status === "InProgress"
      ? { ...r, status: progress.state === "done" ? "Completed" : "Failed" }
      : r,
  );
  if (progress.state === "failed")
    await setAnnotations(ctx, inf.vms, vm, { [DH_SIM.maintenance]: null });
  await finish(
    ctx,
    inf.vmops,
    latest,
    progress.state === "done",
    progress.state === "done"
      ? "The virtual machine is restored from the snapshot."
      : progress.message,
    { resources },
    [snapReady, cond(MAINTENANCE, false, "MaintenanceModeDisabled")],
  );
}

interface CloneSpec {
  mode?: Mode;
  nameReplacement?: NameReplacement[];
  customization?: { namePrefix?: string; nameSuffix?: string };
}

async function cloneOp(ctx: DhContext, op: KubeObject, vm: KubeObject) {
  const { inf, client } = ctx;
  const ns = op.metadata.namespace!;
  const clone = (asObj(op).spec?.clone ?? {}) as CloneSpec;
  const mode = clone.mode ?? "Strict";
  const rename = renamer(clone.nameReplacement, clone.customization);
  const tempName = `vmop-clone-${op.metadata.uid}`;
  const step = annotation(op, DH_SIM.step);

  if (step === undefined) {
    if (mode !== "DryRun") {
      const other = runningSnapshotOpFor(ctx, op, vm.metadata.name);
      if (other) {
        await writeStatus(ctx, inf.vmops, op, {
          phase: OP_PHASE.pending,
          conditions: withConditions(op, [
            cond(
              COMPLETED,
              false,
              "NotReadyToBeExecuted",
              `Waiting for VirtualMachineOperation "${other.metadata.name}" on the same virtual machine to finish.`,
            ),
          ]),
        });
        return;
      }
    }
    // The conflicts are known before any snapshot: the names are computed from the live VM.
    const liveStored = {
      vm: {
        apiVersion: DH_API_VERSION,
        kind: "VirtualMachine" as const,
        metadata: { name: vm.metadata.name, uid: vm.metadata.uid!, labels: {}, annotations: {} },
        spec: asObj(vm).spec ?? {},
      },
      disks: [],
    };
    const vmRes = planCreate(
      ctx,
      { ...vm, metadata: { ...vm.metadata } },
      liveStored,
      mode,
      rename,
    );
    const diskRes: ResourceStatus[] = (
      (asObj(vm).spec?.blockDeviceRefs ?? []) as { kind?: string; name: string }[]
    )
      .filter((r) => (r.kind ?? "VirtualDisk") === "VirtualDisk")
      .map((r) => {
        const name = rename("VirtualDisk", r.name);
        return ctx.fresh.get(inf.disks, `${ns}/${name}`)
          ? {
              apiVersion: DH_API_VERSION,
              kind: "VirtualDisk",
              name,
              status: "Failed",
              message: `VirtualDisk "${name}" already exists.`,
            }
          : {
              apiVersion: DH_API_VERSION,
              kind: "VirtualDisk",
              name,
              status: "Completed",
              message: `The disk is cloned from VirtualDisk "${r.name}".`,
            };
      });
    const plan = [...vmRes.filter((r) => r.kind !== "VirtualDisk"), ...diskRes];
    if (mode === "DryRun") {
      const conflicts = plan.filter((r) => r.status === "Failed").length;
      await finish(
        ctx,
        inf.vmops,
        op,
        true,
        conflicts
          ? `Dry run: nothing was changed; ${conflicts} resource(s) would fail.`
          : "Dry run: nothing was changed; the clone would succeed.",
        { resources: plan },
      );
      return;
    }
    if (hasFailure(plan)) {
      await finish(ctx, inf.vmops, op, false, "The clone cannot proceed: see status.resources.", {
        resources: plan,
      });
      return;
    }
    const snapBody: KubeObject = {
      apiVersion: DH_API_VERSION,
      kind: "VirtualMachineSnapshot",
      metadata: {
        name: tempName,
        namespace: ns,
        ownerReferences: [ownerRef(op, "VirtualMachineOperation") as never],
      },
      spec: {
        virtualMachineName: vm.metadata.name,
        requiredConsistency: true,
        keepIPAddress: "Never",
      },
    };
    await client.create(Deckhouse.vmSnapshots, snapBody).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
    const latest = await setAnnotations(ctx, inf.vmops, op, { [DH_SIM.step]: "Snapshotting" });
    await writeStatus(ctx, inf.vmops, latest, {
      phase: OP_PHASE.inProgress,
      progress: "10%",
      resources: inProgress(plan),
      conditions: withConditions(latest, [
        cond(COMPLETED, false, "CloneInProgress", `Taking the temporary snapshot "${tempName}".`),
      ]),
    });
    return;
  }
  const temp = ctx.fresh.get(inf.vmSnapshots, `${ns}/${tempName}`);
  const cleanup = () => client.delete(Deckhouse.vmSnapshots, tempName, ns).catch(ignoreNotFound);
  const failAll = async (message: string) => {
    const resources = ((asObj(op).status?.resources ?? []) as ResourceStatus[]).map((r) =>
      r.status === "InProgress" ? { ...r, status: "Failed" as const, message } : r,
    );
    await cleanup();
    await finish(ctx, inf.vmops, op, false, message, { resources });
  };
  if (step === "Snapshotting") {
    if (!temp) return;
    if (phaseOf(temp) === SNAP_PHASE.failed) {
      const why = conditionOf(temp, "VirtualMachineSnapshotReady")?.message as string | undefined;
      await failAll(`The temporary snapshot "${tempName}" failed${why ? `: ${why}` : ""}`);
      return;
    }
    if (phaseOf(temp) !== SNAP_PHASE.ready) return;
    const stored = await readStored(ctx, temp);
    if (!stored) return;
    await createFromSnapshot(ctx, temp, stored, mode, rename);
    await setAnnotations(ctx, inf.vmops, op, { [DH_SIM.step]: "Creating" });
    return;
  }
  // Creating: the new disks are provisioned from the temporary snapshot, then it goes.
  const resources = (asObj(op).status?.resources ?? []) as ResourceStatus[];
  const disks = resources.filter((r) => r.kind === "VirtualDisk").map((r) => r.name);
  const failed = disks.find((d) => phaseOf(ctx.fresh.get(inf.disks, `${ns}/${d}`)) === "Failed");
  if (failed) {
    await failAll(`VirtualDisk "${failed}" failed to be provisioned.`);
    return;
  }
  if (!disksReady(ctx, ns, disks)) return;
  await cleanup();
  await finish(ctx, inf.vmops, op, true, "The virtual machine is cloned.", {
    resources: resources.map((r) =>
      r.status === "InProgress" ? { ...r, status: "Completed" } : r,
    ),
  });
}

interface CreateVmSpec {
  mode?: Mode;
  nameReplacement?: NameReplacement[];
  customization?: { namePrefix?: string; nameSuffix?: string };
}

async function reconcileVmsop(ctx: DhContext, key: string) {
  const { inf } = ctx;
  const op = ctx.fresh.get(inf.vmsops, key);
  if (!op || op.metadata.deletionTimestamp || done(op)) return;
  const ns = op.metadata.namespace!;
  const spec = asObj(op).spec ?? {};
  const create = (spec.createVirtualMachine ?? {}) as CreateVmSpec;
  const mode = create.mode ?? "Strict";
  const rename = renamer(create.nameReplacement, create.customization);
  const snapName = spec.virtualMachineSnapshotName as string;
  const snap = ctx.fresh.get(inf.vmSnapshots, `${ns}/${snapName}`);
  const fail = (reason: string, message: string, extra: Record<string, unknown> = {}) =>
    writeStatus(ctx, inf.vmsops, op, {
      ...extra,
      phase: OP_PHASE.failed,
      conditions: withConditions(op, [cond(COMPLETED, false, reason, message)]),
    });
  if (!snap) {
    await fail("VirtualMachineSnapshotNotFound", `VirtualMachineSnapshot "${snapName}" not found.`);
    return;
  }
  // A snapshot that is not Ready fails the operation; it does not wait (deckhouse/virtualization
  // v1.10, images/virtualization-artifact/pkg/controller/vmsop/internal/handler/lifecycle.go).
  if (phaseOf(snap) !== SNAP_PHASE.ready) {
    await fail(
      "NotReadyToBeExecuted",
      `The VirtualMachineSnapshot "${snapName}" is not ready yet.`,
    );
    return;
  }
  const stored = await readStored(ctx, snap);
  if (!stored) {
    await fail(
      "OperationFailed",
      `The Secret of VirtualMachineSnapshot "${snapName}" is missing or unreadable.`,
    );
    return;
  }
  const plan = planCreate(ctx, snap, stored, mode, rename);
  if (mode === "DryRun") {
    const conflicts = plan.filter((r) => r.status === "Failed").length;
    await writeStatus(ctx, inf.vmsops, op, {
      phase: OP_PHASE.completed,
      resources: plan,
      conditions: withConditions(op, [
        cond(
          COMPLETED,
          true,
          "OperationCompleted",
          conflicts
            ? `Dry run: nothing was changed; ${conflicts} resource(s) would fail.`
            : "Dry run: nothing was changed; the virtual machine would be created.",
        ),
      ]),
    });
    return;
  }
  if (hasFailure(plan)) {
    await fail("OperationFailed", "The virtual machine cannot be created: see status.resources.", {
      resources: plan,
    });
    return;
  }
  // Completed once the objects are created: the operation does not wait for the disks to be
  // provisioned (deckhouse/virtualization v1.10, images/virtualization-artifact/pkg/controller/
  // vmsop/internal/operation/create_virtual_machine.go Execute, then .../handler/lifecycle.go
  // sets OperationCompleted).
  await createFromSnapshot(ctx, snap, stored, mode, rename);
  await writeStatus(ctx, inf.vmsops, op, {
    phase: OP_PHASE.completed,
    resources: plan,
    conditions: withConditions(op, [
      cond(COMPLETED, true, "OperationCompleted", "The virtual machine is created."),
    ]),
  });
}
