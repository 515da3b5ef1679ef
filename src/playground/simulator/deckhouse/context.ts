// Shared state of the Deckhouse virtualization simulator (virtualization.deckhouse.io/v1alpha2):
// informers, condition/reason names from the upstream API (deckhouse/virtualization
// api/core/v1alpha2/*condition), and small helpers over real-shaped objects.
import { createHash } from "node:crypto";
import type { KubeClient } from "../../../kube/client.js";
import { Deckhouse, keyOf, type KubeObject, type ResourceType } from "../../../kube/resources.js";
import type { Informer } from "../../../kube/watch.js";
import { SIM, annotation } from "../annotations.js";
import { conditionOf, patchObject, writeStatusOf, type Runtime } from "../runtime.js";
import { asObj } from "../storage.js";
import { condition, jsonEqual, mergeConditions } from "../kubevirt/context.js";
import { Fresh } from "../vmoperator/context.js";

export { Deckhouse, condition, conditionOf, jsonEqual, mergeConditions, Fresh };

export const DH_GROUP = Deckhouse.vms.group;
export const DH_API_VERSION = `${DH_GROUP}/v1alpha2`;

/** Simulator bookkeeping and Deckhouse-only test hooks (the shared keys are in SIM). */
export const DH_SIM = {
  data: SIM.data,
  /** Test hook on a VirtualDisk: pins its phase (e.g. "Resizing"). */
  diskPhase: "sim.vmsnap.io/disk-phase",
  /** Test hook on a VirtualDisk: how long a resize takes (default 2 s). */
  resizeDelay: "sim.vmsnap.io/resize-delay",
  /** VM power as the user last asked for it ("on" | "off"); the simulator's stand-in for the KVVM. */
  power: "sim.vmsnap.io/power",
  /** JSON of the VM spec the running guest started with (restart-awaiting changes). */
  appliedSpec: "sim.vmsnap.io/applied-spec",
  /** Name of the operation holding the VM in maintenance mode (restore). */
  maintenance: "sim.vmsnap.io/maintenance",
  /** On a VirtualDiskSnapshot: the source disk's capacity when taken. */
  size: "sim.vmsnap.io/size",
  /** On an operation: its current step and the VM's saved power state. */
  step: "sim.vmsnap.io/step",
  savedPower: "sim.vmsnap.io/saved-power",
  /** On a VirtualDiskSnapshot: when the fingerprint was captured, and whether consistently. */
  takenAt: "sim.vmsnap.io/taken-at",
  consistent: "sim.vmsnap.io/consistent",
  /**
   * Test hook on a VirtualMachineSnapshot or VirtualDiskSnapshot: how long a disk provisioned from
   * it stays Provisioning.
   */
  provisionDelay: "sim.vmsnap.io/provision-delay",
  /** Test hook on a Migrate/Evict operation (or its VM): how long the migration takes (default 3 s). */
  migrationDuration: "sim.vmsnap.io/migration-duration",
  /** On a VM: the Migrate/Evict operation migrating it now (the VM is Migrating meanwhile). */
  migrating: "sim.vmsnap.io/migrating",
} as const;

/** Keys the simulator writes for itself: never copied into snapshots, clones or restores. */
export const INTERNAL_ANNOTATIONS: string[] = [
  DH_SIM.power,
  DH_SIM.appliedSpec,
  DH_SIM.maintenance,
  DH_SIM.migrating,
];

export const VM_PHASE = {
  pending: "Pending",
  starting: "Starting",
  running: "Running",
  migrating: "Migrating",
  stopping: "Stopping",
  stopped: "Stopped",
} as const;

export const SNAP_PHASE = {
  pending: "Pending",
  inProgress: "InProgress",
  ready: "Ready",
  failed: "Failed",
  terminating: "Terminating",
} as const;

export const OP_PHASE = {
  pending: "Pending",
  inProgress: "InProgress",
  completed: "Completed",
  failed: "Failed",
  terminating: "Terminating",
  superseded: "Superseded",
} as const;

export const VMSNAPSHOT_FINALIZER = "virtualization.deckhouse.io/vmsnapshot-controller";

export interface DhInformers {
  vms: Informer;
  disks: Informer;
  vmSnapshots: Informer;
  diskSnapshots: Informer;
  vmops: Informer;
  vmsops: Informer;
  images: Informer;
  clusterImages: Informer;
  storageClasses: Informer;
  volumeSnapshotClasses: Informer;
  /** The legacy VirtualMachineRestore (its CRD is optional). */
  vmRestores: Informer;
}

export interface DhContext {
  rt: Runtime;
  client: KubeClient;
  inf: DhInformers;
  fresh: Fresh;
  /** When a timed transition began, by "<uid>/<what>" (VM power, disk resize). */
  since: Map<string, number>;
}

