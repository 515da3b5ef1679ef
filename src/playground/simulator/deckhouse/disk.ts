// VirtualDisk and VirtualImage/ClusterVirtualImage: provisioning (from a VirtualDiskSnapshot the
// disk gets the fingerprint the snapshot captured), capacity and resizing, attachment to VMs.
import { quantityBytes } from "../../../core/quantity.js";
import { keyOf, type KubeObject } from "../../../kube/resources.js";
import { SIM, annotation, parseDuration } from "../annotations.js";
import { IS_DEFAULT_SC, asObj } from "../storage.js";
import {
  CTRL,
  DH_SIM,
  SNAP_PHASE,
  VM_PHASE,
  cond,
  conditionOf,
  fingerprint,
  patch,
  phaseOf,
  vmsUsingDisk,
  withConditions,
  writeStatus,
  type DhContext,
} from "./context.js";

export const DISK_PHASE = {
  pending: "Pending",
  provisioning: "Provisioning",
  ready: "Ready",
  resizing: "Resizing",
  failed: "Failed",
} as const;

export const DEFAULT_RESIZE_DELAY_MS = 2000;
/** Pending → Provisioning → Ready, one short step each. */
const PROVISION_STEP_MS = 100;

export function registerDiskControllers(ctx: DhContext): void {
  const { rt, inf } = ctx;
  inf.disks.on((_e, d) => {
    rt.enqueue(CTRL.disk, keyOf(d));
    // Disks created from a snapshot wait for it; VMs wait for their disks.
    for (const vm of inf.vms.list())
      if (vm.metadata.namespace === d.metadata.namespace) rt.enqueue(CTRL.vm, keyOf(vm));
  });
  inf.diskSnapshots.on((_e, s) => {
    for (const d of inf.disks.list()) {
      const ref = asObj(d).spec?.dataSource?.objectRef;
      if (d.metadata.namespace === s.metadata.namespace && ref?.name === s.metadata.name)
        rt.enqueue(CTRL.disk, keyOf(d));
    }
  });
  inf.storageClasses.on(() => {
    for (const d of inf.disks.list()) rt.enqueue(CTRL.disk, keyOf(d));
  });
  rt.register(CTRL.disk, (key) => reconcileDisk(ctx, key));

  const onImage = (_e: string, o: KubeObject) => {
    rt.enqueue(CTRL.image, `${o.kind === "ClusterVirtualImage" ? "cluster" : "ns"}|${keyOf(o)}`);
    for (const vm of inf.vms.list()) rt.enqueue(CTRL.vm, keyOf(vm));
  };
  inf.images.on(onImage);
  inf.clusterImages.on(onImage);
  rt.register(CTRL.image, async (key) => {
    const [scope, k] = key.split("|") as [string, string];
    const informer = scope === "cluster" ? inf.clusterImages : inf.images;
    const image = ctx.fresh.get(informer, k);
    if (!image || image.metadata.deletionTimestamp) return;
    // Images are not what vmsnap protects: they are Ready at once, with a nominal size.
    await writeStatus(ctx, informer, image, {
      phase: "Ready",
      progress: "100%",
      cdrom: false,
      size: {
        stored: "512Mi",
        storedBytes: "536870912",
        unpacked: "1Gi",
        unpackedBytes: "1073741824",
      },
      conditions: withConditions(image, [cond("Ready", true, "Ready")]),
    });
  });
}

function requestedSize(disk: KubeObject): string | undefined {
  const size = asObj(disk).spec?.persistentVolumeClaim?.size as string | number | undefined;
  return size === undefined ? undefined : String(size);
}

function storageClassName(ctx: DhContext, disk: KubeObject): string | undefined {
  const name = asObj(disk).spec?.persistentVolumeClaim?.storageClassName as string | undefined;
  if (name) return name;
  return ctx.inf.storageClasses
    .list()
    .find((sc) => sc.metadata.annotations?.[IS_DEFAULT_SC] === "true")?.metadata.name;
}

function resizeDelayMs(disk: KubeObject): number {
  return parseDuration(annotation(disk, DH_SIM.resizeDelay)) ?? DEFAULT_RESIZE_DELAY_MS;
}

