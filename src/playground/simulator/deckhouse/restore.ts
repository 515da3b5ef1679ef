// What VirtualMachineOperation Restore/Clone, VirtualMachineSnapshotOperation and the legacy
// VirtualMachineRestore share: reading a snapshot's Secret, renaming, planning (the resources a
// run would touch, with conflicts), creating a VM and disks from a snapshot, and the in-place
// restore's steps (maintenance, stop, data and spec back, power state back).
import { KubeApiError } from "../../../kube/client.js";
import type { KubeObject } from "../../../kube/resources.js";
import type { Informer } from "../../../kube/watch.js";
import { annotation } from "../annotations.js";
import { asObj } from "../storage.js";
import {
  DH_API_VERSION,
  DH_SIM,
  SECRETS,
  VM_PHASE,
  blockDeviceRefs,
  fingerprint,
  phaseOf,
  publicAnnotations,
  setAnnotations,
  vmsUsingDisk,
  type DhContext,
} from "./context.js";
import { DISK_PHASE } from "./disk.js";
import { secretNameOf, type StoredDisk, type StoredVm } from "./snapshot.js";
import { wantsPower } from "./vm.js";

export type Mode = "DryRun" | "Strict" | "BestEffort";

export interface ResourceStatus {
  apiVersion: string;
  kind: string;
  name: string;
  status: "InProgress" | "Completed" | "Failed";
  message: string;
}

export interface Stored {
  vm: StoredVm;
  disks: StoredDisk[];
}

/** The VM and disks a snapshot saved, from its Secret; undefined when unreadable. */
export async function readStored(ctx: DhContext, snap: KubeObject): Promise<Stored | undefined> {
  const name = secretNameOf(snap);
  if (!name) return undefined;
  const secret = await ctx.client.getIfExists(SECRETS, name, snap.metadata.namespace);
  const data = secret?.data as { vm?: string; vds?: string } | undefined;
  if (!data?.vm || !data.vds) return undefined;
  const decode = (b64: string) =>
    JSON.parse(Buffer.from(b64, "base64").toString("utf8")) as unknown;
  return { vm: decode(data.vm) as StoredVm, disks: decode(data.vds) as StoredDisk[] };
}

export interface NameReplacement {
  from: { kind?: string; name: string };
  to: string;
}

/** nameReplacement (kind+name match, plain-string `to`) first, then prefix and suffix. */
export function renamer(
  replacements: NameReplacement[] = [],
  customization: { namePrefix?: string; nameSuffix?: string } = {},
): (kind: string, name: string) => string {
  return (kind, name) => {
    const r = replacements.find(
      (x) => x.from.name === name && (x.from.kind === undefined || x.from.kind === kind),
    );
    return `${customization.namePrefix ?? ""}${r ? r.to : name}${customization.nameSuffix ?? ""}`;
  };
}

export function diskSnapshotName(snap: KubeObject, disk: string): string {
  return `${disk}-${snap.metadata.uid}`;
}

function imageExists(ctx: DhContext, ns: string, kind: string, name: string): boolean {
  return kind === "VirtualImage"
    ? Boolean(ctx.fresh.get(ctx.inf.images, `${ns}/${name}`))
    : Boolean(ctx.fresh.get(ctx.inf.clusterImages, name));
}

function res(
  kind: string,
  name: string,
  status: ResourceStatus["status"],
  message: string,
): ResourceStatus {
  return { apiVersion: DH_API_VERSION, kind, name, status, message };
}

/** Image references of the stored VM that no longer exist. */
function missingImages(ctx: DhContext, ns: string, stored: Stored) {
  return blockDeviceRefs({ metadata: { name: "" }, spec: stored.vm.spec }).filter(
    (r) => r.kind !== "VirtualDisk" && !imageExists(ctx, ns, r.kind, r.name),
  );
}

/**
 * The resources an in-place restore touches, with conflicts as Failed: a disk now attached to
 * another VM, a missing disk snapshot, a missing image (dropped with BestEffort).
 */
