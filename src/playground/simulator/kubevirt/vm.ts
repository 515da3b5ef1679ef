// virt-controller's VM side: run strategy → VMI (phase, conditions, guest agent, guestOSInfo,
// volume status), and the VM's status (printableStatus, conditions, volumeSnapshotStatuses).
import { KubeVirt, apiVersionOf, keyOf, type KubeObject } from "../../../kube/resources.js";
import { SIM, annotation, guestOs, hasGuestAgent, isPaused } from "../annotations.js";
import { asObj, hasFinalizer, ignoreConflict, ignoreNotFound } from "../storage.js";
import {
  SOURCE_FINALIZER,
  condition,
  jsonEqual,
  mergeConditions,
  runStrategy,
  snapshotClassFor,
  vmVolumes,
  wantsRunning,
  type KvContext,
} from "./context.js";

const GUEST_OS = {
  linux: {
    id: "fedora",
    name: "Fedora Linux",
    prettyName: "Fedora Linux 40 (Cloud Edition)",
    version: "40",
    versionId: "40",
    kernelRelease: "6.8.5-301.fc40.x86_64",
    machine: "x86_64",
  },
  windows: {
    id: "mswindows",
    name: "Microsoft Windows Server 2022 Datacenter",
    prettyName: "Windows Server 2022 Datacenter",
    version: "2022",
    versionId: "2022",
    kernelRelease: "20348",
    machine: "x86_64",
  },
};

export function registerVmController(ctx: KvContext): void {
  const { rt, inf, client: c } = ctx;
  const enqueueVm = (ns: string | undefined, name: string) =>
    rt.enqueue("kubevirt-vm", ns ? `${ns}/${name}` : name);
  inf.vms.on((_e, o) => enqueueVm(o.metadata.namespace, o.metadata.name));
  inf.vmis.on((_e, o) => enqueueVm(o.metadata.namespace, o.metadata.name));
  const enqueueVmsInNamespace = (ns: string | undefined) => {
    for (const vm of inf.vms.list())
      if (vm.metadata.namespace === ns) enqueueVm(ns, vm.metadata.name);
  };
  inf.pvcs.on((_e, o) => enqueueVmsInNamespace(o.metadata.namespace));
  // Class changes alter volumeSnapshotStatuses of every VM.
  for (const i of [inf.storageClasses, inf.volumeSnapshotClasses, inf.storageProfiles]) {
    i.on(() => inf.vms.list().forEach((vm) => enqueueVm(vm.metadata.namespace, vm.metadata.name)));
  }

  rt.register("kubevirt-vm", async (key) => {
    const vm = inf.vms.cache.get(key) as KubeObject | undefined;
    const vmi = inf.vmis.cache.get(key);
    // A VMI whose VM is gone is the garbage collector's (kube-controller-manager runs it).
    if (!vm) return;
    const ns = vm.metadata.namespace!;
    const status = asObj(vm).status ?? {};
    if (vm.metadata.deletionTimestamp) {
      if (vmi) await c.delete(KubeVirt.vmis, vmi.metadata.name, ns).catch(ignoreNotFound);
      if (hasFinalizer(vm, SOURCE_FINALIZER) && !status.snapshotInProgress) {
        await c.patch(KubeVirt.vms, vm.metadata.name, ns, {
          metadata: {
            finalizers: (vm.metadata.finalizers ?? []).filter((f) => f !== SOURCE_FINALIZER),
          },
        });
      }
      return;
    }

    await ensureDataVolumes(ctx, vm);
    const volumes = vmVolumes(vm);
    const claims = volumes
      .filter((v) => v.claimName)
      .map((v) => ({ v, pvc: inf.pvcs.get(v.claimName!, ns) }));
    const want = wantsRunning(vm, Boolean(vmi)) && !status.restoreInProgress;
    let printableStatus = "Stopped";
    // The VMI's conditions as they are after this reconcile (copied onto the VM below).
    let vmiConds = vmi ? ((asObj(vmi).status?.conditions ?? []) as Record<string, unknown>[]) : [];
    if (want && !vmi) {
      const missing = claims.find((x) => !x.pvc);
      const unbound = claims.find((x) => x.pvc && asObj(x.pvc).status?.phase !== "Bound");
      if (missing) printableStatus = "ErrorPvcNotFound";
      else if (unbound) {
        printableStatus = "WaitingForVolumeBinding";
        for (const x of claims) rt.enqueue("pvc", `${ns}/${x.v.claimName}`);
      } else {
        await c.create(KubeVirt.vmis, vmiFor(vm)).catch(ignoreConflict);
        printableStatus = "Starting";
      }
    } else if (!want && vmi) {
      if (!vmi.metadata.deletionTimestamp)
        await c.delete(KubeVirt.vmis, vmi.metadata.name, ns).catch(ignoreNotFound);
      printableStatus = "Stopping";
    } else if (vmi) {
      const wanted = vmiStatus(vm, vmi);
      const current = asObj(vmi).status ?? {};
      const staleGuestInfo = !("guestOSInfo" in wanted) && current.guestOSInfo !== undefined;
      if (staleGuestInfo || !jsonEqual(pick(current, Object.keys(wanted)), wanted)) {
        // VMIs have no status subresource (as upstream): the status is patched on the object.
        await c.patch(KubeVirt.vmis, vmi.metadata.name, ns, {
          status: { ...wanted, ...(staleGuestInfo ? { guestOSInfo: null } : {}) },
        });
      }
      vmiConds = wanted.conditions as Record<string, unknown>[];
      printableStatus = isPaused(vm) ? "Paused" : "Running";
    }

    const running = printableStatus === "Running" || printableStatus === "Paused";
    const copied = vmiConds.filter((x) => x.type === "AgentConnected" || x.type === "Paused");
    const volumeSnapshotStatuses = volumes.map((v) => {
      const r = snapshotClassFor(ctx, ns, v);
      return "className" in r
        ? { name: v.name, enabled: true }
        : { name: v.name, enabled: false, reason: r.error };
    });
    const next = {
      printableStatus,
      ready: printableStatus === "Running",
      created: Boolean(vmi),
      runStrategy: runStrategy(vm),
      volumeSnapshotStatuses,
      conditions: mergeConditions(status.conditions, [
        condition(
          "Ready",
          printableStatus === "Running",
          running ? "" : "VMINotExists",
          running ? "" : "VMI does not exist",
        ),
        ...copied,
      ]),
    };
    if (!jsonEqual(pick(status, Object.keys(next)), next)) {
      await c.patch(
        KubeVirt.vms,
        vm.metadata.name,
        ns,
        { status: next },
        { subresource: "status" },
      );
    }
  });
}

