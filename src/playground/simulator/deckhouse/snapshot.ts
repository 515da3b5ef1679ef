// VirtualMachineSnapshot and VirtualDiskSnapshot: the consistency rules (guest agent freeze,
// requiredConsistency), child disk snapshots named <disk>-<vmsnapshot uid>, the Secret with the
// VM as it was, failure hooks, and clean-up on deletion (no garbage collector runs here).
import { IS_DEFAULT_SC, IS_DEFAULT_VSC, keyOf, type KubeObject } from "../../../kube/resources.js";
import { failures, hasGuestAgent, snapshotDelayMs, annotation } from "../annotations.js";
import { asObj, hasFinalizer, ignoreNotFound } from "../storage.js";
import {
  CTRL,
  DH_API_VERSION,
  DH_SIM,
  Deckhouse,
  SECRETS,
  SNAP_PHASE,
  VMSNAPSHOT_FINALIZER,
  VM_PHASE,
  cond,
  conditionOf,
  diskNamesOf,
  fingerprint,
  isPowered,
  ownerRef,
  patch,
  phaseOf,
  publicAnnotations,
  vmsUsingDisk,
  withConditions,
  writeStatus,
  type DhContext,
} from "./context.js";
import { DISK_PHASE } from "./disk.js";

const VD_READY = "VirtualDiskReady";
const VDS_READY = "VirtualDiskSnapshotReady";
const VM_READY = "VirtualMachineReady";
const VMS_READY = "VirtualMachineSnapshotReady";

export type Verdict =
  | { ok: true; consistent: boolean; freezing: boolean }
  | { ok: false; reason: string; message: string };

/** The consistency rule of the CRD description, for the VM the disks belong to (if any). */
export function consistencyVerdict(vm: KubeObject | undefined, required: boolean): Verdict {
  if (!vm || !isPowered(vm)) return { ok: true, consistent: true, freezing: false };
  const agent = hasGuestAgent(vm) && phaseOf(vm) === VM_PHASE.running;
  if (agent && !failures(vm).has("freeze")) return { ok: true, consistent: true, freezing: true };
  if (!required) return { ok: true, consistent: false, freezing: false };
  if (agent)
    return {
      ok: false,
      reason: "VirtualMachineSnapshotFailed",
      message: `Failed to freeze the filesystem of the virtual machine "${vm.metadata.name}": the guest agent reported an error; a consistent snapshot cannot be taken.`,
    };
  return {
    ok: false,
    reason: "PotentiallyInconsistent",
    message: `The virtual machine "${vm.metadata.name}" is running and its guest agent is not ready: the filesystem cannot be frozen, so the snapshot would be potentially inconsistent. Stop the virtual machine, or create the snapshot with requiredConsistency: false.`,
  };
}

function required(snap: KubeObject): boolean {
  return asObj(snap).spec?.requiredConsistency !== false;
}

function vmSnapshotOwner(snap: KubeObject) {
  return (snap.metadata.ownerReferences ?? []).find((o) => o.kind === "VirtualMachineSnapshot");
}

export function registerSnapshotControllers(ctx: DhContext): void {
  const { rt, inf } = ctx;
  const enqueueVmSnapshots = (ns: string, vmName?: string) => {
    for (const s of inf.vmSnapshots.list())
      if (
        s.metadata.namespace === ns &&
        (vmName === undefined || asObj(s).spec?.virtualMachineName === vmName)
      )
        rt.enqueue(CTRL.vmSnapshot, keyOf(s));
  };
  const enqueueDiskSnapshots = (ns: string, disks: string[]) => {
    for (const s of inf.diskSnapshots.list())
      if (s.metadata.namespace === ns && disks.includes(asObj(s).spec?.virtualDiskName))
        rt.enqueue(CTRL.diskSnapshot, keyOf(s));
  };
  inf.vmSnapshots.on((_e, s) => {
    rt.enqueue(CTRL.vmSnapshot, keyOf(s));
    for (const d of inf.diskSnapshots.list())
      if (
        d.metadata.namespace === s.metadata.namespace &&
        vmSnapshotOwner(d)?.uid === s.metadata.uid
      )
        rt.enqueue(CTRL.diskSnapshot, keyOf(d));
  });
  inf.diskSnapshots.on((_e, s) => {
    rt.enqueue(CTRL.diskSnapshot, keyOf(s));
    const owner = vmSnapshotOwner(s);
    if (owner) rt.enqueue(CTRL.vmSnapshot, `${s.metadata.namespace}/${owner.name}`);
  });
  inf.vms.on((_e, vm) => {
    enqueueVmSnapshots(vm.metadata.namespace!, vm.metadata.name);
    enqueueDiskSnapshots(vm.metadata.namespace!, diskNamesOf(vm));
  });
  inf.vmops.on((e, op) => {
    if (e === "delete") enqueueVmSnapshots(op.metadata.namespace!);
  });
  inf.disks.on((_e, d) => {
    enqueueVmSnapshots(d.metadata.namespace!);
    enqueueDiskSnapshots(d.metadata.namespace!, [d.metadata.name]);
  });
  rt.register(CTRL.diskSnapshot, (key) => reconcileDiskSnapshot(ctx, key));
  rt.register(CTRL.vmSnapshot, (key) => reconcileVmSnapshot(ctx, key));
}

