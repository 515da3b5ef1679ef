// Deckhouse Virtualization behind the SnapshotPlatform interface. VM snapshots are
// VirtualMachineSnapshots (with one VirtualDiskSnapshot per disk); restore is a
// VirtualMachineOperation of type Restore (or the legacy VirtualMachineRestore where only that is
// served); clone is a VirtualMachineSnapshotOperation CreateVirtualMachine; disks have their own
// snapshots and are restored as new VirtualDisks.
import { randomBytes } from "node:crypto";
import { formatDiffLine, jsonDiff } from "../../core/diff.js";
import { ErrorCode, VmsnapError, invalidInput, notFound } from "../../core/errors.js";
import { fitName, timestamp } from "../../core/names.js";
import { quantityBytes } from "../../core/quantity.js";
import { API_VERSION } from "../../core/api-version.js";
import type {
  Finding,
  Preflight,
  PreflightVolume,
  Snapshot,
  VirtualMachine,
} from "../../core/schema.js";
import { KubeApiError } from "../../kube/client.js";
import { ReadOnce } from "../../kube/read-once.js";
import {
  Core,
  Csi,
  Deckhouse,
  IS_DEFAULT_SC,
  IS_DEFAULT_VSC,
  apiVersionOf,
  keyOf,
  type KubeObject,
  type ResourceType,
} from "../../kube/resources.js";
import { waitForObject } from "../../kube/watch.js";
import { arr, obj, str } from "../json.js";
import type {
  CreateOptions,
  DiskSnapshotSupport,
  Manifest,
  PlatformContext,
  PreflightOptions,
  RestoreAction,
  RestorePreview,
  RunStateChange,
  SnapshotPlatform,
  VmState,
  WaitOptions,
} from "../types.js";
import {
  GROUP,
  agentReady,
  diskPhase,
  disksOf,
  imagesOf,
  isWindows,
  operationState,
  ownerSnapshot,
  pendingRestartChanges,
  snapshotState,
  vmPhase,
  vmRunning,
} from "./model.js";

/** Deckhouse limits each nameReplacement `to` and prefix/suffix to 59 characters (CRD rule). */
export const CLONE_NAME_MAX = 59;
const DRY_RUN_TIMEOUT_MS = 60_000;

type RestoreApi = "operation" | "legacy";