/** Claims used by a running (or starting) VM: binds WaitForFirstConsumer claims, protects deletion. */
export function claimInUse(ctx: KvContext, namespace: string, claim: string): boolean {
  return ctx.inf.vms.list().some((vm) => {
    if (vm.metadata.namespace !== namespace) return false;
    const hasVmi = Boolean(ctx.inf.vmis.get(vm.metadata.name, namespace));
    if (!wantsRunning(vm, hasVmi) && !hasVmi) return false;
    return vmVolumes(vm).some((v) => v.claimName === claim) || hotplugClaims(vm).includes(claim);
  });
}

function hotplugClaims(vm: KubeObject): string[] {
  return (annotation(vm, SIM.hotplugVolumes) ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

async function ensureDataVolumes(ctx: KvContext, vm: KubeObject): Promise<void> {
  const templates = (asObj(vm).spec.dataVolumeTemplates ?? []) as {
    metadata?: { name?: string };
    spec?: unknown;
  }[];
  for (const t of templates) {
    const name = t.metadata?.name;
    if (!name || ctx.inf.dataVolumes.get(name, vm.metadata.namespace)) continue;
    await ctx.client
      .create(KubeVirt.dataVolumes, {
        apiVersion: apiVersionOf(KubeVirt.dataVolumes),
        kind: "DataVolume",
        metadata: {
          name,
          namespace: vm.metadata.namespace,
          ownerReferences: [
            {
              apiVersion: apiVersionOf(KubeVirt.vms),
              kind: "VirtualMachine",
              name: vm.metadata.name,
              uid: vm.metadata.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: t.spec as Record<string, unknown>,
      })
      .catch(ignoreConflict);
  }
}

function vmiFor(vm: KubeObject): KubeObject {
  const template = (asObj(vm).spec.template ?? {}) as {
    metadata?: { labels?: Record<string, string> };
    spec?: Record<string, unknown>;
  };
  const obj: KubeObject = {
    apiVersion: apiVersionOf(KubeVirt.vmis),
    kind: "VirtualMachineInstance",
    metadata: {
      name: vm.metadata.name,
      namespace: vm.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), "kubevirt.io/vm": vm.metadata.name },
      ownerReferences: [
        {
          apiVersion: apiVersionOf(KubeVirt.vms),
          kind: "VirtualMachine",
          name: vm.metadata.name,
          uid: vm.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: template.spec ?? { domain: { devices: {} } },
  };
  obj.status = vmiStatus(vm, obj);
  return obj;
}

function vmiStatus(vm: KubeObject, vmi: KubeObject): Record<string, unknown> {
  const agent = hasGuestAgent(vm);
  const paused = isPaused(vm);
  const old = asObj(vmi).status?.conditions;
  const conditions = [condition("Ready", !paused), condition("LiveMigratable", true)];
  if (agent) conditions.push(condition("AgentConnected", true));
  if (paused) conditions.push(condition("Paused", true, "PausedByUser", "VMI was paused by user"));
  const volumeStatus: Record<string, unknown>[] = vmVolumes(vm).map((v, i) => ({
    name: v.name,
    target: `vd${String.fromCharCode(97 + i)}`,
    phase: "Ready",
    reason: "VolumeReady",
    ...(v.hotpluggable
      ? {
          hotplugVolume: {
            attachPodName: `hp-volume-${vm.metadata.name}`,
            attachPodUID: vm.metadata.uid,
          },
        }
      : {}),
    ...(v.claimName ? { persistentVolumeClaimInfo: { claimName: v.claimName } } : {}),
  }));
  for (const claim of hotplugClaims(vm)) {
    volumeStatus.push({
      name: claim,
      target: "sda",
      phase: "Ready",
      reason: "VolumeReady",
      hotplugVolume: {
        attachPodName: `hp-volume-${vm.metadata.name}`,
        attachPodUID: vm.metadata.uid,
      },
      persistentVolumeClaimInfo: { claimName: claim },
    });
  }
  return {
    phase: "Running",
    conditions: mergeConditions(old, conditions),
    ...(agent ? { guestOSInfo: GUEST_OS[guestOs(vm)] } : {}),
    volumeStatus,
  };
}

function pick(obj: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj?.[k] !== undefined) out[k] = obj[k];
  return out;
}

export { keyOf };