/**
 * Why the disk's VolumeSnapshot gets no class, if it gets none. Deckhouse requests it without a
 * class (deckhouse/virtualization v1.10,
 * images/virtualization-artifact/pkg/controller/vdsnapshot/internal/life_cycle.go), so the CSI
 * snapshot-controller must find exactly one default VolumeSnapshotClass for the driver
 * (kubernetes-csi/external-snapshotter v8, pkg/common-controller/snapshot_controller.go,
 * SetDefaultSnapshotClass); its error fails the VirtualDiskSnapshot (same life_cycle.go).
 */
export function defaultSnapshotClassError(ctx: DhContext, disk: KubeObject): string | undefined {
  const driver = driverOfDisk(ctx, disk);
  const defaults = ctx.inf.volumeSnapshotClasses
    .list()
    .filter(
      (c) =>
        c.metadata.annotations?.[IS_DEFAULT_VSC] === "true" &&
        (c as { driver?: string }).driver === driver,
    );
  if (defaults.length === 0) return "cannot find default snapshot class";
  if (defaults.length > 1) return `${defaults.length} default snapshot classes were found`;
  return undefined;
}

/** The CSI driver of a disk: its StorageClass's provisioner. */
function driverOfDisk(ctx: DhContext, disk: KubeObject): string | undefined {
  const name =
    (asObj(disk).status?.storageClassName as string | undefined) ??
    (asObj(disk).spec?.persistentVolumeClaim?.storageClassName as string | undefined) ??
    ctx.inf.storageClasses.list().find((sc) => sc.metadata.annotations?.[IS_DEFAULT_SC] === "true")
      ?.metadata.name;
  const sc = ctx.inf.storageClasses.list().find((c) => c.metadata.name === name);
  return (sc as { provisioner?: string } | undefined)?.provisioner;
}

/** The VM a disk is attached to: a powered one first. */
function vmOfDisk(ctx: DhContext, ns: string, disk: string): KubeObject | undefined {
  const vms = vmsUsingDisk(ctx, ns, disk);
  return vms.find((v) => isPowered(v)) ?? vms[0];
}

