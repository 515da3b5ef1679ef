// Deckhouse VMs and their preflight: the disks (each must be Ready; a resizing disk cannot be
// snapshotted), attached images (never in snapshots), the guest agent against requiredConsistency,
// configuration waiting for a restart, and operations in progress on the VM.
import { advice, option, phrase } from "../../core/advice.js";
import { quantityBytes } from "../../core/quantity.js";
import { API_VERSION } from "../../core/api-version.js";
import type { Finding, Preflight, PreflightVolume, VirtualMachine } from "../../core/schema.js";
import { KubeApiError } from "../../kube/client.js";
import {
  Deckhouse,
  IS_DEFAULT_SC,
  IS_DEFAULT_VSC,
  keyOf,
  type KubeObject,
} from "../../kube/resources.js";
import { byCreationTimestamp, byVmOrder, obj, str, vmNotFound } from "../json.js";
import type { PreflightOptions, VmState } from "../types.js";
import type { DeckhouseApi } from "./api.js";
import {
  agentReady,
  diskPhase,
  disksOf,
  imagesOf,
  isWindows,
  pendingRestartChanges,
  vmNameOf,
  vmPhase,
  vmRunning,
} from "./model.js";
import { restoreOperations } from "./restore.js";

export async function listVms(
  api: DeckhouseApi,
  scope: { namespace?: string; labelSelector?: string },
): Promise<VirtualMachine[]> {
  const [vms, snaps, disks] = await Promise.all([
    api.kube.list(Deckhouse.vms, scope.namespace, { labelSelector: scope.labelSelector }),
    api.kube.list(Deckhouse.vmSnapshots, scope.namespace),
    api.kube.list(Deckhouse.disks, scope.namespace),
  ]);
  const diskByKey = new Map(disks.items.map((d) => [keyOf(d), d]));
  return vms.items
    .map((vm) => {
      const ns = vm.metadata.namespace ?? "";
      const mine = snaps.items
        .filter((s) => s.metadata.namespace === ns && vmNameOf(s) === vm.metadata.name)
        .sort(byCreationTimestamp);
      const last = mine.at(-1);
      const reasons = [
        ...(SNAPSHOT_PHASES.has(vmPhase(vm))
          ? []
          : [`VM is ${vmPhase(vm)}: Deckhouse snapshots only Running or Stopped VMs`]),
        ...(vmRunning(vm) && !agentReady(vm)
          ? [
              "running without guest agent: Deckhouse fails a requiredConsistency snapshot (use --consistency best-effort or --stop)",
            ]
          : []),
        ...disksOf(vm).flatMap((d) => {
          const phase = diskPhase(diskByKey.get(`${ns}/${d}`));
          return diskByKey.has(`${ns}/${d}`)
            ? phase === "Ready"
              ? []
              : [`disk ${d} is ${phase}`]
            : [`disk ${d} not found`];
        }),
      ];
      return {
        namespace: ns,
        name: vm.metadata.name,
        platform: "deckhouse" as const,
        status: vmPhase(vm),
        running: vmRunning(vm),
        guestAgent: agentReady(vm),
        snapshotCount: mine.length,
        lastSnapshot: last
          ? { name: last.metadata.name, creationTime: last.metadata.creationTimestamp ?? null }
          : null,
        snapshottable: reasons.length === 0,
        reasons,
      };
    })
    .sort(byVmOrder);
}

export async function getVm(api: DeckhouseApi, namespace: string, name: string): Promise<VmState> {
  const vm = await api.readVm(namespace, name);
  if (!vm) throw vmNotFound(namespace, name);
  return {
    namespace,
    name,
    uid: vm.metadata.uid ?? "",
    running: vmRunning(vm),
    status: vmPhase(vm),
    runStrategy: str(obj(vm.spec).runPolicy) ?? "",
    raw: vm,
    // Stop and Start do not apply to AlwaysOn (NotApplicableForVirtualMachineRunPolicy); the
    // Restore operation stops the VM and brings its power state back itself
    // (deckhouse/virtualization v1.10, images/virtualization-artifact/pkg/controller/vmop/
    // snapshot/internal/step/enter_maintenance_step.go).
    restoreCyclesPower: str(obj(vm.spec).runPolicy) === "AlwaysOn",
  };
}

/** The VM phases Deckhouse snapshots a VM in (vmsnapshot/internal/virtual_machine_ready.go). */
const SNAPSHOT_PHASES = new Set(["Running", "Stopped"]);

/**
 * Deckhouse (v0.24 on) requests each disk's VolumeSnapshot without a class, so the CSI
 * snapshot-controller must find exactly one default VolumeSnapshotClass for the disk's driver, or
 * the snapshot fails ("cannot find default snapshot class", "2 default snapshot classes were
 * found"). Before v0.24 vmsnap names the class itself (snapshots.ts): nothing to check here.
 */
