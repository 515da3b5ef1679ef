// What holds a snapshot, per platform: objects that use a snapshot while they work (restores,
// clones), and what a VM itself holds (VM Operator's current snapshot). Retention never deletes
// a held snapshot. A watcher (the policy controller) keeps these kinds in informers; each source
// reads one object and says which snapshots it holds now (none once it is finished).
import type { Discovery, PlatformName } from "../kube/discovery.js";
import type { KubeObject, ResourceType } from "../kube/resources.js";
import { kubevirtHolds } from "./kubevirt/holds.js";
import { deckhouseHolds } from "./deckhouse/holds.js";
import { vmoperatorHolds } from "./vmoperator/holds.js";

export interface SnapshotHold {
  /** The VM snapshot held. */
  snapshot?: string;
  /** Or a disk snapshot that is part of a VM snapshot (see PlatformHolds.partsOf). */
  part?: string;
  /** In words, e.g. "VirtualMachineRestore web-restore-1 in progress". */
  reason: string;
}

export interface HolderSource {
  type: ResourceType;
  /** Served only on some versions (Deckhouse's legacy VirtualMachineRestore): check first. */
  optional?: boolean;
  holds(obj: KubeObject): SnapshotHold[];
}

export interface PlatformHolds {
  platform: PlatformName;
  /** The platform's VMs (their labels select them; VM Operator VMs hold their current snapshot). */
  vms: ResourceType;
  holders: HolderSource[];
  /** Snapshots a VM holds itself. */
  vmHolds?(vm: KubeObject): SnapshotHold[];
  /** The parts of a VM snapshot that a `part` hold refers to (Deckhouse: its disk snapshots). */
  partsOf?(snapshot: KubeObject): string[];
}

const BY_PLATFORM: Record<PlatformName, (discovery: Discovery) => PlatformHolds> = {
  kubevirt: kubevirtHolds,
  deckhouse: deckhouseHolds,
  vmoperator: vmoperatorHolds,
};

export function platformHolds(platform: PlatformName, discovery: Discovery): PlatformHolds {
  return BY_PLATFORM[platform](discovery);
}

/**
 * Why each VM snapshot of one namespace is held (snapshot name → reasons), from the objects read
 * or watched there: the platform's snapshots (for part holds), its VMs and its holder objects.
 */
export function holdsFrom(
  holds: PlatformHolds,
  objects: {
    snapshots: KubeObject[];
    vms: KubeObject[];
    holders: { holds: (obj: KubeObject) => SnapshotHold[]; objects: KubeObject[] }[];
  },
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const parts = new Map<string, string>();
  if (holds.partsOf)
    for (const s of objects.snapshots)
      for (const part of holds.partsOf(s)) parts.set(part, s.metadata.name);
  const apply = (h: SnapshotHold) => {
    const snapshot = h.snapshot ?? (h.part ? parts.get(h.part) : undefined);
    if (snapshot) out.set(snapshot, [...(out.get(snapshot) ?? []), h.reason]);
  };
  for (const holder of objects.holders)
    for (const obj of holder.objects) holder.holds(obj).forEach(apply);
  if (holds.vmHolds) for (const vm of objects.vms) holds.vmHolds(vm).forEach(apply);
  return out;
}
