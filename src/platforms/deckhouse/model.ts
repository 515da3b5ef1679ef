// Reading Deckhouse Virtualization objects (virtualization.deckhouse.io/v1alpha2): phases,
// the guest agent, block devices, snapshot states and operations.
import { apiVersionOf, type KubeObject, type ResourceType } from "../../kube/resources.js";
import { arr, condition, conditionText, obj, str } from "../json.js";
import type { Manifest } from "../types.js";

export const GROUP = "virtualization.deckhouse.io";

/** VM phases in which the VM is not running (it has no guest to freeze). */
const STOPPED_PHASES = new Set(["Stopped", "Pending", "Terminating"]);

export function vmPhase(vm: KubeObject): string {
  return str(obj(vm.status).phase) ?? "Pending";
}

export function vmRunning(vm: KubeObject): boolean {
  return !STOPPED_PHASES.has(vmPhase(vm));
}

export function agentReady(vm: KubeObject): boolean {
  return str(condition(vm, "AgentReady")?.status) === "True";
}

export function isWindows(vm: KubeObject): boolean {
  const os = obj(obj(vm.status).guestOSInfo);
  return (
    str(obj(vm.spec).osType) === "Windows" ||
    /windows/i.test(`${str(os.id) ?? ""} ${str(os.name) ?? ""} ${str(os.prettyName) ?? ""}`)
  );
}

export interface BlockDevice {
  kind: "VirtualDisk" | "VirtualImage" | "ClusterVirtualImage" | string;
  name: string;
}

export function blockDevices(vm: KubeObject): BlockDevice[] {
  return arr(obj(vm.spec).blockDeviceRefs).map((r) => ({
    kind: str(r.kind) ?? "",
    name: str(r.name) ?? "",
  }));
}

export function disksOf(vm: KubeObject): string[] {
  return blockDevices(vm)
    .filter((b) => b.kind === "VirtualDisk")
    .map((b) => b.name);
}

export function imagesOf(vm: KubeObject): BlockDevice[] {
  return blockDevices(vm).filter((b) => b.kind !== "VirtualDisk");
}

/** Configuration changes that wait for a restart (status.restartAwaitingChanges or the condition). */
export function pendingRestartChanges(vm: KubeObject): string[] {
  const changes = arr(obj(vm.status).restartAwaitingChanges).map(
    (c) => str(c.path) ?? str(c.operation) ?? JSON.stringify(c),
  );
  const awaiting = condition(vm, "AwaitingRestartToApplyConfiguration");
  if (!changes.length && str(awaiting?.status) === "True")
    changes.push(conditionText(awaiting) ?? "configuration changes");
  return changes;
}

export function diskPhase(disk: KubeObject | undefined): string {
  return str(obj(disk?.status).phase) ?? "Pending";
}

export const SNAPSHOT_PHASES = ["Pending", "InProgress", "Ready", "Failed", "Terminating"];

export interface SnapshotState {
  phase: string;
  ready: boolean;
  consistent: boolean | undefined;
  /** The failure or stall as the platform states it. */
  reason: string | undefined;
  message: string | undefined;
}

export function snapshotState(s: KubeObject, readyCondition: string): SnapshotState {
  const status = obj(s.status);
  const phase = s.metadata.deletionTimestamp ? "Terminating" : (str(status.phase) ?? "Pending");
  const c = condition(s, readyCondition);
  return {
    phase,
    ready: phase === "Ready",
    consistent: typeof status.consistent === "boolean" ? status.consistent : undefined,
    reason: str(c?.reason),
    message: str(c?.message),
  };
}

export const OPERATION_DONE = new Set(["Completed", "Failed", "Superseded", "Ready"]);

export interface OperationState {
  phase: string;
  done: boolean;
  failed: boolean;
  message: string | undefined;
  resources: { kind: string; name: string; status: string; message: string | undefined }[];
}

/** A VirtualMachineOperation, VirtualMachineSnapshotOperation or (legacy) VirtualMachineRestore. */
export function operationState(op: KubeObject, doneCondition = "Completed"): OperationState {
  const phase = str(obj(op.status).phase) ?? "Pending";
  const c = condition(op, doneCondition);
  return {
    phase,
    done: OPERATION_DONE.has(phase),
    failed: phase === "Failed",
    message: conditionText(c),
    resources: arr(obj(op.status).resources).map((r) => ({
      kind: str(r.kind) ?? "",
      name: str(r.name) ?? "",
      status: str(r.status) ?? "",
      message: str(r.message),
    })),
  };
}

/** The owner VM snapshot of a child disk snapshot, if any. */
export function ownerSnapshot(s: KubeObject): string | undefined {
  return s.metadata.ownerReferences?.find((o) => o.kind === "VirtualMachineSnapshot")?.name;
}

/** The VM a VM snapshot is of. */
export function vmNameOf(s: KubeObject): string {
  return str(obj(s.spec).virtualMachineName) ?? "";
}

/** A Deckhouse object to create: type, name and spec. */
export function manifest(
  type: ResourceType,
  namespace: string,
  name: string,
  spec: object,
): Manifest {
  return {
    type,
    body: {
      apiVersion: apiVersionOf(type),
      kind: type.kind,
      metadata: { name, namespace },
      spec: spec as Record<string, unknown>,
    },
  };
}