async function snapshotClassFindings(
  api: DeckhouseApi,
  vm: KubeObject,
  disks: KubeObject[],
): Promise<{
  problems: Finding[];
  warnings: Finding[];
  byDisk: Map<string, { provisioner: string | null; volumeSnapshotClass: string | null }>;
}> {
  const out = { problems: [] as Finding[], warnings: [] as Finding[], byDisk: new Map() };
  if (await api.snapshotClassFields()) return out;
  const storage = await api.storageClasses().catch((err: unknown) => {
    if (err instanceof KubeApiError && err.code === 403) return undefined;
    throw err;
  });
  if (!storage) {
    out.warnings.push({
      message:
        "StorageClasses and VolumeSnapshotClasses are not readable with these credentials: whether each disk's CSI driver has exactly one default VolumeSnapshotClass (Deckhouse needs it) was not checked",
      fix: "ask for read access to storageclasses and volumesnapshotclasses (deploy/rbac/common-readonly.yaml)",
    });
    return out;
  }
  const { scs, vscs } = storage;
  const byDriver = new Map<string, string[]>();
  for (const d of disksOf(vm)) {
    const disk = disks.find((x) => x.metadata.name === d);
    if (!disk) continue;
    const named =
      str(obj(disk.status).storageClassName) ??
      str(obj(obj(disk.spec).persistentVolumeClaim).storageClassName);
    const sc = named
      ? scs.find((x) => x.metadata.name === named)
      : scs.find((x) => x.metadata.annotations?.[IS_DEFAULT_SC] === "true");
    const driver = str(sc?.provisioner);
    if (!driver) continue;
    const defaults = vscs.filter(
      (v) => str(v.driver) === driver && v.metadata.annotations?.[IS_DEFAULT_VSC] === "true",
    );
    out.byDisk.set(d, {
      provisioner: driver,
      volumeSnapshotClass: defaults.length === 1 ? defaults[0]!.metadata.name : null,
    });
    if (defaults.length !== 1) byDriver.set(driver, [...(byDriver.get(driver) ?? []), d]);
  }
  for (const [driver, names] of byDriver) {
    const all = vscs.filter((v) => str(v.driver) === driver).map((v) => v.metadata.name);
    const defaults = vscs
      .filter(
        (v) => str(v.driver) === driver && v.metadata.annotations?.[IS_DEFAULT_VSC] === "true",
      )
      .map((v) => v.metadata.name);
    const disksText = `disk${names.length > 1 ? "s" : ""} ${names.join(", ")}`;
    out.problems.push(
      defaults.length > 1
        ? {
            message: `CSI driver ${driver} (${disksText}) has ${defaults.length} default VolumeSnapshotClasses (${defaults.join(", ")}): Deckhouse requests volume snapshots without a class, so the snapshot would fail ("${defaults.length} default snapshot classes were found")`,
            fix: `a cluster administrator keeps ${IS_DEFAULT_VSC}="true" on exactly one of ${defaults.join(", ")}`,
          }
        : {
            message: `CSI driver ${driver} (${disksText}) has no default VolumeSnapshotClass: Deckhouse requests volume snapshots without a class, so the snapshot would fail ("cannot find default snapshot class")`,
            fix: all.length
              ? `a cluster administrator annotates one of ${all.join(", ")} with ${IS_DEFAULT_VSC}="true"`
              : `a cluster administrator creates a VolumeSnapshotClass with driver ${driver} and annotates it with ${IS_DEFAULT_VSC}="true"`,
          },
    );
  }
  return out;
}

