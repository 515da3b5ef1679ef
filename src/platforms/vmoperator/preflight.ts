// VM Operator VMs and their preflight: cluster nodes and shared SCSI controllers cannot be
// snapshotted, the snapshot limit per VM, VMware Tools (quiescing), a revert in progress.
import { advice, option, phrase } from "../../core/advice.js";
import { API_VERSION } from "../../core/api-version.js";
import { byCreationTimestamp, vmNotFound, byVmOrder } from "../json.js";
import type { Finding, Preflight, VirtualMachine } from "../../core/schema.js";
import { quantityBytes } from "../../core/quantity.js";
import { Core } from "../../kube/resources.js";
import type { VmState } from "../types.js";
import type { VmopApi } from "./api.js";
import {
  MAX_SNAPSHOTS,
  VM_NAME_LABEL,
  claimsOf,
  isWindowsGuest,
  obj,
  powerState,
  sharedScsi,
  str,
  toolsRunning,
  vksNodeLabel,
} from "./model.js";

export async function listVms(
  api: VmopApi,
  scope: { namespace?: string; labelSelector?: string },
): Promise<VirtualMachine[]> {
  const [vms, snaps] = await Promise.all([
    api.kube.list(api.t.vms, scope.namespace, { labelSelector: scope.labelSelector }),
    api.kube.list(api.t.snapshots, scope.namespace),
  ]);
  return vms.items
    .map((vm) => {
      const mine = snaps.items
        .filter(
          (s) =>
            s.metadata.namespace === vm.metadata.namespace &&
            str(obj(s.spec).vmName) === vm.metadata.name,
        )
        .sort(byCreationTimestamp);
      const last = mine.at(-1);
      const blockers = [
        vksNodeLabel(vm) ? "VKS/TKG cluster node" : undefined,
        ...sharedScsi(vm),
      ].filter((x): x is string => Boolean(x));
      return {
        namespace: vm.metadata.namespace ?? "",
        name: vm.metadata.name,
        platform: "vmoperator" as const,
        status: powerState(vm),
        running: powerState(vm) !== "PoweredOff",
        guestAgent: toolsRunning(vm),
        snapshotCount: mine.length,
        lastSnapshot: last
          ? { name: last.metadata.name, creationTime: last.metadata.creationTimestamp ?? null }
          : null,
        snapshottable: blockers.length === 0,
        reasons: blockers,
      };
    })
    .sort(byVmOrder);
}

export async function getVm(api: VmopApi, namespace: string, name: string): Promise<VmState> {
  const vm = await api.readVm(namespace, name);
  if (!vm) throw vmNotFound(namespace, name);
  const state = powerState(vm);
  return {
    namespace,
    name,
    uid: vm.metadata.uid ?? "",
    running: state !== "PoweredOff",
    status: state,
    runStrategy: str(obj(vm.spec).powerState) ?? "PoweredOn",
    raw: vm,
  };
}

export async function preflight(api: VmopApi, namespace: string, name: string): Promise<Preflight> {
  const [vm, snaps, claims] = await Promise.all([
    api.readVm(namespace, name),
    api.kube.list(api.t.snapshots, namespace, { labelSelector: `${VM_NAME_LABEL}=${name}` }),
    api.kube.list(Core.pvcs, namespace),
  ]);
  if (!vm) throw vmNotFound(namespace, name);
  const problems: Finding[] = [];
  const warnings: Finding[] = [];
  const state = powerState(vm);
  const tools = toolsRunning(vm);
  const vks = vksNodeLabel(vm);
  if (vks)
    problems.push({
      message: `the VM is a VKS/TKG cluster node (label ${vks}): VM Operator forbids snapshots of cluster nodes`,
      fix: "back up the workload cluster with its own tools (e.g. Velero) instead",
    });
  for (const c of sharedScsi(vm))
    problems.push({
      message: `${c}: VM Operator refuses snapshots of VMs with shared SCSI controllers`,
      fix: "set sharingMode None, or protect the shared disks another way",
    });
  const count = snaps.items.length;
  if (count >= MAX_SNAPSHOTS)
    problems.push({
      message: `the VM already has ${count} snapshots (VM Operator's limit is ${MAX_SNAPSHOTS})`,
      fix: phrase(
        advice`delete old snapshots (${{ do: "list-snapshots", namespace, vm: name, tree: true }}, then ${{ do: "delete", namespace }})`,
        api.ctx.words,
      ),
    });
  else if (count >= MAX_SNAPSHOTS - 4)
    warnings.push({
      message: `the VM has ${count} snapshots; VM Operator advises fewer than ${MAX_SNAPSHOTS}`,
      fix: "delete snapshots you no longer need",
    });
  if (state === "PoweredOn" && !tools)
    warnings.push({
      message: phrase(
        advice`VMware Tools are not running: the guest cannot be quiesced, the snapshot is crash-consistent (include the memory, ${option("memory", true)}, to capture the running state)`,
        api.ctx.words,
      ),
      fix: "start VMware Tools in the guest, or power the VM off for an offline snapshot",
    });
  if (state === "PoweredOn" && tools && isWindowsGuest(vm))
    warnings.push({
      message: "Windows guest: quiescing uses VSS; a slow freeze can time out",
      fix: phrase(
        advice`set a longer quiesce timeout (${option("quiesceTimeout")}), or snapshot at a quiet time`,
        api.ctx.words,
      ),
    });
  if (state === "Suspended")
    warnings.push({ message: "the VM is suspended: the snapshot captures the suspended state" });
  if (str(obj(vm.spec).currentSnapshotName))
    problems.push({
      message: `a revert to ${String(obj(vm.spec).currentSnapshotName)} is in progress`,
      fix: "wait for it to finish",
    });
  const volumes = [
    {
      name: "boot disk",
      type: "vSphere disk",
      claimName: null,
      storageClass: str(obj(vm.spec).storageClass) ?? null,
      provisioner: null,
      volumeSnapshotClass: null,
      hotplug: "none" as const,
      included: true,
      reason: null,
      requestedBytes: null,
    },
    ...claimsOf(vm).map((v) => {
      const pvc = claims.items.find((c) => c.metadata.name === v.claimName);
      return {
        name: v.name,
        type: "persistentVolumeClaim",
        claimName: v.claimName,
        storageClass: str(obj(pvc?.spec).storageClassName) ?? null,
        provisioner: null,
        volumeSnapshotClass: null,
        hotplug: "none" as const,
        included: true,
        reason: null,
        requestedBytes: quantityBytes(obj(obj(obj(pvc?.spec).resources).requests).storage),
      };
    }),
  ];
  return {
    apiVersion: API_VERSION,
    kind: "Preflight",
    namespace,
    vm: name,
    platform: "vmoperator",
    snapshottable: problems.length === 0,
    mode: state === "PoweredOff" ? "offline" : "online",
    expectedConsistency:
      state === "PoweredOff"
        ? "consistent (VM stopped)"
        : tools
          ? "application-consistent (with quiesce)"
          : "crash-consistent",
    volumes,
    problems,
    warnings,
    existingSnapshots: count,
    estimatedBytes: volumes.reduce((sum, v) => sum + (v.requestedBytes ?? 0), 0),
  };
}