export const CTRL = {
  vm: "deckhouse-vm",
  disk: "deckhouse-disk",
  image: "deckhouse-image",
  vmSnapshot: "deckhouse-vmsnapshot",
  diskSnapshot: "deckhouse-vdsnapshot",
  vmop: "deckhouse-vmop",
  vmsop: "deckhouse-vmsop",
  vmRestore: "deckhouse-vmrestore",
} as const;

export const FIELD_MANAGER = "deckhouse-simulator";

/** Secrets are read and written one by one (no informer: the cluster's Secrets are not ours). */
export const SECRETS: ResourceType = {
  group: "",
  version: "v1",
  plural: "secrets",
  kind: "Secret",
  namespaced: true,
};

export const patch = (
  ctx: DhContext,
  inf: Informer,
  obj: KubeObject,
  body: unknown,
  subresource?: "status",
): Promise<KubeObject> => patchObject(ctx, FIELD_MANAGER, inf, obj, body, subresource);

export const writeStatus = (
  ctx: DhContext,
  inf: Informer,
  obj: KubeObject,
  desired: Record<string, unknown>,
): Promise<KubeObject> => writeStatusOf(ctx, FIELD_MANAGER, inf, obj, desired);

export async function setAnnotations(
  ctx: DhContext,
  inf: Informer,
  obj: KubeObject,
  annotations: Record<string, string | null>,
): Promise<KubeObject> {
  const current = obj.metadata.annotations ?? {};
  const changed = Object.entries(annotations).some(([k, v]) =>
    v === null ? k in current : current[k] !== v,
  );
  if (!changed) return obj;
  return patch(ctx, inf, obj, { metadata: { annotations } });
}

/** A condition with the conditions' required fields (reason is never empty upstream). */
export function cond(
  type: string,
  status: boolean,
  reason: string,
  message = "",
): Record<string, unknown> {
  return condition(type, status, reason, message);
}

/** Replaces the given condition types, keeping the others and unchanged transition times. */
export function withConditions(
  obj: KubeObject,
  next: Record<string, unknown>[],
  drop: string[] = [],
): Record<string, unknown>[] {
  const prev = (asObj(obj).status?.conditions ?? []) as Record<string, unknown>[];
  const types = new Set([...next.map((c) => c.type), ...drop]);
  return [...prev.filter((c) => !types.has(c.type as string)), ...mergeConditions(prev, next)];
}

export function phaseOf(obj: KubeObject | undefined): string | undefined {
  return obj ? (asObj(obj).status?.phase as string | undefined) : undefined;
}

export interface BlockDeviceRef {
  kind: "VirtualDisk" | "VirtualImage" | "ClusterVirtualImage";
  name: string;
}

export function blockDeviceRefs(vm: KubeObject): BlockDeviceRef[] {
  const refs = (asObj(vm).spec?.blockDeviceRefs ?? []) as Partial<BlockDeviceRef>[];
  return refs
    .filter((r): r is BlockDeviceRef => typeof r.name === "string" && r.name !== "")
    .map((r) => ({ kind: r.kind ?? "VirtualDisk", name: r.name }));
}

export function diskNamesOf(vm: KubeObject): string[] {
  return blockDeviceRefs(vm)
    .filter((r) => r.kind === "VirtualDisk")
    .map((r) => r.name);
}

/** VMs in the namespace whose blockDeviceRefs name the disk. */
export function vmsUsingDisk(ctx: DhContext, namespace: string, disk: string): KubeObject[] {
  return ctx.fresh
    .list(ctx.inf.vms)
    .filter((vm) => vm.metadata.namespace === namespace && diskNamesOf(vm).includes(disk));
}

/** The VM is up (its guest can write): Starting, Running, Migrating or Stopping. */
export function isPowered(vm: KubeObject | undefined): boolean {
  const p = phaseOf(vm);
  return (
    p === VM_PHASE.running ||
    p === VM_PHASE.starting ||
    p === VM_PHASE.migrating ||
    p === VM_PHASE.stopping
  );
}

/** A simulated address, stable per VM object (a clone or a re-created VM gets another one). */
export function ipAddressOf(vm: KubeObject): string {
  const h = createHash("sha256")
    .update(vm.metadata.uid ?? keyOf(vm))
    .digest();
  return `10.66.${h[0]}.${(h[1]! % 253) + 1}`;
}

export function fingerprint(obj: KubeObject | undefined): string | undefined {
  return annotation(obj, SIM.data);
}

/** Annotations without the simulator's bookkeeping (copied into snapshots and clones). */
export function publicAnnotations(
  obj: KubeObject | { metadata: { annotations?: Record<string, string> } },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj.metadata.annotations ?? {}))
    if (!INTERNAL_ANNOTATIONS.includes(k)) out[k] = v;
  return out;
}

export function ownerRef(obj: KubeObject, kind: string): Record<string, unknown> {
  return {
    apiVersion: obj.apiVersion ?? DH_API_VERSION,
    kind,
    name: obj.metadata.name,
    uid: obj.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function ownedBy(obj: KubeObject, owner: KubeObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some((o) => o.uid === owner.metadata.uid);
}

export function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