function manifest(type: ResourceType, namespace: string, name: string, spec: object): Manifest {
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

export class DeckhousePlatform implements SnapshotPlatform {
  readonly name = "deckhouse" as const;
  readonly snapshotType = Deckhouse.vmSnapshots;
  readonly cloneNotes = [
    "Deckhouse creates the VM and new disks from the snapshot's disk snapshots (VirtualMachineSnapshotOperation CreateVirtualMachine, mode Strict); each disk is named <new VM>-<disk>",
    "the clone gets its own IP address; attached images must still exist",
  ];

  constructor(private readonly ctx: PlatformContext) {}

  private get kube() {
    return this.ctx.kube;
  }

  private onceReads?: ReadOnce;
  private get once(): ReadOnce {
    return (this.onceReads ??= new ReadOnce(this.ctx.kube));
  }

  // One read of the group's resource list per invocation: which kinds are served.
  private servedResources?: Promise<Set<string>>;
  private served(): Promise<Set<string>> {
    return (this.servedResources ??= this.kube
      .getPath<{ resources?: { name: string }[] }>(`/apis/${GROUP}/v1alpha2`)
      .then((l) => new Set((l.resources ?? []).map((r) => r.name))));
  }

  // What the served schemas allow, read once from the group's OpenAPI v3 document: the
  // VirtualMachineOperation types (Restore came in v1.1) and the snapshot class fields (removed in
  // v0.24). Without the document (old API server, no access) the current API is assumed.
  private schemaProbe?: Promise<{ vmopTypes?: string[]; classFields: boolean }>;
  private schema(): Promise<{ vmopTypes?: string[]; classFields: boolean }> {
    return (this.schemaProbe ??= (async () => {
      const index = await this.kube.getPath<{
        paths?: Record<string, { serverRelativeURL?: string }>;
      }>("/openapi/v3");
      const url = index.paths?.[`apis/${GROUP}/v1alpha2`]?.serverRelativeURL;
      if (!url) return { classFields: false };
      const doc = await this.kube.getPath<{ components?: { schemas?: Record<string, unknown> } }>(
        url,
      );
      const kind = (k: string) =>
        obj(Object.entries(doc.components?.schemas ?? {}).find(([n]) => n.endsWith(`.${k}`))?.[1]);
      const specOf = (k: string) => obj(obj(obj(kind(k).properties).spec).properties);
      const types = obj(specOf("VirtualMachineOperation").type).enum;
      return {
        vmopTypes: Array.isArray(types) ? types.map(String) : undefined,
        classFields: "volumeSnapshotClassName" in specOf("VirtualDiskSnapshot"),
      };
    })().catch(() => ({ classFields: false })));
  }

  private snapshotClassFields(): Promise<boolean> {
    return this.schema().then((s) => s.classFields);
  }

  /** VirtualMachineOperation Restore (v1.1+), else the legacy VirtualMachineRestore (before v1.9). */
  async restoreApi(): Promise<RestoreApi> {
    const served = await this.served();
    if (served.has(Deckhouse.vmops.plural)) {
      const types = (await this.schema()).vmopTypes;
      if (!types || types.includes("Restore")) return "operation";
    }
    if (served.has(Deckhouse.vmRestores.plural)) return "legacy";
    throw new VmsnapError(
      ErrorCode.NoPlatform,
      "this Deckhouse cluster serves neither VirtualMachineOperation Restore nor VirtualMachineRestore: it cannot restore snapshots",
      "upgrade the virtualization module (VirtualMachineOperation Restore needs v1.1 or later)",
    );
  }

  private readVm(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.once.get(Deckhouse.vms, namespace, name);
  }

  private readVmSnapshot(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.once.get(Deckhouse.vmSnapshots, namespace, name);
  }

  /** A short unique name for an operation object vmsnap creates on the user's behalf. */
  private operationName(vm: string, what: string): string {
    return fitName(vm, `-${what}-${timestamp(this.ctx.now())}-${randomBytes(2).toString("hex")}`);
  }

  async listVms(scope: { namespace?: string; labelSelector?: string }): Promise<VirtualMachine[]> {
    const [vms, snaps, disks] = await Promise.all([
      this.kube.list(Deckhouse.vms, scope.namespace, { labelSelector: scope.labelSelector }),
      this.kube.list(Deckhouse.vmSnapshots, scope.namespace),
      this.kube.list(Deckhouse.disks, scope.namespace),
    ]);
    const diskByKey = new Map(disks.items.map((d) => [keyOf(d), d]));
    return vms.items
      .map((vm) => {
        const ns = vm.metadata.namespace ?? "";
        const mine = snaps.items
          .filter((s) => s.metadata.namespace === ns && vmNameOf(s) === vm.metadata.name)
          .sort((a, b) =>
            (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
          );
        const last = mine.at(-1);
        const reasons = [
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
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  async getVm(namespace: string, name: string): Promise<VmState> {
    const vm = await this.readVm(namespace, name);
    if (!vm)
      throw notFound(
        `VirtualMachine ${namespace}/${name} not found`,
        "list the VMs with `vmsnap vms`",
      );
    return {
      namespace,
      name,
      uid: vm.metadata.uid ?? "",
      running: vmRunning(vm),
      status: vmPhase(vm),
      runStrategy: str(obj(vm.spec).runPolicy) ?? "",
      raw: vm,
    };
  }

  async preflight(
    namespace: string,
    name: string,
    options: PreflightOptions = {},
  ): Promise<Preflight> {
    const [vm, disks, snaps, ops] = await Promise.all([
      this.readVm(namespace, name),
      this.kube.list(Deckhouse.disks, namespace),
      this.kube.list(Deckhouse.vmSnapshots, namespace),
      this.restoreOperations(namespace),
    ]);
    if (!vm)
      throw notFound(
        `VirtualMachine ${namespace}/${name} not found`,
        "list the VMs with `vmsnap vms`",
      );
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
          fix: "start the guest agent (qemu-guest-agent), or stop the VM for an offline snapshot (--stop), or accept a crash-consistent snapshot (--consistency best-effort)",
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

  /** Restore/Clone operations (and legacy restores) that are not finished, in one namespace. */
  private async restoreOperations(namespace: string): Promise<KubeObject[]> {
    const api = await this.restoreApi();
    if (api === "operation") {
      const ops = await this.kube.list(Deckhouse.vmops, namespace);
      return ops.items.filter((o) => {
        const spec = obj(o.spec);
        const type = str(spec.type);
        const mode = str(obj(type === "Restore" ? spec.restore : spec.clone).mode);
        return (
          (type === "Restore" || type === "Clone") && mode !== "DryRun" && !operationState(o).done
        );
      });
    }
    const [restores, snaps] = await Promise.all([
      this.kube.list(Deckhouse.vmRestores, namespace),
      this.kube.list(Deckhouse.vmSnapshots, namespace),
    ]);
    // A legacy restore names only the snapshot; the snapshot names the VM.
    const vmOf = new Map(snaps.items.map((s) => [s.metadata.name, vmNameOf(s)]));
    return restores.items
      .filter((r) => !operationState(r, "VirtualMachineRestoreReady").done)
      .map((r) => ({
        ...r,
        spec: {
          ...obj(r.spec),
          type: "Restore",
          virtualMachineName: vmOf.get(str(obj(r.spec).virtualMachineSnapshotName) ?? ""),
        },
      }));
  }

  private toSnapshot(
    s: KubeObject,
    kind: "vm" | "disk",
    context: { diskVm?: Map<string, string>; children?: KubeObject[] } = {},
  ): Snapshot {
    const spec = obj(s.spec);
    const status = obj(s.status);
    const readyCondition =
      kind === "vm" ? "VirtualMachineSnapshotReady" : "VirtualDiskSnapshotReady";
    const st = snapshotState(s, readyCondition);
    const required = spec.requiredConsistency !== false;
    const disk = kind === "disk" ? (str(spec.virtualDiskName) ?? "") : null;
    const included =
      kind === "vm"
        ? arr(status.resources)
            .filter((r) => r.kind === "VirtualDisk")
            .map((r) => str(r.name) ?? "")
        : [disk ?? ""];
    const consistency = !st.ready
      ? "unknown"
      : st.consistent === true
        ? "consistent"
        : st.consistent === false
          ? "crash-consistent"
          : "unknown";
    const notes = [
      ...(st.consistent === true
        ? ["consistent: the guest agent froze the file systems, or the VM was stopped"]
        : st.consistent === false
          ? ["crash-consistent: taken while the VM ran without a file system freeze"]
          : []),
      `requiredConsistency: ${required}${required ? " (fails rather than take an inconsistent snapshot)" : ""}`,
      ...(kind === "vm"
        ? [
            `keepIPAddress: ${str(spec.keepIPAddress) ?? "Always"}`,
            "attached VirtualImages/ClusterVirtualImages are not saved in the snapshot",
          ]
        : []),
      ...(kind === "disk" && ownerSnapshot(s) ? [`part of VM snapshot ${ownerSnapshot(s)}`] : []),
    ];
    const diagnosis: string[] = [];
    if (st.reason === "PotentiallyInconsistent")
      diagnosis.push(
        "the VM was running without a ready guest agent and requiredConsistency is true; fix: start the guest agent, stop the VM (vmsnap create --stop), or use --consistency best-effort",
      );
    else if (st.reason === "BlockDevicesNotReady" || st.reason === "WaitingForTheVirtualDisk")
      diagnosis.push(
        `waiting for the disks: ${st.message ?? st.reason}; a disk that is resizing or not Ready holds the snapshot back`,
      );
    else if (st.phase === "Failed" || (st.phase !== "Ready" && st.reason))
      diagnosis.push(`${st.reason ?? "Failed"}${st.message ? `: ${st.message}` : ""}`);
    for (const child of context.children ?? []) {
      const cs = snapshotState(child, "VirtualDiskSnapshotReady");
      if (cs.phase !== "Ready" && (cs.reason || cs.phase === "Failed"))
        diagnosis.push(
          `disk snapshot ${child.metadata.name} (${str(obj(child.spec).virtualDiskName) ?? "?"}): ${cs.phase}${cs.reason ? `, ${cs.reason}` : ""}${cs.message ? `: ${cs.message}` : ""}`,
        );
    }
    const readyAt = arr(status.conditions).find((c) => c.type === readyCondition);
    return {
      apiVersion: API_VERSION,
      kind: "Snapshot",
      name: s.metadata.name,
      namespace: s.metadata.namespace ?? "",
      platform: "deckhouse",
      vm:
        kind === "vm"
          ? vmNameOf(s)
          : (context.diskVm?.get(`${s.metadata.namespace}/${disk}`) ?? ""),
      ...(disk !== null ? { disk } : {}),
      phase: st.phase,
      readyToUse: st.ready,
      createdAt: s.metadata.creationTimestamp ?? null,
      creationTime: st.ready
        ? (str(readyAt?.lastTransitionTime) ?? s.metadata.creationTimestamp ?? null)
        : null,
      consistency,
      indications: st.consistent === true ? ["Consistent"] : [],
      notes,
      includedVolumes: included.filter(Boolean),
      excludedVolumes: [],
      contentName:
        kind === "vm"
          ? (str(status.virtualMachineSnapshotSecretName) ?? null)
          : (str(status.volumeSnapshotName) ?? null),
      error: st.phase === "Failed" ? (st.message ?? st.reason ?? "failed") : null,
      conditions: arr(status.conditions).map((c) => ({
        type: str(c.type) ?? "",
        status: str(c.status) ?? "",
        ...(str(c.reason) ? { reason: str(c.reason) } : {}),
        ...(str(c.message) ? { message: str(c.message) } : {}),
      })),
      diagnosis,
    };
  }

  snapshotOf(raw: KubeObject): Snapshot {
    return this.toSnapshot(raw, raw.kind === "VirtualDiskSnapshot" ? "disk" : "vm");
  }

  /** disk → the VM it is attached to, for the `vm` of disk snapshots. */
  private diskVms(disks: KubeObject[], vms: KubeObject[]): Map<string, string> {
    const map = new Map<string, string>();
    for (const vm of vms)
      for (const d of disksOf(vm)) map.set(`${vm.metadata.namespace}/${d}`, vm.metadata.name);
    for (const d of disks) {
      const attached = str(arr(obj(d.status).attachedToVirtualMachines)[0]?.name);
      if (attached && !map.has(keyOf(d))) map.set(keyOf(d), attached);
    }
    return map;
  }

  async listSnapshots(scope: {
    namespace?: string;
    vm?: string;
    labelSelector?: string;
  }): Promise<Snapshot[]> {
    const opts = { labelSelector: scope.labelSelector };
    const [vmSnaps, diskSnaps, disks, vms] = await Promise.all([
      this.kube.list(Deckhouse.vmSnapshots, scope.namespace, opts),
      this.kube.list(Deckhouse.diskSnapshots, scope.namespace, opts),
      this.kube.list(Deckhouse.disks, scope.namespace),
      this.kube.list(Deckhouse.vms, scope.namespace),
    ]);
    const diskVm = this.diskVms(disks.items, vms.items);
    // Disk snapshots that belong to a VM snapshot are shown through it.
    const standalone = diskSnaps.items.filter((s) => !ownerSnapshot(s));
    return [
      ...vmSnaps.items.map((s) => this.toSnapshot(s, "vm")),
      ...standalone.map((s) => this.toSnapshot(s, "disk", { diskVm })),
    ]
      .filter((s) => !scope.vm || s.vm === scope.vm)
      .sort(
        (a, b) =>
          a.namespace.localeCompare(b.namespace) ||
          (a.createdAt ?? "").localeCompare(b.createdAt ?? "") ||
          a.name.localeCompare(b.name),
      );
  }

  async getSnapshot(namespace: string, name: string): Promise<Snapshot | undefined> {
    const s = await this.readVmSnapshot(namespace, name);
    if (s) {
      // Only an unfinished or failed snapshot needs its disk snapshots read for the diagnosis.
      const st = snapshotState(s, "VirtualMachineSnapshotReady");
      const children = st.ready
        ? []
        : (await this.kube.list(Deckhouse.diskSnapshots, namespace)).items.filter(
            (d) => ownerSnapshot(d) === name,
          );
      return this.toSnapshot(s, "vm", { children });
    }
    const d = await this.once.get(Deckhouse.diskSnapshots, namespace, name);
    if (!d) return undefined;
    const diskName = str(obj(d.spec).virtualDiskName) ?? "";
    const disk = await this.once.get(Deckhouse.disks, namespace, diskName);
    const attached = str(arr(obj(disk?.status).attachedToVirtualMachines)[0]?.name);
    const diskVm = new Map(attached ? [[`${namespace}/${diskName}`, attached]] : []);
    return this.toSnapshot(d, "disk", { diskVm });
  }

  async restoreInProgress(vm: VmState): Promise<string | undefined> {
    const ops = await this.restoreOperations(vm.namespace);
    return ops.find((o) => str(obj(o.spec).virtualMachineName) === vm.name)?.metadata.name;
  }

  async snapshotManifest(
    namespace: string,
    name: string,
    vm: string,
    options: CreateOptions,
  ): Promise<Manifest> {
    const classes = (await this.snapshotClassFields())
      ? await this.vmSnapshotClasses(namespace, vm)
      : undefined;
    return manifest(Deckhouse.vmSnapshots, namespace, name, {
      virtualMachineName: vm,
      requiredConsistency: options.consistency !== "best-effort",
      keepIPAddress: options.keepIp === "never" ? "Never" : "Always",
      ...(classes ? { volumeSnapshotClasses: classes } : {}),
    });
  }

  // Deckhouse before v0.24 names the VolumeSnapshotClass in the snapshot (VDSnapshot
  // volumeSnapshotClassName, VMSnapshot volumeSnapshotClasses); later versions removed the fields
  // and pick the class themselves.
  private storageReads?: Promise<{ scs: KubeObject[]; vscs: KubeObject[] }>;
  /** The VolumeSnapshotClass for a StorageClass: the one whose driver is its provisioner. */
  private async snapshotClassFor(storageClass: string | undefined): Promise<string> {
    const { scs, vscs } = await (this.storageReads ??= Promise.all([
      this.kube.list(Core.storageClasses),
      this.kube.list(Csi.volumeSnapshotClasses),
    ]).then(([a, b]) => ({ scs: a.items, vscs: b.items })));
    const sc = storageClass
      ? scs.find((x) => x.metadata.name === storageClass)
      : scs.find((x) => x.metadata.annotations?.[IS_DEFAULT_SC] === "true");
    const driver = str(sc?.provisioner);
    const candidates = vscs.filter((v) => str(v.driver) === driver);
    const chosen =
      candidates.length === 1
        ? candidates[0]
        : candidates.find((v) => v.metadata.annotations?.[IS_DEFAULT_VSC] === "true");
    if (!chosen)
      throw new VmsnapError(
        ErrorCode.PreflightBlocked,
        `no ${candidates.length ? "default " : ""}VolumeSnapshotClass for StorageClass ${sc?.metadata.name ?? storageClass ?? "(default)"} (provisioner ${driver ?? "unknown"}): this Deckhouse version (before v0.24) needs one in the snapshot`,
        candidates.length
          ? `annotate one of ${candidates.map((v) => v.metadata.name).join(", ")} with ${IS_DEFAULT_VSC}="true"`
          : `create a VolumeSnapshotClass with driver ${driver ?? "<provisioner>"}`,
      );
    return chosen.metadata.name;
  }

  private async vmSnapshotClasses(
    namespace: string,
    vm: string,
  ): Promise<{ storageClassName: string; volumeSnapshotClassName: string }[]> {
    const raw = await this.readVm(namespace, vm);
    const disks = await Promise.all(
      disksOf(raw ?? { metadata: { name: vm } }).map((d) =>
        this.once.get(Deckhouse.disks, namespace, d),
      ),
    );
    const classes = [
      ...new Set(disks.map((d) => str(obj(d?.status).storageClassName)).filter(Boolean)),
    ] as string[];
    return Promise.all(
      classes.map(async (sc) => ({
        storageClassName: sc,
        volumeSnapshotClassName: await this.snapshotClassFor(sc),
      })),
    );
  }

  async restoreAction(
    namespace: string,
    name: string,
    vm: VmState,
    snapshot: string,
  ): Promise<RestoreAction> {
    const api = await this.restoreApi();
    // Strict: a missing image fails the restore instead of being dropped silently.
    const m =
      api === "operation"
        ? manifest(Deckhouse.vmops, namespace, name, {
            type: "Restore",
            virtualMachineName: vm.name,
            restore: { mode: "Strict", virtualMachineSnapshotName: snapshot },
          })
        : manifest(Deckhouse.vmRestores, namespace, name, {
            restoreMode: "Safe",
            virtualMachineSnapshotName: snapshot,
          });
    return { kind: "create", name, manifest: m };
  }

  async cloneManifest(
    namespace: string,
    name: string,
    snapshot: string,
    target: string,
  ): Promise<Manifest> {
    if (target.length > CLONE_NAME_MAX)
      throw invalidInput(
        `clone target name ${JSON.stringify(target)} is ${target.length} characters long: Deckhouse allows at most ${CLONE_NAME_MAX}`,
        "choose a shorter --to name",
      );
    if (!(await this.served()).has(Deckhouse.vmsops.plural))
      throw invalidInput(
        "this Deckhouse cluster has no VirtualMachineSnapshotOperation (added in v1.2): it cannot create a VM from a snapshot",
        "upgrade the virtualization module, or restore the snapshot onto its own VM",
      );
    const s = await this.readVmSnapshot(namespace, snapshot);
    if (!s)
      throw invalidInput(
        `${snapshot} is not a VM snapshot: a disk snapshot is restored as a new disk`,
        `use \`vmsnap restore-disk ${snapshot} --to NEW_DISK\``,
      );
    const vm = vmNameOf(s);
    const disks = arr(obj(s.status).resources)
      .filter((r) => r.kind === "VirtualDisk")
      .map((r) => str(r.name) ?? "")
      .filter(Boolean);
    // Every object of the clone gets a name of its own: the VM becomes the target, each disk
    // `<target>-<disk>`, so nothing collides with the source VM's objects.
    const nameReplacement = [
      { from: { kind: "VirtualMachine", name: vm }, to: target },
      ...disks.map((d) => ({
        from: { kind: "VirtualDisk", name: d },
        to: fitName(`${target}-${d}`, "", CLONE_NAME_MAX),
      })),
    ];
    return manifest(Deckhouse.vmsops, namespace, name, {
      type: "CreateVirtualMachine",
      virtualMachineSnapshotName: snapshot,
      createVirtualMachine: { mode: "Strict", nameReplacement },
    });
  }

  async deleteNotes(_namespace: string, snapshot: Snapshot): Promise<string[]> {
    if (snapshot.disk !== undefined)
      return [
        `disk snapshot of VirtualDisk ${snapshot.disk}; its VolumeSnapshot${snapshot.contentName ? ` ${snapshot.contentName}` : ""} is deleted with it`,
      ];
    return [
      `its disk snapshots (${snapshot.includedVolumes.join(", ") || "none"}) and the stored VM configuration${snapshot.contentName ? ` (Secret ${snapshot.contentName})` : ""} are deleted with it`,
    ];
  }

  snapshotTypeOf(snapshot: Snapshot): ResourceType {
    return snapshot.disk !== undefined ? Deckhouse.diskSnapshots : Deckhouse.vmSnapshots;
  }

  runStateChange(vm: VmState, running: boolean): RunStateChange {
    const type = running ? "Start" : "Stop";
    return {
      kind: "create",
      manifest: manifest(
        Deckhouse.vmops,
        vm.namespace,
        this.operationName(vm.name, type.toLowerCase()),
        { type, virtualMachineName: vm.name },
      ),
    };
  }

  async restorePreview(vm: VmState, snapshot: Snapshot): Promise<RestorePreview> {
    const raw = await this.readVmSnapshot(vm.namespace, snapshot.name);
    const cut = Date.parse(snapshot.creationTime ?? snapshot.createdAt ?? "");
    const notes: string[] = [];
    const blockers: RestorePreview["blockers"] = [];
    const stored = await this.storedVm(vm.namespace, snapshot.contentName).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.code === 403) {
        notes.push(
          `the stored VM configuration (Secret ${snapshot.contentName}) is not readable with these credentials (get secrets): the configuration diff cannot be shown`,
        );
        return undefined;
      }
      throw err;
    });
    const specChanges = stored
      ? jsonDiff(obj(vm.raw.spec), obj(stored.spec), "spec").map(formatDiffLine)
      : [];
    if (stored?.metadata?.uid && vm.uid && stored.metadata.uid !== vm.uid)
      blockers.push({
        message: `the snapshot was taken of another VM ${vm.name} (uid ${stored.metadata.uid}; this one is ${vm.uid}): Deckhouse restores only onto the same VM`,
        fix: `create a new VM from it instead: vmsnap clone ${snapshot.name} --to NEW_VM`,
      });
    const inSnapshot = new Set(snapshot.includedVolumes);
    const volumesNotInSnapshot = disksOf(vm.raw).filter((d) => !inSnapshot.has(d));
    // Images are not in the snapshot: the restore re-attaches them, so they must still exist
    // (a Strict restore fails otherwise).
    const images = imagesOf(stored ? (stored as KubeObject) : vm.raw);
    const present = await Promise.all(
      images.map((i) =>
        i.kind === "ClusterVirtualImage"
          ? this.kube.getIfExists(Deckhouse.clusterImages, i.name)
          : this.kube.getIfExists(Deckhouse.images, i.name, vm.namespace),
      ),
    );
    images.forEach((i, n) => {
      if (!present[n])
        blockers.push({
          message: `${i.kind} ${i.name}, attached to the VM in the snapshot, no longer exists (images are not saved in snapshots)`,
          fix: `recreate ${i.kind} ${i.name}`,
        });
    });
    if (images.length)
      notes.push(
        `images are not in the snapshot; they are re-attached: ${images.map((i) => `${i.kind} ${i.name}`).join(", ")}`,
      );
    notes.push(
      `IP address: ${str(obj(raw?.spec).keepIPAddress) === "Never" ? "not kept by the snapshot (keepIPAddress Never)" : "the snapshot keeps the VM's IP address (keepIPAddress Always)"}`,
    );
    if ((await this.restoreApi()) === "operation") {
      const check = await this.dryRunRestore(vm, snapshot.name);
      for (const r of check.resources)
        if (r.status === "Failed")
          blockers.push({ message: `${r.kind} ${r.name}: ${r.message ?? "conflict"}` });
      if (check.failed && !check.resources.some((r) => r.status === "Failed"))
        blockers.push({ message: check.message ?? "Deckhouse's dry run of the restore failed" });
      if (!check.failed)
        notes.push(
          `Deckhouse's dry run (VirtualMachineOperation Restore, mode DryRun) found no conflict; it restores: ${
            check.resources.map((r) => `${r.kind} ${r.name}`).join(", ") || "the VM"
          }`,
        );
    } else
      notes.push(
        "this cluster serves the legacy VirtualMachineRestore (Deckhouse before v1.9): restoreMode Safe, no dry run",
      );
    return {
      snapshotAgeSeconds: Number.isFinite(cut)
        ? Math.max(0, Math.round((this.ctx.now().getTime() - cut) / 1000))
        : null,
      notes,
      blockers,
      specChanges,
      volumesNotInSnapshot,
    };
  }

  /** The VM as stored in the snapshot's Secret (data.vm, base64 JSON). */
  private async storedVm(
    namespace: string,
    secret: string | null,
  ): Promise<KubeObject | undefined> {
    if (!secret) return undefined;
    const s = await this.kube.getIfExists(Core.secrets, secret, namespace);
    const data = str(obj(s?.data).vm);
    if (!data) return undefined;
    try {
      return JSON.parse(Buffer.from(data, "base64").toString("utf8")) as KubeObject;
    } catch {
      return undefined;
    }
  }

  /** Deckhouse's own preview of a restore: a VirtualMachineOperation in DryRun mode. */
  private async dryRunRestore(vm: VmState, snapshot: string) {
    const m = manifest(
      Deckhouse.vmops,
      vm.namespace,
      this.operationName(vm.name, "restore-check"),
      {
        type: "Restore",
        virtualMachineName: vm.name,
        restore: { mode: "DryRun", virtualMachineSnapshotName: snapshot },
      },
    );
    // Validated by the API server first, like every manifest (and a missing permission is
    // reported before anything is created).
    await this.ctx.guard.create(m.type, m.body, { dryRun: true });
    await this.ctx.guard.create(m.type, m.body);
    const op = await waitForObject(
      this.kube,
      Deckhouse.vmops,
      m.body.metadata.name,
      vm.namespace,
      (o) => o !== undefined && operationState(o).done,
      { timeoutMs: DRY_RUN_TIMEOUT_MS },
    );
    return operationState(op!);
  }

  snapshotDeadlineMs(): number | undefined {
    return undefined;
  }

  async waitSnapshot(namespace: string, name: string, options: WaitOptions): Promise<Snapshot> {
    return this.waitSnapshotOf(
      Deckhouse.vmSnapshots,
      "VirtualMachineSnapshotReady",
      namespace,
      name,
      options,
    );
  }

  private async waitSnapshotOf(
    type: ResourceType,
    readyCondition: string,
    namespace: string,
    name: string,
    options: WaitOptions,
  ): Promise<Snapshot> {
    let last = "";
    await waitForObject(
      this.kube,
      type,
      name,
      namespace,
      (s) => {
        if (!s) throw notFound(`${type.kind} ${namespace}/${name} disappeared while waiting`);
        const st = snapshotState(s, readyCondition);
        return st.phase === "Ready" || st.phase === "Failed";
      },
      {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onChange: (s) => {
          if (!s) return;
          const st = snapshotState(s, readyCondition);
          const text = `snapshot ${name}: ${st.phase}${st.reason && st.phase !== "Ready" ? ` (${st.reason})` : ""}`;
          if (text !== last) options.onProgress?.(text);
          last = text;
        },
      },
    );
    this.onceReads = undefined; // the state changed: read it again
    const snap = await this.getSnapshot(namespace, name);
    if (!snap) throw notFound(`${type.kind} ${namespace}/${name} disappeared`);
    return snap;
  }

  async waitRestore(namespace: string, action: RestoreAction, options: WaitOptions): Promise<void> {
    if (action.kind !== "create") throw new Error("a Deckhouse restore is an operation object");
    const type = action.manifest.type;
    const doneCondition =
      type === Deckhouse.vmRestores ? "VirtualMachineRestoreReady" : "Completed";
    const op = await waitForObject(
      this.kube,
      type,
      action.name,
      namespace,
      (o) => {
        if (!o) throw notFound(`${type.kind} ${namespace}/${action.name} disappeared`);
        return operationState(o, doneCondition).done;
      },
      {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onChange: (o) =>
          o && options.onProgress?.(`restore ${action.name}: ${operationState(o).phase}`),
      },
    );
    const st = operationState(op!, doneCondition);
    if (st.failed || st.phase === "Superseded") {
      const failedParts = st.resources
        .filter((r) => r.status === "Failed")
        .map((r) => `${r.kind} ${r.name}: ${r.message ?? "failed"}`);
      throw new Error(
        `restore ${action.name} ${st.phase.toLowerCase()}${st.message ? `: ${st.message}` : ""}${failedParts.length ? ` (${failedParts.join("; ")})` : ""}`,
      );
    }
  }

  async waitClone(
    namespace: string,
    name: string,
    options: WaitOptions,
  ): Promise<{ phase: string; target: string }> {
    const op = await waitForObject(
      this.kube,
      Deckhouse.vmsops,
      name,
      namespace,
      (o) => {
        if (!o) throw notFound(`VirtualMachineSnapshotOperation ${namespace}/${name} disappeared`);
        return operationState(o).done;
      },
      {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onChange: (o) => o && options.onProgress?.(`clone ${name}: ${operationState(o).phase}`),
      },
    );
    const st = operationState(op!);
    const target =
      str(
        arr(obj(obj(op!.spec).createVirtualMachine).nameReplacement).find(
          (r) => obj(r.from).kind === "VirtualMachine",
        )?.to,
      ) ?? "";
    if (st.failed)
      throw Object.assign(
        new Error(
          `clone ${name} failed${st.message ? `: ${st.message}` : ""}${st.resources
            .filter((r) => r.status === "Failed")
            .map((r) => `; ${r.kind} ${r.name}: ${r.message ?? "failed"}`)
            .join("")}`,
        ),
        { cloneFailed: true },
      );
    return { phase: st.phase, target };
  }

  async waitVmStopped(vm: VmState, options: WaitOptions): Promise<void> {
    options.onProgress?.(`waiting for VM ${vm.name} to stop`);
    await waitForObject(
      this.kube,
      Deckhouse.vms,
      vm.name,
      vm.namespace,
      (v) => v !== undefined && vmPhase(v) === "Stopped",
      options,
    );
  }

  async waitSnapshotGone(namespace: string, name: string, options: WaitOptions): Promise<void> {
    for (const type of [Deckhouse.vmSnapshots, Deckhouse.diskSnapshots])
      await waitForObject(this.kube, type, name, namespace, (s) => s === undefined, options);
  }

  readonly disks: DiskSnapshotSupport = {
    getDisk: (namespace, name) => this.once.get(Deckhouse.disks, namespace, name),
    diskProblems: (disk, vm, options) => diskProblems(disk, vm, options),
    snapshotManifest: async (namespace, name, disk, options) => {
      const d = await this.once.get(Deckhouse.disks, namespace, disk);
      const cls = (await this.snapshotClassFields())
        ? await this.snapshotClassFor(str(obj(d?.status).storageClassName))
        : undefined;
      return manifest(Deckhouse.diskSnapshots, namespace, name, {
        virtualDiskName: disk,
        requiredConsistency: options.consistency !== "best-effort",
        ...(cls ? { volumeSnapshotClassName: cls } : {}),
      });
    },
    restoreManifest: (namespace, name, snapshot, source, size) =>
      manifest(Deckhouse.disks, namespace, name, {
        dataSource: {
          type: "ObjectRef",
          objectRef: { kind: "VirtualDiskSnapshot", name: snapshot },
        },
        persistentVolumeClaim: {
          size,
          ...(str(obj(source?.status).storageClassName)
            ? { storageClassName: str(obj(source?.status).storageClassName) }
            : {}),
        },
      }),
    waitSnapshot: (namespace, name, options) =>
      this.waitSnapshotOf(
        Deckhouse.diskSnapshots,
        "VirtualDiskSnapshotReady",
        namespace,
        name,
        options,
      ),
    waitDisk: async (namespace, name, options) => {
      const d = await waitForObject(
        this.kube,
        Deckhouse.disks,
        name,
        namespace,
        (o) =>
          o !== undefined && ["Ready", "Failed", "WaitForFirstConsumer"].includes(diskPhase(o)),
        {
          timeoutMs: options.timeoutMs,
          signal: options.signal,
          onChange: (o) => o && options.onProgress?.(`disk ${name}: ${diskPhase(o)}`),
        },
      );
      return diskPhase(d);
    },
    vmOfDisk: async (namespace, disk) => {
      const d = await this.once.get(Deckhouse.disks, namespace, disk);
      const name = str(arr(obj(d?.status).attachedToVirtualMachines)[0]?.name);
      return name ? this.readVm(namespace, name) : undefined;
    },
  };
}

function vmNameOf(s: KubeObject): string {
  return str(obj(s.spec).virtualMachineName) ?? "";
}

/** What blocks a snapshot of one disk (with the VM it is attached to, if any). */
function diskProblems(
  disk: KubeObject,
  vm: KubeObject | undefined,
  options: PreflightOptions,
): { problems: Finding[]; warnings: Finding[]; consistency: string } {
  const problems: Finding[] = [];
  const warnings: Finding[] = [];
  const phase = diskPhase(disk);
  if (phase === "Resizing")
    problems.push({
      message: `VirtualDisk ${disk.metadata.name} is being resized: Deckhouse cannot snapshot it now`,
      fix: "wait until the disk is Ready again",
    });
  else if (phase !== "Ready")
    problems.push({ message: `VirtualDisk ${disk.metadata.name} is ${phase}, not Ready` });
  const running = vm !== undefined && vmRunning(vm);
  const agent = vm !== undefined && agentReady(vm);
  const required = options.consistency !== "best-effort";
  if (running && !agent) {
    if (required)
      problems.push({
        message: `the disk is attached to VM ${vm.metadata.name}, which runs without a ready guest agent: with requiredConsistency Deckhouse fails the snapshot (PotentiallyInconsistent)`,
        fix: "start the guest agent, stop the VM, or use --consistency best-effort",
      });
    else
      warnings.push({
        message: "the VM runs without a guest agent: the snapshot is crash-consistent",
      });
  }
  return {
    problems,
    warnings,
    consistency: !running
      ? "consistent (disk detached or VM stopped)"
      : agent
        ? "application-consistent (the guest agent freezes the file systems)"
        : "crash-consistent",
  };
}
