// Shared state of the vSphere VM Operator simulator: resource types, names from the upstream API
// (vmware-tanzu/vm-operator api/v1alpha5, controllers/virtualmachinesnapshot), informers, and
// small helpers over real-shaped objects.
import type { KubeClient } from "../../../kube/client.js";
import type { KubeObject, ResourceType } from "../../../kube/resources.js";
import type { Informer } from "../../../kube/watch.js";
import { SIM, annotation } from "../annotations.js";
import {
  Fresh,
  conditionOf,
  patchObject,
  statusPatch,
  writeStatusOf,
  type Runtime,
} from "../runtime.js";
import { asObj, type StorageInformers } from "../storage.js";
import { condition, jsonEqual, mergeConditions } from "../kubevirt/context.js";

export { Fresh, conditionOf, statusPatch };

export { condition, jsonEqual, mergeConditions };

export const VMOP_GROUP = "vmoperator.vmware.com";

export const VmOp = {
  vms: {
    group: VMOP_GROUP,
    version: "v1alpha5",
    plural: "virtualmachines",
    kind: "VirtualMachine",
    namespaced: true,
  },
  snapshots: {
    group: VMOP_GROUP,
    version: "v1alpha5",
    plural: "virtualmachinesnapshots",
    kind: "VirtualMachineSnapshot",
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

export const SNAPSHOT_FINALIZER = "vmoperator.vmware.com/virtualmachinesnapshot";
export const VM_NAME_LABEL = "snapshot.vmoperator.vmware.com/vm-name";

export const COND = {
  created: "VirtualMachineSnapshotCreated",
  csiSynced: "VirtualMachineSnapshotCSISynced",
  ready: "VirtualMachineSnapshotReady",
  revert: "VirtualMachineSnapshotRevertSucceeded",
} as const;

export const REASON = {
  creationInProgress: "VirtualMachineSnapshotCreationInProgress",
  creationFailed: "VirtualMachineSnapshotCreationFailed",
  csiSyncInProgress: "VirtualMachineSnapshotCSISyncInProgress",
  waitingForCreation: "VirtualMachineSnapshotWaitingForCreation",
  waitingForCsiSync: "VirtualMachineSnapshotWaitingForCSISync",
  revertInProgress: "VirtualMachineSnapshotRevertInProgress",
  revertTaskFailed: "VirtualMachineSnapshotRevertTaskFailed",
  revertSkipped: "VirtualMachineSnapshotRevertSkipped",
  revertFailed: "VirtualMachineSnapshotRevertFailed",
  revertFailedInvalidManifest: "VirtualMachineSnapshotRevertFailedInvalidVMManifest",
  /** pkg/conditions MarkTrue: a True condition's reason is "True". */
  true: "True",
} as const;

/** Simulator bookkeeping on a VirtualMachineSnapshot (annotations are never pruned). */
export const VMOP_SIM = {
  /** JSON {"boot": "...", "volumes": {"<claim>": "..."}}: the disks' fingerprints when taken. */
  data: SIM.data,
  /** JSON {spec, labels, annotations} of the VM when taken (VM Operator keeps it in ExtraConfig). */
  vm: "sim.vmsnap.io/vm",
  /** The parent snapshot in the VM's snapshot tree; "" for a root. */
  parent: "sim.vmsnap.io/parent",
  /** When the snapshot was taken (ISO, milliseconds). */
  takenAt: "sim.vmsnap.io/taken-at",
} as const;

export const POWER = {
  on: "PoweredOn",
  off: "PoweredOff",
  suspended: "Suspended",
} as const;

/** Memory saved with a memory snapshot: the VM class is not simulated, so one fixed size. */
export const MEMORY_SIZE = "4Gi";

export type VmopInformers = Pick<
  StorageInformers,
  "pvcs" | "storageClasses" | "volumeSnapshots"
> & {
  vms: Informer;
  snapshots: Informer;
};

export interface VmopContext {
  rt: Runtime;
  client: KubeClient;
  inf: VmopInformers;
  fresh: Fresh;
  /** Order in which the watch delivered snapshots (creationTimestamp has one-second resolution). */
  seq: Map<string, number>;
  ids: { vm: number; snapshot: number };
}

export const VM_CONTROLLER = "vmoperator-vm";
export const SNAPSHOT_CONTROLLER = "vmoperator-snapshot";
export const FIELD_MANAGER = "vmoperator-simulator";

/** A merge patch through the client, remembered for read-your-writes. */
export const patch = (
  ctx: VmopContext,
  inf: Informer,
  obj: KubeObject,
  body: unknown,
  subresource?: "status",
): Promise<KubeObject> => patchObject(ctx, FIELD_MANAGER, inf, obj, body, subresource);

export const writeStatus = (
  ctx: VmopContext,
  inf: Informer,
  obj: KubeObject,
  desired: Record<string, unknown>,
): Promise<KubeObject> => writeStatusOf(ctx, FIELD_MANAGER, inf, obj, desired);

export function isTrue(obj: KubeObject | undefined, type: string): boolean {
  return conditionOf(obj, type)?.status === "True";
}

/** The VM's desired power state (VM Operator's mutating webhook defaults it to PoweredOn). */
export function powerStateOf(vm: KubeObject): string {
  const p = asObj(vm).spec?.powerState as string | undefined;
  return p === POWER.off || p === POWER.suspended ? p : POWER.on;
}

/** PVC claim names of spec.volumes[].persistentVolumeClaim. */
export function claimsOf(vm: KubeObject): string[] {
  const volumes = (asObj(vm).spec?.volumes ?? []) as {
    persistentVolumeClaim?: { claimName?: string };
  }[];
  return volumes
    .map((v) => v.persistentVolumeClaim?.claimName)
    .filter((c): c is string => typeof c === "string" && c !== "");
}

/** VKS/TKG nodes carry Cluster API labels (upstream checks capv/capw `cluster.role`). */
export function isVksNode(vm: KubeObject): boolean {
  return Object.keys(vm.metadata.labels ?? {}).some(
    (k) =>
      k.startsWith("cluster.x-k8s.io/") ||
      k.startsWith("capv.vmware.com/") ||
      k.startsWith("capw.vmware.com/"),
  );
}

/** Why VM Operator's snapshot webhook would refuse a snapshot of this VM, if it would. */
export function snapshotRefusal(vm: KubeObject): string | undefined {
  if (isVksNode(vm)) return "snapshots are not allowed for VKS/TKG nodes";
  const controllers = (asObj(vm).spec?.hardware?.scsiControllers ?? []) as {
    busNumber?: number;
    sharingMode?: string;
  }[];
  const shared = controllers.filter((c) => (c.sharingMode ?? "None") !== "None");
  if (shared.length) {
    return shared
      .map(
        (c) =>
          `controller type SCSIControllers bus ${c.busNumber ?? 0} is using unsupported sharingMode for snapshot: ${c.sharingMode}: supported values: "None"`,
      )
      .join("; ");
  }
  return undefined;
}

export function vmNameOf(snap: KubeObject): string | undefined {
  const n = asObj(snap).spec?.vmName as string | undefined;
  return n ? n : undefined;
}

export function parentOf(snap: KubeObject): string | undefined {
  return annotation(snap, VMOP_SIM.parent);
}

export function takenAt(snap: KubeObject): number | undefined {
  const t = annotation(snap, VMOP_SIM.takenAt);
  const ms = t ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

export interface SavedVm {
  spec: Record<string, unknown>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface SavedData {
  boot: string;
  volumes: Record<string, string>;
}

export function savedVm(snap: KubeObject): SavedVm | undefined {
  return parseJson<SavedVm>(annotation(snap, VMOP_SIM.vm));
}

export function savedData(snap: KubeObject): SavedData | undefined {
  return parseJson<SavedData>(annotation(snap, VMOP_SIM.data));
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** Oldest first: creationTimestamp, then the order the watch delivered them, then name. */
export function byAge(ctx: VmopContext): (a: KubeObject, b: KubeObject) => number {
  return (a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
    if (ta !== tb) return ta - tb;
    const sa = ctx.seq.get(a.metadata.uid ?? "") ?? Infinity;
    const sb = ctx.seq.get(b.metadata.uid ?? "") ?? Infinity;
    if (sa !== sb) return sa < sb ? -1 : 1;
    return a.metadata.name.localeCompare(b.metadata.name);
  };
}

/** The VM's snapshots (spec.vmName), freshest copies, oldest first. */
export function snapshotsOf(ctx: VmopContext, vm: KubeObject): KubeObject[] {
  return ctx.fresh
    .list(ctx.inf.snapshots)
    .filter(
      (s) => s.metadata.namespace === vm.metadata.namespace && vmNameOf(s) === vm.metadata.name,
    )
    .sort(byAge(ctx));
}

/** A moref-like id, "<prefix>-<n>", unique among the ids the cluster already shows. */
export function nextUniqueId(ctx: VmopContext, kind: "vm" | "snapshot"): string {
  const inf = kind === "vm" ? ctx.inf.vms : ctx.inf.snapshots;
  let max = ctx.ids[kind];
  for (const o of inf.list()) {
    const m = /^[a-z]+-(\d+)$/.exec(String(asObj(o).status?.uniqueID ?? ""));
    if (m) max = Math.max(max, Number(m[1]));
  }
  ctx.ids[kind] = max + 1;
  return `${kind}-${max + 1}`;
}

const UNITS: [string, number][] = [
  ["Ti", 2 ** 40],
  ["Gi", 2 ** 30],
  ["Mi", 2 ** 20],
  ["Ki", 2 ** 10],
];

/** A byte count as a Kubernetes quantity, binary suffix when exact ("14Gi"), else plain bytes. */
export function formatBytes(bytes: number): string {
  for (const [suffix, size] of UNITS) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}
