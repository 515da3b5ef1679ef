// Reading VM Operator objects (vmoperator.vmware.com v1alpha5/v1alpha6).
import type { Discovery } from "../../kube/discovery.js";
import type { KubeObject, ResourceType } from "../../kube/resources.js";

import { arr, condition, obj, str } from "../json.js";

// The JSON accessors are shared by every platform; re-exported for this platform's modules.
export { arr, condition, obj, str };

export const GROUP = "vmoperator.vmware.com";
export const VM_NAME_LABEL = "snapshot.vmoperator.vmware.com/vm-name";
export const MAX_SNAPSHOTS = 32;

/** v1alpha6 where served, else v1alpha5 (the first version with VirtualMachineSnapshot). */
export function apiVersionFor(discovery: Discovery): string {
  const versions = discovery.groups.get(GROUP)?.versions ?? [];
  return versions.includes("v1alpha6") ? "v1alpha6" : "v1alpha5";
}

export function types(version: string): { vms: ResourceType; snapshots: ResourceType } {
  return {
    vms: {
      group: GROUP,
      version,
      plural: "virtualmachines",
      kind: "VirtualMachine",
      namespaced: true,
    },
    snapshots: {
      group: GROUP,
      version,
      plural: "virtualmachinesnapshots",
      kind: "VirtualMachineSnapshot",
      namespaced: true,
    },
  };
}

export function powerState(vm: KubeObject): string {
  return str(obj(vm.status).powerState) ?? str(obj(vm.spec).powerState) ?? "Unknown";
}

/** VMware Tools report the guest's identity only while they run. */
export function toolsRunning(vm: KubeObject): boolean {
  return Boolean(str(obj(obj(vm.status).guest).guestFullName));
}

export function isWindowsGuest(vm: KubeObject): boolean {
  return (
    /windows/i.test(str(obj(obj(vm.status).guest).guestFullName) ?? "") ||
    /windows/i.test(str(obj(obj(vm.status).guest).guestID) ?? "")
  );
}

/** VKS / TKG cluster nodes carry Cluster API labels; VM Operator refuses to snapshot them. */
export function vksNodeLabel(vm: KubeObject): string | undefined {
  return Object.keys(vm.metadata.labels ?? {}).find(
    (k) => k.startsWith("cluster.x-k8s.io/") || k.startsWith("capv.vmware.com/"),
  );
}

export function sharedScsi(vm: KubeObject): string[] {
  return arr(obj(obj(vm.spec).hardware).scsiControllers)
    .filter((c) => str(c.sharingMode) && str(c.sharingMode) !== "None")
    .map(
      (c) => `SCSI controller ${String(c.busNumber ?? "?")} (sharingMode ${String(c.sharingMode)})`,
    );
}

export function claimsOf(vm: KubeObject): { name: string; claimName: string }[] {
  return arr(obj(vm.spec).volumes)
    .map((v) => ({
      name: str(v.name) ?? "",
      claimName: str(obj(v.persistentVolumeClaim).claimName) ?? "",
    }))
    .filter((v) => v.claimName);
}

export type SnapshotState = "Ready" | "InProgress" | "Failed";

export function snapshotState(s: KubeObject): {
  phase: SnapshotState;
  ready: boolean;
  error: string | null;
} {
  const ready = condition(s, "VirtualMachineSnapshotReady");
  const created = condition(s, "VirtualMachineSnapshotCreated");
  if (str(ready?.status) === "True") return { phase: "Ready", ready: true, error: null };
  if (str(created?.status) === "False" && /Failed/.test(str(created?.reason) ?? "")) {
    return {
      phase: "Failed",
      ready: false,
      error: str(created?.message) ?? str(created?.reason) ?? "creation failed",
    };
  }
  return { phase: "InProgress", ready: false, error: null };
}
