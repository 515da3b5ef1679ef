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