export function planRestore(
  ctx: DhContext,
  snap: KubeObject,
  vm: KubeObject,
  stored: Stored,
  mode: Mode,
  rename: (kind: string, name: string) => string = (_k, n) => n,
): ResourceStatus[] {
  const ns = snap.metadata.namespace!;
  const out: ResourceStatus[] = [
    res(
      "VirtualMachine",
      vm.metadata.name,
      "Completed",
      "The configuration is restored from the snapshot.",
    ),
  ];
  for (const d of stored.disks) {
    const name = rename("VirtualDisk", d.metadata.name);
    const vds = diskSnapshotName(snap, d.metadata.name);
    const others = vmsUsingDisk(ctx, ns, name).filter((v) => v.metadata.name !== vm.metadata.name);
    if (!ctx.fresh.get(ctx.inf.diskSnapshots, `${ns}/${vds}`))
      out.push(res("VirtualDisk", name, "Failed", `VirtualDiskSnapshot "${vds}" not found.`));
    else if (others.length)
      out.push(
        res(
          "VirtualDisk",
          name,
          "Failed",
          `The disk is in use by VirtualMachine "${others[0]!.metadata.name}".`,
        ),
      );
    else if (ctx.fresh.get(ctx.inf.disks, `${ns}/${name}`))
      out.push(
        res(
          "VirtualDisk",
          name,
          "Completed",
          `The data is restored from VirtualDiskSnapshot "${vds}".`,
        ),
      );
    else
      out.push(
        res(
          "VirtualDisk",
          name,
          "Completed",
          `The disk is re-created from VirtualDiskSnapshot "${vds}".`,
        ),
      );
  }
  for (const r of missingImages(ctx, ns, stored))
    out.push(
      mode === "BestEffort"
        ? res(
            r.kind,
            r.name,
            "Completed",
            `${r.kind} "${r.name}" not found: dropped from the VM (BestEffort).`,
          )
        : res(r.kind, r.name, "Failed", `${r.kind} "${r.name}" not found.`),
    );
  for (const r of (asObj(snap).status?.resources ?? []) as { kind: string; name: string }[])
    if (r.kind === "VirtualMachineIPAddress")
      out.push(res(r.kind, r.name, "Completed", "The IP address is kept."));
  return out;
}

/** The resources creating a VM from the snapshot makes, with name conflicts as Failed. */
export function planCreate(
  ctx: DhContext,
  snap: KubeObject,
  stored: Stored,
  mode: Mode,
  rename: (kind: string, name: string) => string,
): ResourceStatus[] {
  const ns = snap.metadata.namespace!;
  const vmName = rename("VirtualMachine", stored.vm.metadata.name);
  const out: ResourceStatus[] = [
    ctx.fresh.get(ctx.inf.vms, `${ns}/${vmName}`)
      ? res("VirtualMachine", vmName, "Failed", `VirtualMachine "${vmName}" already exists.`)
      : res("VirtualMachine", vmName, "Completed", "The virtual machine is created."),
  ];
  for (const d of stored.disks) {
    const name = rename("VirtualDisk", d.metadata.name);
    const vds = diskSnapshotName(snap, d.metadata.name);
    out.push(
      ctx.fresh.get(ctx.inf.disks, `${ns}/${name}`)
        ? res("VirtualDisk", name, "Failed", `VirtualDisk "${name}" already exists.`)
        : !ctx.fresh.get(ctx.inf.diskSnapshots, `${ns}/${vds}`)
          ? res("VirtualDisk", name, "Failed", `VirtualDiskSnapshot "${vds}" not found.`)
          : res(
              "VirtualDisk",
              name,
              "Completed",
              `The disk is created from VirtualDiskSnapshot "${vds}".`,
            ),
    );
  }
  for (const r of missingImages(ctx, ns, stored))
    out.push(
      mode === "BestEffort"
        ? res(
            r.kind,
            r.name,
            "Completed",
            `${r.kind} "${r.name}" not found: dropped from the VM (BestEffort).`,
          )
        : res(r.kind, r.name, "Failed", `${r.kind} "${r.name}" not found.`),
    );
  return out;
}