async function reconcileDiskSnapshot(ctx: DhContext, key: string) {
  const { inf } = ctx;
  let snap = ctx.fresh.get(inf.diskSnapshots, key);
  if (!snap || snap.metadata.deletionTimestamp) return;
  const ns = snap.metadata.namespace!;
  // A child of a deleted VirtualMachineSnapshot goes by the garbage collector (kube-controller-manager).
  const owner = vmSnapshotOwner(snap);
  if (owner) {
    const parent = ctx.fresh.get(inf.vmSnapshots, `${ns}/${owner.name}`);
    if (!parent || parent.metadata.uid !== owner.uid) return;
  }
  const phase = phaseOf(snap);
  if (phase === SNAP_PHASE.ready || phase === SNAP_PHASE.failed) return;
  const diskName = asObj(snap).spec?.virtualDiskName as string;
  const disk = ctx.fresh.get(inf.disks, `${ns}/${diskName}`);
  const vm = vmOfDisk(ctx, ns, diskName);
  const volumeSnapshotName = `vds-${snap.metadata.uid}`;

  if (annotation(snap, DH_SIM.takenAt) === undefined) {
    // A missing or not-Ready disk fails the snapshot at once; it is not waited for
    // (deckhouse/virtualization v1.10, images/virtualization-artifact/pkg/controller/vdsnapshot/
    // internal/life_cycle.go and virtual_disk_ready.go).
    const diskPhase = disk && phaseOf(disk);
    if (!disk || diskPhase !== DISK_PHASE.ready) {
      await writeStatus(ctx, inf.diskSnapshots, snap, {
        phase: SNAP_PHASE.failed,
        conditions: withConditions(snap, [
          cond(
            VD_READY,
            false,
            "VirtualDiskNotReadyForSnapshotting",
            disk
              ? `The virtual disk "${diskName}" is in the "${diskPhase ?? ""}" phase: waiting for it to reach the Ready phase.`
              : `The virtual disk "${diskName}" was not found.`,
          ),
          cond(
            VDS_READY,
            false,
            "WaitingForTheVirtualDisk",
            `Cannot take a snapshot: the virtual disk "${diskName}" ${disk ? "is not ready" : "does not exist"}.`,
          ),
        ]),
      });
      return;
    }
    const verdict = consistencyVerdict(vm, required(snap));
    if (!verdict.ok) {
      await writeStatus(ctx, inf.diskSnapshots, snap, {
        phase: SNAP_PHASE.failed,
        conditions: withConditions(snap, [
          cond(VD_READY, true, "VirtualDiskReady"),
          cond(
            VDS_READY,
            false,
            verdict.reason === "PotentiallyInconsistent"
              ? verdict.reason
              : "VirtualDiskSnapshotFailed",
            verdict.message,
          ),
        ]),
      });
      return;
    }
    snap = await patch(ctx, inf.diskSnapshots, snap, {
      metadata: {
        annotations: {
          [DH_SIM.data]: fingerprint(disk) ?? "",
          [DH_SIM.size]: String(
            asObj(disk).status?.capacity ?? asObj(disk).spec?.persistentVolumeClaim?.size ?? "",
          ),
          [DH_SIM.takenAt]: new Date().toISOString(),
          [DH_SIM.consistent]: String(verdict.consistent),
        },
      },
    });
  }

  // The VolumeSnapshot gets its class (or the snapshot-controller's error) when it is created;
  // a VM snapshot's children are cut with it, so this holds for them too.
  const classError = disk && defaultSnapshotClassError(ctx, disk);
  if (classError) {
    await failVolumeSnapshot(
      ctx,
      snap,
      volumeSnapshotName,
      `VolumeSnapshot "${volumeSnapshotName}" has an error: Failed to set default snapshot class with error ${classError}.`,
    );
    return;
  }

  // Status.consistent is set to true or left out, never false (deckhouse/virtualization v1.10,
  // images/virtualization-artifact/pkg/controller/vdsnapshot/internal/life_cycle.go).
  const consistent = annotation(snap, DH_SIM.consistent) === "true" || undefined;
  const hooks = new Set([...failures(vm), ...failures(disk)]);
  const inProgress = {
    phase: SNAP_PHASE.inProgress,
    volumeSnapshotName,
    consistent,
    conditions: withConditions(snap, [
      cond(VD_READY, true, "VirtualDiskReady"),
      cond(VDS_READY, false, "Snapshotting", "The snapshot is being taken."),
    ]),
  };
  if (hooks.has("stuck")) {
    await writeStatus(ctx, inf.diskSnapshots, snap, inProgress);
    return;
  }
  const taken = Date.parse(annotation(snap, DH_SIM.takenAt) ?? "") || 0;
  const remaining = taken + snapshotDelayMs(vm ?? disk) - Date.now();
  if (remaining > 0) {
    await writeStatus(ctx, inf.diskSnapshots, snap, inProgress);
    return { requeueAfterMs: remaining };
  }
  if (hooks.has("volume-snapshot")) {
    await failVolumeSnapshot(
      ctx,
      snap,
      volumeSnapshotName,
      `VolumeSnapshot "${volumeSnapshotName}" of VirtualDisk "${diskName}" failed: simulated CSI error: rpc error: code = Internal desc = volume snapshot failed`,
      consistent,
    );
    return;
  }
  await writeStatus(ctx, inf.diskSnapshots, snap, {
    ...inProgress,
    phase: SNAP_PHASE.ready,
    conditions: withConditions(snap, [
      cond(VD_READY, true, "VirtualDiskReady"),
      cond(VDS_READY, true, "VirtualDiskSnapshotReady"),
    ]),
  });
}