async function reconcileDisk(ctx: DhContext, key: string) {
  const { inf } = ctx;
  let disk = ctx.fresh.get(inf.disks, key);
  if (!disk || disk.metadata.deletionTimestamp) return;
  const ns = disk.metadata.namespace!;
  const uid = disk.metadata.uid!;
  const status = asObj(disk).status ?? {};
  const phase = status.phase as string | undefined;
  const size = requestedSize(disk);
  const sizeBytes = quantityBytes(size) ?? 0;

  const attached = vmsUsingDisk(ctx, ns, disk.metadata.name).map((vm) => ({
    name: vm.metadata.name,
    mounted:
      phaseOf(vm) !== undefined &&
      phaseOf(vm) !== VM_PHASE.stopped &&
      phaseOf(vm) !== VM_PHASE.pending,
  }));
  const common = {
    storageClassName: storageClassName(ctx, disk),
    target: { persistentVolumeClaimName: `vd-${disk.metadata.name}-${uid}` },
    attachedToVirtualMachines: attached.length ? attached : undefined,
    observedGeneration: disk.metadata.generation,
  };

  const fail = async (reason: string, message: string) => {
    await writeStatus(ctx, inf.disks, disk!, {
      ...common,
      phase: DISK_PHASE.failed,
      conditions: withConditions(disk!, [cond("Ready", false, reason, message)]),
    });
  };

  if (phase === DISK_PHASE.failed) return;

  // Provisioning: a disk from a snapshot starts with the snapshot's fingerprint.
  if (phase === undefined || phase === DISK_PHASE.pending || phase === DISK_PHASE.provisioning) {
    const ds = asObj(disk).spec?.dataSource as
      { type?: string; objectRef?: { kind?: string; name?: string } } | undefined;
    const fromSnapshot = ds?.type === "ObjectRef" && ds.objectRef?.kind === "VirtualDiskSnapshot";
    if (!size && !fromSnapshot) {
      await fail(
        "ProvisioningFailed",
        "spec.persistentVolumeClaim.size is required for a blank disk",
      );
      return;
    }
    let capacity = size;
    if (phase === undefined || phase === DISK_PHASE.pending) {
      await writeStatus(ctx, inf.disks, disk, {
        ...common,
        phase: DISK_PHASE.provisioning,
        progress: "0%",
        conditions: withConditions(disk, [
          cond("Ready", false, "Provisioning", "The disk is being provisioned."),
        ]),
      });
      return { requeueAfterMs: PROVISION_STEP_MS };
    }
    if (fromSnapshot) {
      const snapName = ds?.objectRef?.name ?? "";
      const snap = ctx.fresh.get(inf.diskSnapshots, `${ns}/${snapName}`);
      if (!snap) {
        await fail(
          "ProvisioningFailed",
          `VirtualDiskSnapshot "${snapName}" not found: the disk cannot be restored from it.`,
        );
        return;
      }
      const snapPhase = phaseOf(snap);
      if (snapPhase === SNAP_PHASE.failed) {
        await fail(
          "ProvisioningFailed",
          `VirtualDiskSnapshot "${snapName}" is Failed: the disk cannot be restored from it.`,
        );
        return;
      }
      if (snapPhase !== SNAP_PHASE.ready) {
        await writeStatus(ctx, inf.disks, disk, {
          ...common,
          conditions: withConditions(disk, [
            cond(
              "Ready",
              false,
              "Provisioning",
              `Waiting for VirtualDiskSnapshot "${snapName}" to be Ready.`,
            ),
          ]),
        });
        return;
      }
      // Test hook: disks provisioned from this snapshot (or its VM snapshot's) take this long.
      const owner = snap.metadata.ownerReferences?.find((o) => o.kind === "VirtualMachineSnapshot");
      const delay = parseDuration(
        annotation(snap, DH_SIM.provisionDelay) ??
          annotation(
            owner ? ctx.fresh.get(inf.vmSnapshots, `${ns}/${owner.name}`) : undefined,
            DH_SIM.provisionDelay,
          ),
      );
      const remaining =
        Date.parse(disk.metadata.creationTimestamp ?? "") + (delay ?? 0) - Date.now();
      if (delay !== undefined && remaining > 0) return { requeueAfterMs: remaining };
      const sourceSize = annotation(snap, DH_SIM.size);
      const sourceBytes = quantityBytes(sourceSize) ?? 0;
      // Without a size, the restored disk gets its source's.
      if (!size) capacity = sourceSize;
      else if (sizeBytes < sourceBytes) {
        await fail(
          "ProvisioningFailed",
          `The requested size ${size} is smaller than the size ${annotation(snap, DH_SIM.size)} of VirtualDiskSnapshot "${snapName}".`,
        );
        return;
      }
      const data = fingerprint(snap) ?? "";
      if (fingerprint(disk) !== data)
        disk = await patch(ctx, inf.disks, disk, {
          metadata: { annotations: { [SIM.data]: data } },
        });
    }
    await writeStatus(ctx, inf.disks, disk, {
      ...common,
      phase: DISK_PHASE.ready,
      progress: "100%",
      capacity,
      conditions: withConditions(disk, [
        cond("Ready", true, "Ready"),
        cond("Resized", false, "ResizingNotRequested"),
      ]),
    });
    return;
  }

  // Provisioned: resizing, the pinned phase, attachment.
  const pinned = annotation(disk, DH_SIM.diskPhase);
  const capacityBytes = quantityBytes(status.capacity as string | undefined) ?? 0;
  const sinceKey = `${uid}/resize`;
  let next: string = DISK_PHASE.ready;
  let capacity = status.capacity as string | undefined;
  let resized = conditionOf(disk, "Resized");
  let requeueAfterMs: number | undefined;
  if (sizeBytes > capacityBytes) {
    const started = ctx.since.get(sinceKey) ?? Date.now();
    ctx.since.set(sinceKey, started);
    const remaining = started + resizeDelayMs(disk) - Date.now();
    if (remaining > 0) {
      next = DISK_PHASE.resizing;
      resized = cond("Resized", false, "InProgress", "The disk is being resized.");
      requeueAfterMs = remaining;
    } else {
      ctx.since.delete(sinceKey);
      capacity = size;
      resized = cond("Resized", true, "Resized");
    }
  }
  if (pinned) next = pinned;
  await writeStatus(ctx, inf.disks, disk, {
    ...common,
    phase: next,
    capacity,
    conditions: withConditions(disk, [
      next === DISK_PHASE.ready || next === DISK_PHASE.resizing
        ? cond("Ready", true, "Ready")
        : cond("Ready", false, "NotReady", `The disk is ${next}.`),
      resized ?? cond("Resized", false, "ResizingNotRequested"),
    ]),
  });
  return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
}