export async function preflight(
  api: DeckhouseApi,
  namespace: string,
  name: string,
  options: PreflightOptions = {},
): Promise<Preflight> {
  const [vm, disks, snaps, ops] = await Promise.all([
    api.readVm(namespace, name),
    api.kube.list(Deckhouse.disks, namespace),
    api.kube.list(Deckhouse.vmSnapshots, namespace),
    restoreOperations(api, namespace),
  ]);
  if (!vm) throw vmNotFound(namespace, name);
  const problems: Finding[] = [];
  const warnings: Finding[] = [];
  const running = vmRunning(vm);
  const agent = agentReady(vm);
  const offline = !running || options.stop === true;
  const required = options.consistency !== "best-effort";
  const volumes: PreflightVolume[] = [];
  for (const d of disksOf(vm)) {
    const disk = disks.items.find((x) => x.metadata.name === d);
    const phase = diskPhase(disk);
    const st = obj(disk?.status);
    const pvc = obj(obj(disk?.spec).persistentVolumeClaim);
    volumes.push({
      name: d,
      type: "VirtualDisk",
      claimName: str(obj(st.target).persistentVolumeClaimName) ?? null,
      storageClass: str(st.storageClassName) ?? str(pvc.storageClassName) ?? null,
      provisioner: null,
      volumeSnapshotClass: null,
      hotplug: "none",
      included: true,
      reason: null,
      requestedBytes: quantityBytes(str(st.capacity) ?? pvc.size),
    });
    if (!disk)
      problems.push({
        message: `VirtualDisk ${d} does not exist`,
        fix: "create the disk or remove it from spec.blockDeviceRefs",
      });
    else if (phase === "Resizing")
      problems.push({
        message: `VirtualDisk ${d} is being resized: Deckhouse cannot snapshot a disk while it resizes`,
        fix: "wait until the disk is Ready again (kubectl get virtualdisks.virtualization.deckhouse.io)",
      });
    else if (phase !== "Ready")
      problems.push({
        message: `VirtualDisk ${d} is ${phase}, not Ready`,
        fix: "wait until the disk is Ready, or fix its provisioning",
      });
  }
  for (const img of imagesOf(vm)) {
    volumes.push({
      name: img.name,
      type: img.kind,
      claimName: null,
      storageClass: null,
      provisioner: null,
      volumeSnapshotClass: null,
      hotplug: "none",
      included: false,
      reason: `${img.kind} is not saved in snapshots (images are read-only sources)`,
      requestedBytes: null,
    });
  }
  if (imagesOf(vm).length)
    warnings.push({
      message: `attached images (${imagesOf(vm)
        .map((i) => `${i.kind} ${i.name}`)
        .join(
          ", ",
        )}) are not saved: a restore or clone needs them to still exist (or drops them in BestEffort mode)`,
    });
  if (running && !agent && !offline) {
    if (required)
      problems.push({
        message:
          "the VM is running without a ready guest agent: with requiredConsistency (the default) Deckhouse fails the snapshot as PotentiallyInconsistent",
        fix: phrase(
          advice`start the guest agent (qemu-guest-agent), or stop the VM for an offline snapshot (${option("stop", true)}), or accept a crash-consistent snapshot (${option("consistency", "best-effort")})`,
          api.ctx.words,
        ),
      });
    else
      warnings.push({
        message:
          "the VM is running without a guest agent: the snapshot is crash-consistent (requiredConsistency: false)",
        fix: "start the guest agent for an application-consistent snapshot",
      });
  }
  if (running && agent && isWindows(vm))
    warnings.push({
      message: "Windows guest: the file system freeze uses VSS and may take a while",
    });
  const pending = pendingRestartChanges(vm);
  if (pending.length)
    warnings.push({
      message: `configuration changes await a restart (${pending.join(", ")}): the snapshot stores the changed configuration, which the VM does not run yet`,
      fix: "restart the VM first if the snapshot should match what runs",
    });
  const phase = vmPhase(vm);
  if (!SNAPSHOT_PHASES.has(phase))
    problems.push({
      message: `the VM is ${phase}: Deckhouse fails a snapshot of a VM that is not Running or Stopped (it does not wait)`,
      fix:
        phase === "Migrating"
          ? "wait until the migration finishes and the VM is Running again"
          : `wait until the VM is Running or Stopped (kubectl -n ${namespace} get virtualmachines.virtualization.deckhouse.io ${name})`,
    });
  const policy = str(obj(vm.spec).runPolicy);
  if (options.stop === true && running && (policy === "AlwaysOn" || policy === "AlwaysOff"))
    problems.push({
      message: `the VM's runPolicy is ${policy}: Deckhouse does not apply a Stop operation to it (NotApplicableForVirtualMachineRunPolicy), so vmsnap cannot stop it for the snapshot`,
      fix: phrase(
        advice`take an online snapshot instead (without ${option("stop", true)}), or change the VM's runPolicy`,
        api.ctx.words,
      ),
    });
  const classes = await snapshotClassFindings(api, vm, disks.items);
  problems.push(...classes.problems);
  warnings.push(...classes.warnings);
  for (const v of volumes) {
    const c = classes.byDisk.get(v.name);
    if (c) Object.assign(v, c);
  }
  const restoring = ops.find((o) => str(obj(o.spec).virtualMachineName) === name);
  if (restoring)
    problems.push({
      message: `operation ${restoring.metadata.name} (${str(obj(restoring.spec).type)}) on this VM is in progress`,
      fix: "wait for it to complete",
    });
  const count = snaps.items.filter((s) => vmNameOf(s) === name).length;
  return {
    apiVersion: API_VERSION,
    kind: "Preflight",
    namespace,
    vm: name,
    platform: "deckhouse",
    snapshottable: problems.length === 0,
    mode: offline ? "offline" : "online",
    expectedConsistency: offline
      ? "consistent (VM stopped)"
      : agent
        ? "application-consistent (the guest agent freezes the file systems)"
        : required
          ? "none: the snapshot would fail (PotentiallyInconsistent)"
          : "crash-consistent",
    volumes,
    problems,
    warnings,
    existingSnapshots: count,
    estimatedBytes: volumes.reduce((sum, v) => sum + (v.requestedBytes ?? 0), 0),
  };
}