/** The VolumeSnapshot failed: so does the VirtualDiskSnapshot (vdsnapshot life_cycle.go). */
async function failVolumeSnapshot(
  ctx: DhContext,
  snap: KubeObject,
  volumeSnapshotName: string,
  message: string,
  consistent?: true,
): Promise<void> {
  await writeStatus(ctx, ctx.inf.diskSnapshots, snap, {
    phase: SNAP_PHASE.failed,
    volumeSnapshotName,
    consistent,
    conditions: withConditions(snap, [
      cond(VD_READY, true, "VirtualDiskReady"),
      cond(VDS_READY, false, "VirtualDiskSnapshotFailed", message),
    ]),
  });
}

/** The serialized VM as the snapshot's Secret keeps it (data.vm). */
export interface StoredVm {
  apiVersion: string;
  kind: "VirtualMachine";
  metadata: {
    name: string;
    uid: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: Record<string, unknown>;
}

/** One VirtualDisk as the Secret keeps it (data.vds[]); the fingerprint is its annotation. */
export interface StoredDisk {
  apiVersion: string;
  kind: "VirtualDisk";
  metadata: { name: string; annotations: Record<string, string> };
  spec: Record<string, unknown>;
}

export function secretNameOf(snap: KubeObject): string | undefined {
  return asObj(snap).status?.virtualMachineSnapshotSecretName as string | undefined;
}

async function reconcileVmSnapshot(ctx: DhContext, key: string) {
  const { inf, client } = ctx;
  let snap = ctx.fresh.get(inf.vmSnapshots, key);
  if (!snap) return;
  const ns = snap.metadata.namespace!;
  const uid = snap.metadata.uid!;

  if (snap.metadata.deletionTimestamp) {
    if (!hasFinalizer(snap, VMSNAPSHOT_FINALIZER)) return;
    snap = await writeStatus(ctx, inf.vmSnapshots, snap, { phase: SNAP_PHASE.terminating });
    const children = inf.diskSnapshots
      .list()
      .filter((d) => d.metadata.namespace === ns && vmSnapshotOwner(d)?.uid === uid);
    for (const d of children)
      await client
        .delete(Deckhouse.diskSnapshots, d.metadata.name, ns, { uid: d.metadata.uid })
        .catch(ignoreNotFound);
    const secret = secretNameOf(snap);
    if (secret) await client.delete(SECRETS, secret, ns).catch(ignoreNotFound);
    if (children.length) return { requeueAfterMs: 200 };
    await patch(ctx, inf.vmSnapshots, snap, {
      metadata: {
        finalizers: (snap.metadata.finalizers ?? []).filter((f) => f !== VMSNAPSHOT_FINALIZER),
      },
    }).catch(ignoreNotFound);
    return;
  }
  // A clone's temporary snapshot goes with its operation, by the garbage collector.
  const opOwner = (snap.metadata.ownerReferences ?? []).find(
    (o) => o.kind === "VirtualMachineOperation",
  );
  if (opOwner && ctx.fresh.get(inf.vmops, `${ns}/${opOwner.name}`)?.metadata.uid !== opOwner.uid)
    return;
  if (!hasFinalizer(snap, VMSNAPSHOT_FINALIZER))
    snap = await patch(ctx, inf.vmSnapshots, snap, {
      metadata: { finalizers: [...(snap.metadata.finalizers ?? []), VMSNAPSHOT_FINALIZER] },
    });

  const phase = phaseOf(snap);
  if (phase === SNAP_PHASE.ready || phase === SNAP_PHASE.failed) return;
  const spec = asObj(snap).spec ?? {};
  const vmName = spec.virtualMachineName as string;
  const vm = ctx.fresh.get(inf.vms, `${ns}/${vmName}`);

  if (!secretNameOf(snap)) {
    // Before anything is taken, a VM that is missing, being deleted or not Running/Stopped, or
    // whose block devices are not Ready, fails the snapshot at once; it does not wait
    // (deckhouse/virtualization v1.10 line, HEAD cf3a9e6c4, images/virtualization-artifact/pkg/
    // controller/vmsnapshot/internal/virtual_machine_ready.go sets VirtualMachineReady, and
    // .../vmsnapshot/internal/life_cycle.go (Handle, ensureBlockDeviceConsistency) fails on it).
    const fail = async (vmReady: Record<string, unknown>, reason: string, message: string) => {
      await writeStatus(ctx, inf.vmSnapshots, snap!, {
        phase: SNAP_PHASE.failed,
        conditions: withConditions(snap!, [vmReady, cond(VMS_READY, false, reason, message)]),
      });
    };
    const notReadyVm = (message: string) =>
      fail(
        cond(VM_READY, false, "VirtualMachineNotReadyForSnapshotting", message),
        "WaitingForTheVirtualMachine",
        `Cannot take a snapshot: the virtual machine "${vmName}" is not ready.`,
      );
    if (!vm) {
      await fail(
        cond(
          VM_READY,
          false,
          "VirtualMachineNotReadyForSnapshotting",
          `The virtual machine "${vmName}" was not found.`,
        ),
        "WaitingForTheVirtualMachine",
        `Cannot take a snapshot: the virtual machine "${vmName}" does not exist.`,
      );
      return;
    }
    if (vm.metadata.deletionTimestamp) {
      await notReadyVm(`The virtual machine "${vmName}" is in the process of deletion.`);
      return;
    }
    const vmPhase = phaseOf(vm);
    if (vmPhase !== VM_PHASE.running && vmPhase !== VM_PHASE.stopped) {
      await notReadyVm(
        `The virtual machine "${vmName}" is in the "${vmPhase ?? ""}" phase: waiting for it to reach the Running or Stopped phase.`,
      );
      return;
    }
    const vmReady = cond(VM_READY, true, "VirtualMachineReady");
    if (conditionOf(vm, "BlockDevicesReady")?.status !== "True") {
      await fail(
        vmReady,
        "BlockDevicesNotReady",
        `Block devices not ready: waiting for the block devices of the virtual machine "${vmName}" to be ready.`,
      );
      return;
    }
    const disks = diskNamesOf(vm);
    const notReady = disks.find(
      (d) => phaseOf(ctx.fresh.get(inf.disks, `${ns}/${d}`)) !== DISK_PHASE.ready,
    );
    if (notReady !== undefined) {
      await fail(
        vmReady,
        "BlockDevicesNotReady",
        `Virtual disk not ready: waiting for the virtual disk "${notReady}" to be Ready.`,
      );
      return;
    }
    const verdict = consistencyVerdict(vm, spec.requiredConsistency !== false);
    if (!verdict.ok) {
      await writeStatus(ctx, inf.vmSnapshots, snap, {
        phase: SNAP_PHASE.failed,
        conditions: withConditions(snap, [
          cond(VM_READY, true, "VirtualMachineReady"),
          cond(VMS_READY, false, verdict.reason, verdict.message),
        ]),
      });
      return;
    }
    // Take it: the VM and its disks as they are now, one Secret and one child per disk.
    const diskObjs = disks.map((d) => ctx.fresh.get(inf.disks, `${ns}/${d}`)!);
    const storedVm: StoredVm = {
      apiVersion: DH_API_VERSION,
      kind: "VirtualMachine",
      metadata: {
        name: vm.metadata.name,
        uid: vm.metadata.uid!,
        labels: vm.metadata.labels ?? {},
        annotations: publicAnnotations(vm),
      },
      spec: asObj(vm).spec ?? {},
    };
    const storedDisks: StoredDisk[] = diskObjs.map((d) => ({
      apiVersion: DH_API_VERSION,
      kind: "VirtualDisk",
      metadata: { name: d.metadata.name, annotations: { [DH_SIM.data]: fingerprint(d) ?? "" } },
      spec: asObj(d).spec ?? {},
    }));
    const secretName = `d8v-vms-${snap.metadata.name}`.slice(0, 200);
    const secret: KubeObject = {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: secretName,
        namespace: ns,
        ownerReferences: [ownerRef(snap, "VirtualMachineSnapshot") as never],
      },
      data: {
        vm: Buffer.from(JSON.stringify(storedVm)).toString("base64"),
        vds: Buffer.from(JSON.stringify(storedDisks)).toString("base64"),
      },
    };
    await client.create(SECRETS, secret).catch(async (err: unknown) => {
      // A retry after a failed status write: replace what an earlier attempt left.
      if ((err as { code?: number }).code !== 409) throw err;
      await client.delete(SECRETS, secretName, ns).catch(ignoreNotFound);
      await client.create(SECRETS, secret);
    });
    const now = new Date().toISOString();
    const names: string[] = [];
    for (const d of diskObjs) {
      const name = `${d.metadata.name}-${uid}`;
      names.push(name);
      if (ctx.fresh.get(inf.diskSnapshots, `${ns}/${name}`)) continue;
      const child = await client
        .create(Deckhouse.diskSnapshots, {
          apiVersion: DH_API_VERSION,
          kind: "VirtualDiskSnapshot",
          metadata: {
            name,
            namespace: ns,
            ownerReferences: [ownerRef(snap, "VirtualMachineSnapshot") as never],
            // Taken with the VM snapshot, at one moment for all disks.
            annotations: {
              [DH_SIM.data]: fingerprint(d) ?? "",
              [DH_SIM.size]: String(asObj(d).status?.capacity ?? ""),
              [DH_SIM.takenAt]: now,
              [DH_SIM.consistent]: String(verdict.consistent),
            },
          },
          spec: {
            virtualDiskName: d.metadata.name,
            requiredConsistency: spec.requiredConsistency !== false,
          },
        })
        .catch(async (err: unknown) => {
          if ((err as { code?: number }).code !== 409) throw err;
          return undefined;
        });
      if (child) ctx.fresh.remember(inf.diskSnapshots, child);
    }
    const keepIp = (spec.keepIPAddress ?? "Always") === "Always";
    await writeStatus(ctx, inf.vmSnapshots, snap, {
      phase: SNAP_PHASE.inProgress,
      virtualMachineSnapshotSecretName: secretName,
      virtualDiskSnapshotNames: names,
      resources: [
        { apiVersion: DH_API_VERSION, kind: "VirtualMachine", name: vm.metadata.name },
        ...diskObjs.map((d) => ({
          apiVersion: DH_API_VERSION,
          kind: "VirtualDisk",
          name: d.metadata.name,
        })),
        ...(keepIp
          ? [
              {
                apiVersion: DH_API_VERSION,
                kind: "VirtualMachineIPAddress",
                name:
                  (asObj(vm).status?.virtualMachineIPAddressName as string | undefined) ??
                  vm.metadata.name,
              },
            ]
          : []),
      ],
      conditions: withConditions(snap, [
        cond(VM_READY, true, "VirtualMachineReady"),
        verdict.freezing
          ? cond(
              VMS_READY,
              false,
              "FileSystemFreezing",
              "The guest filesystem is frozen while the disks are snapshotted.",
            )
          : cond(VMS_READY, false, "Snapshotting", "The disks are being snapshotted."),
      ]),
    });
    return;
  }