export function hasFailure(resources: ResourceStatus[]): boolean {
  return resources.some((r) => r.status === "Failed");
}

/** The stored spec with renamed disks; BestEffort drops missing images. */
function specFor(
  ctx: DhContext,
  ns: string,
  stored: Stored,
  mode: Mode,
  rename: (kind: string, name: string) => string,
): Record<string, unknown> {
  const refs = (stored.vm.spec.blockDeviceRefs ?? []) as { kind?: string; name: string }[];
  return {
    ...stored.vm.spec,
    blockDeviceRefs: refs
      .filter(
        (r) =>
          mode !== "BestEffort" ||
          (r.kind ?? "VirtualDisk") === "VirtualDisk" ||
          imageExists(ctx, ns, r.kind!, r.name),
      )
      .map((r) =>
        (r.kind ?? "VirtualDisk") === "VirtualDisk"
          ? { ...r, name: rename("VirtualDisk", r.name) }
          : r,
      ),
  };
}

function diskFromSnapshot(ns: string, name: string, stored: StoredDisk, vds: string): KubeObject {
  return {
    apiVersion: DH_API_VERSION,
    kind: "VirtualDisk",
    metadata: { name, namespace: ns },
    spec: {
      persistentVolumeClaim: (stored.spec.persistentVolumeClaim ?? {}) as Record<string, unknown>,
      dataSource: { type: "ObjectRef", objectRef: { kind: "VirtualDiskSnapshot", name: vds } },
    },
  };
}

async function createIgnoringExisting(
  ctx: DhContext,
  inf: Informer,
  body: KubeObject,
): Promise<void> {
  try {
    const out = await ctx.client.create(inf.type, body);
    ctx.fresh.remember(inf, out);
  } catch (err) {
    // An earlier attempt of this step created it already.
    if (!(err instanceof KubeApiError && err.code === 409)) throw err;
  }
}

/** Creates the new VM and its disks (from the snapshot's disk snapshots) under new names. */
export async function createFromSnapshot(
  ctx: DhContext,
  snap: KubeObject,
  stored: Stored,
  mode: Mode,
  rename: (kind: string, name: string) => string,
): Promise<string[]> {
  const ns = snap.metadata.namespace!;
  const disks: string[] = [];
  for (const d of stored.disks) {
    const name = rename("VirtualDisk", d.metadata.name);
    disks.push(name);
    await createIgnoringExisting(
      ctx,
      ctx.inf.disks,
      diskFromSnapshot(ns, name, d, diskSnapshotName(snap, d.metadata.name)),
    );
  }
  const spec = specFor(ctx, ns, stored, mode, rename);
  // A new VM gets a new address: the saved IP address claim is not carried over.
  delete spec.virtualMachineIPAddressName;
  await createIgnoringExisting(ctx, ctx.inf.vms, {
    apiVersion: DH_API_VERSION,
    kind: "VirtualMachine",
    metadata: {
      name: rename("VirtualMachine", stored.vm.metadata.name),
      namespace: ns,
      labels: stored.vm.metadata.labels,
      annotations: publicAnnotations({ metadata: { annotations: stored.vm.metadata.annotations } }),
    },
    spec,
  });
  return disks;
}

export function disksReady(ctx: DhContext, ns: string, names: string[]): boolean {
  return names.every(
    (n) => phaseOf(ctx.fresh.get(ctx.inf.disks, `${ns}/${n}`)) === DISK_PHASE.ready,
  );
}

export const STEP = {
  stopping: "Stopping",
  waitingDisks: "WaitingDisks",
  starting: "Starting",
} as const;

export type RestoreProgress =
  | { state: "inProgress"; message: string }
  | { state: "done" }
  | { state: "failed"; message: string };

/**
 * One step of an in-place restore, driven by the operation's step annotation: enter maintenance
 * (the VM stops, its power state is saved), restore each disk's data (re-creating missing disks
 * from their snapshots) and the VM's spec, wait for the disks, leave maintenance with the saved
 * power state, and wait for the VM to settle.
 */
