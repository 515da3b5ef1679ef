// VMware vSphere VM Operator behind the SnapshotPlatform interface. Snapshots form a tree per VM;
// restore is a revert (VirtualMachine spec.currentSnapshotName); clone is not offered by the
// platform and is refused clearly.
import { ErrorCode, VmsnapError, notFound } from "../../core/errors.js";
import {
  API_VERSION,
  type Finding,
  type Preflight,
  type Snapshot,
  type VirtualMachine,
} from "../../core/schema.js";
import { quantityBytes } from "../../core/quantity.js";
import { Core, Csi, keyOf, type KubeObject, type ResourceType } from "../../kube/resources.js";
import { ReadOnce } from "../../kube/read-once.js";
import { waitForObject } from "../../kube/watch.js";
import type {
  CreateOptions,
  Manifest,
  PlatformContext,
  RestoreAction,
  RunStateChange,
  RestorePreview,
  SnapshotPlatform,
  VmState,
  WaitOptions,
} from "../types.js";
import {
  MAX_SNAPSHOTS,
  VM_NAME_LABEL,
  apiVersionFor,
  arr,
  claimsOf,
  condition,
  isWindowsGuest,
  obj,
  powerState,
  sharedScsi,
  snapshotState,
  str,
  toolsRunning,
  types,
  vksNodeLabel,
} from "./model.js";

const REVERT_CONDITION = "VirtualMachineSnapshotRevertSucceeded";
const DEFAULT_QUIESCE_TIMEOUT = "5m";

export class VmOperatorPlatform implements SnapshotPlatform {
  readonly name = "vmoperator" as const;
  readonly snapshotType;
  readonly cloneNotes = [];
  private readonly t;

  constructor(private readonly ctx: PlatformContext) {
    this.t = types(apiVersionFor(ctx.discovery));
    this.snapshotType = this.t.snapshots;
  }

  private get kube() {
    return this.ctx.kube;
  }

  // One read of a VM per invocation: platform resolution and the operation share it.
  private onceReads?: ReadOnce;
  private get once(): ReadOnce {
    return (this.onceReads ??= new ReadOnce(this.ctx.kube));
  }
  private readVm(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.once.get(this.t.vms, namespace, name);
  }