  // In progress: follow the children.
  const names = (asObj(snap).status?.virtualDiskSnapshotNames ?? []) as string[];
  const children = names.map((n) => ({ n, s: ctx.fresh.get(inf.diskSnapshots, `${ns}/${n}`) }));
  const failed = children.filter((c) => phaseOf(c.s) === SNAP_PHASE.failed);
  if (failed.length) {
    const detail = failed
      .map((c) => {
        const msg = conditionOf(c.s, VDS_READY)?.message as string | undefined;
        return `VirtualDiskSnapshot "${c.n}" of VirtualDisk "${asObj(c.s!).spec?.virtualDiskName}" failed${msg ? `: ${msg}` : ""}`;
      })
      .join("; ");
    await writeStatus(ctx, inf.vmSnapshots, snap, {
      phase: SNAP_PHASE.failed,
      conditions: withConditions(snap, [
        cond(VMS_READY, false, "VirtualMachineSnapshotFailed", detail),
      ]),
    });
    return;
  }
  if (children.length && children.every((c) => phaseOf(c.s) === SNAP_PHASE.ready)) {
    await writeStatus(ctx, inf.vmSnapshots, snap, {
      phase: SNAP_PHASE.ready,
      // true or absent, never false (deckhouse/virtualization v1.10,
      // images/virtualization-artifact/pkg/controller/vmsnapshot/internal/life_cycle.go).
      consistent: children.every((c) => asObj(c.s!).status?.consistent === true) || undefined,
      conditions: withConditions(snap, [cond(VMS_READY, true, "VirtualMachineSnapshotReady")]),
    });
  } else if (!children.length) {
    // A VM without disks: nothing to snapshot but its configuration.
    await writeStatus(ctx, inf.vmSnapshots, snap, {
      phase: SNAP_PHASE.ready,
      consistent: true,
      conditions: withConditions(snap, [cond(VMS_READY, true, "VirtualMachineSnapshotReady")]),
    });
  }
}