export async function restoreStep(
  ctx: DhContext,
  opInf: Informer,
  op: KubeObject,
  snap: KubeObject,
  vm: KubeObject,
  stored: Stored,
  mode: Mode,
  rename: (kind: string, name: string) => string = (_k, n) => n,
): Promise<RestoreProgress> {
  const ns = vm.metadata.namespace!;
  const step = annotation(op, DH_SIM.step);
  if (step === undefined) {
    const running = phaseOf(vm) !== VM_PHASE.stopped && phaseOf(vm) !== VM_PHASE.pending;
    await setAnnotations(ctx, opInf, op, {
      [DH_SIM.step]: STEP.stopping,
      [DH_SIM.savedPower]: running ? "on" : "off",
    });
    await setAnnotations(ctx, ctx.inf.vms, vm, { [DH_SIM.maintenance]: op.metadata.name });
    return {
      state: "inProgress",
      message: "Entering maintenance mode: stopping the virtual machine.",
    };
  }
  if (step === STEP.stopping) {
    if (annotation(vm, DH_SIM.maintenance) !== op.metadata.name)
      await setAnnotations(ctx, ctx.inf.vms, vm, { [DH_SIM.maintenance]: op.metadata.name });
    if (phaseOf(vm) !== VM_PHASE.stopped && phaseOf(vm) !== VM_PHASE.pending)
      return { state: "inProgress", message: "Waiting for the virtual machine to stop." };
    for (const d of stored.disks) {
      const name = rename("VirtualDisk", d.metadata.name);
      const vdsName = diskSnapshotName(snap, d.metadata.name);
      const vds = ctx.fresh.get(ctx.inf.diskSnapshots, `${ns}/${vdsName}`);
      const live = ctx.fresh.get(ctx.inf.disks, `${ns}/${name}`);
      if (live) {
        const data = fingerprint(vds) ?? d.metadata.annotations[DH_SIM.data] ?? "";
        await setAnnotations(ctx, ctx.inf.disks, live, { [DH_SIM.data]: data });
      } else {
        await createIgnoringExisting(ctx, ctx.inf.disks, diskFromSnapshot(ns, name, d, vdsName));
      }
    }
    // The spec goes back as stored: a whole replacement, not a merge.
    const current = await ctx.client.get(ctx.inf.vms.type, vm.metadata.name, ns);
    const replaced = await ctx.client.replace(ctx.inf.vms.type, {
      ...current,
      spec: specFor(ctx, ns, stored, mode, rename),
    });
    ctx.fresh.remember(ctx.inf.vms, replaced);
    await setAnnotations(ctx, opInf, op, { [DH_SIM.step]: STEP.waitingDisks });
    return { state: "inProgress", message: "Restoring the disks." };
  }
  const disks = stored.disks.map((d) => rename("VirtualDisk", d.metadata.name));
  if (step === STEP.waitingDisks) {
    const failed = disks.filter(
      (n) => phaseOf(ctx.fresh.get(ctx.inf.disks, `${ns}/${n}`)) === DISK_PHASE.failed,
    );
    if (failed.length)
      return { state: "failed", message: `VirtualDisk "${failed[0]}" failed to be restored.` };
    if (!disksReady(ctx, ns, disks))
      return { state: "inProgress", message: "Waiting for the disks." };
    await setAnnotations(ctx, ctx.inf.vms, vm, {
      [DH_SIM.maintenance]: null,
      [DH_SIM.power]: annotation(op, DH_SIM.savedPower) ?? "off",
    });
    await setAnnotations(ctx, opInf, op, { [DH_SIM.step]: STEP.starting });
    return { state: "inProgress", message: "Leaving maintenance mode." };
  }
  // Starting: the VM settles in the power state it had.
  const settledPhase = wantsPower(vm) ? VM_PHASE.running : VM_PHASE.stopped;
  if (annotation(vm, DH_SIM.maintenance) || phaseOf(vm) !== settledPhase)
    return {
      state: "inProgress",
      message: "Waiting for the virtual machine to return to its power state.",
    };
  return { state: "done" };
}