  async listVms(scope: { namespace?: string; labelSelector?: string }): Promise<VirtualMachine[]> {
    const [vms, snaps] = await Promise.all([
      this.kube.list(this.t.vms, scope.namespace, { labelSelector: scope.labelSelector }),
      this.kube.list(this.t.snapshots, scope.namespace),
    ]);
    return vms.items
      .map((vm) => {
        const mine = snaps.items
          .filter(
            (s) =>
              s.metadata.namespace === vm.metadata.namespace &&
              str(obj(s.spec).vmName) === vm.metadata.name,
          )
          .sort((a, b) =>
            (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
          );
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
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  async getVm(namespace: string, name: string): Promise<VmState> {
    const vm = await this.readVm(namespace, name);
    if (!vm)
      throw notFound(
        `VirtualMachine ${namespace}/${name} not found`,
        "list the VMs with `vmsnap vms`",
      );
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

  async preflight(namespace: string, name: string): Promise<Preflight> {
    const [vm, snaps, claims] = await Promise.all([
      this.readVm(namespace, name),
      this.kube.list(this.t.snapshots, namespace, { labelSelector: `${VM_NAME_LABEL}=${name}` }),
      this.kube.list(Core.pvcs, namespace),
    ]);
    if (!vm)
      throw notFound(
        `VirtualMachine ${namespace}/${name} not found`,
        "list the VMs with `vmsnap vms`",
      );
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
        fix: "delete old snapshots (vmsnap list VM --tree, vmsnap delete)",
      });
    else if (count >= MAX_SNAPSHOTS - 4)
      warnings.push({
        message: `the VM has ${count} snapshots; VM Operator advises fewer than ${MAX_SNAPSHOTS}`,
        fix: "delete snapshots you no longer need",
      });
    if (state === "PoweredOn" && !tools)
      warnings.push({
        message:
          "VMware Tools are not running: the guest cannot be quiesced, the snapshot is crash-consistent (include --memory to capture the running state)",
        fix: "start VMware Tools in the guest, or power the VM off for an offline snapshot",
      });
    if (state === "PoweredOn" && tools && isWindowsGuest(vm))
      warnings.push({
        message: "Windows guest: quiescing uses VSS; a slow freeze can time out",
        fix: "set --quiesce-timeout, or snapshot at a quiet time",
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

  private toSnapshot(s: KubeObject, all: KubeObject[], vm?: KubeObject): Snapshot {
    const st = snapshotState(s);
    const spec = obj(s.spec);
    const status = obj(s.status);
    const children = arr(status.children)
      .map((c) => str(c.name) ?? "")
      .filter(Boolean);
    const parent =
      all.find((p) => arr(obj(p.status).children).some((c) => c.name === s.metadata.name))?.metadata
        .name ?? null;
    const current = str(obj(obj(vm?.status).currentSnapshot).name) === s.metadata.name;
    const memory = spec.memory === true;
    const quiesced = status.quiesced === true;
    // Without memory or quiesce nothing froze the guest; VM Operator does not record whether the
    // VM was running, so the honest floor is crash-consistent.
    const consistency = !st.ready
      ? "unknown"
      : memory
        ? "consistent (memory included)"
        : quiesced
          ? "application-consistent"
          : "crash-consistent";
    const notes = [
      ...(memory
        ? ["includes the VM's memory: a revert resumes the running state"]
        : ["no memory: a revert leaves the VM powered off"]),
      ...(quiesced ? ["the guest file systems were quiesced by VMware Tools"] : []),
      ...(str(spec.description) ? [`description: ${String(spec.description)}`] : []),
    ];
    const diagnosis: string[] = [];
    if (st.phase === "Failed") diagnosis.push(`vSphere could not create the snapshot: ${st.error}`);
    const waiting = condition(s, "VirtualMachineSnapshotReady");
    if (st.phase === "InProgress" && str(waiting?.reason))
      diagnosis.push(
        `waiting: ${String(waiting?.reason)}${str(waiting?.message) ? ` (${String(waiting?.message)})` : ""}`,
      );
    return {
      apiVersion: API_VERSION,
      kind: "Snapshot",
      name: s.metadata.name,
      namespace: s.metadata.namespace ?? "",
      platform: "vmoperator",
      vm: str(spec.vmName) ?? "",
      phase: st.phase,
      readyToUse: st.ready,
      createdAt: s.metadata.creationTimestamp ?? null,
      creationTime: st.ready
        ? (str(condition(s, "VirtualMachineSnapshotCreated")?.lastTransitionTime) ??
          s.metadata.creationTimestamp ??
          null)
        : null,
      consistency,
      indications: [...(memory ? ["Memory"] : []), ...(quiesced ? ["Quiesced"] : [])],
      notes,
      includedVolumes: [],
      excludedVolumes: [],
      contentName: str(status.uniqueID) ?? null,
      error: st.error,
      conditions: arr(status.conditions).map((c) => ({
        type: str(c.type) ?? "",
        status: str(c.status) ?? "",
        ...(str(c.reason) ? { reason: str(c.reason) } : {}),
        ...(str(c.message) ? { message: str(c.message) } : {}),
      })),
      diagnosis,
      tree: { parent, children, current },
    };
  }

  async listSnapshots(scope: {
    namespace?: string;
    vm?: string;
    labelSelector?: string;
  }): Promise<Snapshot[]> {
    const selector = [scope.labelSelector, scope.vm ? `${VM_NAME_LABEL}=${scope.vm}` : undefined]
      .filter(Boolean)
      .join(",");
    const [snaps, vms] = await Promise.all([
      this.kube.list(this.t.snapshots, scope.namespace, { labelSelector: selector || undefined }),
      this.kube.list(this.t.vms, scope.namespace),
    ]);
    const vmByKey = new Map(vms.items.map((v) => [keyOf(v), v]));
    return snaps.items
      .filter((s) => !scope.vm || str(obj(s.spec).vmName) === scope.vm)
      .map((s) =>
        this.toSnapshot(
          s,
          snaps.items,
          vmByKey.get(`${s.metadata.namespace}/${String(obj(s.spec).vmName)}`),
        ),
      )
      .sort(
        (a, b) =>
          a.namespace.localeCompare(b.namespace) ||
          (a.createdAt ?? "").localeCompare(b.createdAt ?? "") ||
          a.name.localeCompare(b.name),
      );
  }

  async getSnapshot(namespace: string, name: string): Promise<Snapshot | undefined> {
    const s = await this.kube.getIfExists(this.t.snapshots, name, namespace);
    if (!s) return undefined;
    const vmName = str(obj(s.spec).vmName) ?? "";
    const [siblings, vm] = await Promise.all([
      this.kube.list(this.t.snapshots, namespace, { labelSelector: `${VM_NAME_LABEL}=${vmName}` }),
      this.kube.getIfExists(this.t.vms, vmName, namespace),
    ]);
    return this.toSnapshot(s, siblings.items, vm);
  }

  async restoreInProgress(vm: VmState): Promise<string | undefined> {
    return str(obj(vm.raw.spec).currentSnapshotName);
  }

  async snapshotManifest(
    namespace: string,
    name: string,
    vm: string,
    options: CreateOptions,
    state?: VmState,
  ): Promise<Manifest> {
    // Quiesce whenever VMware Tools can do it, as the preflight promises; the timeout defaults
    // to the low end of VM Operator's documented 5–240 minutes.
    const canQuiesce =
      state !== undefined && powerState(state.raw) === "PoweredOn" && toolsRunning(state.raw);
    const quiesceTimeout =
      options.quiesceTimeout ?? (canQuiesce ? DEFAULT_QUIESCE_TIMEOUT : undefined);
    return {
      type: this.t.snapshots,
      body: {
        apiVersion: `${this.t.snapshots.group}/${this.t.snapshots.version}`,
        kind: "VirtualMachineSnapshot",
        metadata: { name, namespace, labels: { [VM_NAME_LABEL]: vm } },
        spec: {
          vmName: vm,
          ...(options.memory ? { memory: true } : {}),
          ...(quiesceTimeout ? { quiesce: { timeout: quiesceTimeout } } : {}),
          ...(options.description ? { description: options.description } : {}),
        },
      },
    };
  }

  async restoreAction(
    _namespace: string,
    name: string,
    vm: VmState,
    snapshot: string,
  ): Promise<RestoreAction> {
    return {
      kind: "patch",
      name,
      type: this.t.vms,
      vm: vm.name,
      snapshot,
      patch: { spec: { currentSnapshotName: snapshot } },
    };
  }

  async cloneManifest(): Promise<Manifest> {
    throw new VmsnapError(
      ErrorCode.InvalidInput,
      "clone from a snapshot is not supported by VM Operator: its snapshots can only be reverted in place",
      "restore (revert) the VM with `vmsnap restore VM SNAPSHOT`, or create a new VM from a VM image",
    );
  }

  async deleteNotes(namespace: string, snapshot: Snapshot): Promise<string[]> {
    const children = snapshot.tree?.children ?? [];
    const parent = snapshot.tree?.parent;
    return [
      children.length
        ? `its children (${children.join(", ")}) are kept and attached to ${parent ?? "the root"}; their data stays restorable`
        : "it has no child snapshots",
      ...(snapshot.tree?.current
        ? [`it is the VM's current snapshot: the current snapshot becomes ${parent ?? "none"}`]
        : []),
      `vSphere consolidates the snapshot's disks into the VM (namespace ${namespace})`,
    ];
  }

  snapshotTypeOf(): ResourceType {
    return this.t.snapshots;
  }

  runStateChange(vm: VmState, running: boolean): RunStateChange {
    const target = running
      ? vm.runStrategy === "PoweredOff"
        ? "PoweredOn"
        : vm.runStrategy
      : "PoweredOff";
    return { kind: "patch", type: this.t.vms, patch: { spec: { powerState: target } } };
  }

  async restorePreview(vm: VmState, snapshot: Snapshot): Promise<RestorePreview> {
    const raw = await this.kube.getIfExists(this.t.snapshots, snapshot.name, vm.namespace);
    const memory = obj(raw?.spec).memory === true;
    const cut = Date.parse(snapshot.creationTime ?? snapshot.createdAt ?? "");
    // vSphere takes the snapshot at some point after the object exists: any VolumeSnapshot from
    // the object's creation on may lie between it and now.
    const taken = Date.parse(snapshot.createdAt ?? snapshot.creationTime ?? "");
    // A revert cannot cross a CSI VolumeSnapshot of one of the VM's volumes (VMO #1140).
    const claims = new Set(claimsOf(vm.raw).map((c) => c.claimName));
    const vss = claims.size
      ? await this.kube.list(Csi.volumeSnapshots, vm.namespace)
      : { items: [] as KubeObject[] };
    const crossing = vss.items.filter(
      (v) =>
        claims.has(str(obj(obj(v.spec).source).persistentVolumeClaimName) ?? "") &&
        Date.parse(v.metadata.creationTimestamp ?? "") >= taken,
    );
    return {
      snapshotAgeSeconds: Number.isFinite(cut)
        ? Math.max(0, Math.round((this.ctx.now().getTime() - cut) / 1000))
        : null,
      specChanges: [],
      volumesNotInSnapshot: [],
      notes: [
        "VM Operator replaces the VM's spec, labels and annotations with those saved in the snapshot (the saved copy lives in vSphere, so no diff can be shown).",
        memory
          ? "The snapshot includes memory: the VM resumes in the state it had."
          : "The snapshot has no memory: VM Operator leaves the VM powered off after the revert.",
      ],
      blockers: crossing.map((v) => ({
        message: `CSI VolumeSnapshot ${v.metadata.name} of a VM volume was taken after the snapshot; VM Operator cannot revert across it`,
        fix: `delete the VolumeSnapshot ${v.metadata.name} first (VolumeSnapshots should be deleted before retrying the revert)`,
      })),
    };
  }

  snapshotDeadlineMs(): number | undefined {
    return undefined;
  }

  async waitSnapshot(namespace: string, name: string, options: WaitOptions): Promise<Snapshot> {
    let last = "";
    await waitForObject(
      this.kube,
      this.t.snapshots,
      name,
      namespace,
      (s) => {
        if (!s)
          throw notFound(`VirtualMachineSnapshot ${namespace}/${name} disappeared while waiting`);
        return snapshotState(s).phase !== "InProgress";
      },
      {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onChange: (s) => {
          if (!s) return;
          const text = `snapshot ${name}: ${snapshotState(s).phase}`;
          if (text !== last) options.onProgress?.(text);
          last = text;
        },
      },
    );
    const snap = await this.getSnapshot(namespace, name);
    if (!snap) throw notFound(`VirtualMachineSnapshot ${namespace}/${name} disappeared`);
    return snap;
  }

  async waitRestore(namespace: string, action: RestoreAction, options: WaitOptions): Promise<void> {
    if (action.kind !== "patch") throw new Error("a VM Operator restore is a revert");
    await waitForObject(
      this.kube,
      this.t.vms,
      action.vm,
      namespace,
      (vm) => {
        if (!vm)
          throw notFound(`VirtualMachine ${namespace}/${action.vm} disappeared during the revert`);
        const failed = condition(vm, REVERT_CONDITION);
        if (str(failed?.status) === "False" && !/InProgress/.test(str(failed?.reason) ?? "")) {
          throw Object.assign(
            new Error(
              `revert failed: ${str(failed?.reason) ?? ""} ${str(failed?.message) ?? ""}`.trim(),
            ),
            { restoreFailed: true },
          );
        }
        return (
          !str(obj(vm.spec).currentSnapshotName) &&
          str(obj(obj(vm.status).currentSnapshot).name) === action.snapshot
        );
      },
      {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onChange: () => options.onProgress?.(`reverting ${action.vm} to ${action.snapshot}`),
      },
    );
  }

  async waitClone(): Promise<{ phase: string; target: string }> {
    return this.cloneManifest().then(() => ({ phase: "", target: "" }));
  }

  async waitVmStopped(vm: VmState, options: WaitOptions): Promise<void> {
    options.onProgress?.(`waiting for VM ${vm.name} to power off`);
    await waitForObject(
      this.kube,
      this.t.vms,
      vm.name,
      vm.namespace,
      (v) => v !== undefined && powerState(v) === "PoweredOff",
      options,
    );
  }

  async waitSnapshotGone(namespace: string, name: string, options: WaitOptions): Promise<void> {
    await waitForObject(
      this.kube,
      this.t.snapshots,
      name,
      namespace,
      (s) => s === undefined,
      options,
    );
  }
}
