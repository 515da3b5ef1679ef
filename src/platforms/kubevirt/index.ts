// KubeVirt / OpenShift Virtualization behind the SnapshotPlatform interface.
import { advice } from "../../core/advice.js";
import { notFound, operationFailed } from "../../core/errors.js";
import { isFinalCsiError } from "../csi-errors.js";
import { goDuration, parseDuration } from "../../core/duration.js";
import { byCreationTimestamp, vmNotFound, bySnapshotOrder, byVmOrder } from "../json.js";
import type { Preflight, Snapshot, VirtualMachine } from "../../core/schema.js";
import {
  Core,
  Csi,
  KubeVirt,
  apiVersionOf,
  keyOf,
  type KubeObject,
  type ResourceType,
} from "../../kube/resources.js";
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
  UnfinishedRestore,
  VmState,
  WaitOptions,
} from "../types.js";
import {
  isTrue,
  obj,
  runStrategyOf,
  snapshotStatusOf,
  sourceVmOf,
  str,
  vmStatus,
  volumesOf,
} from "./model.js";
import { StorageLookups, analyse } from "./preflight.js";
import * as restores from "./restore.js";
import { toSnapshot, volumeSnapshotNames } from "./snapshots.js";

const DEFAULT_FAILURE_DEADLINE_MS = 5 * 60_000;

export class KubeVirtPlatform implements SnapshotPlatform {
  readonly name = "kubevirt" as const;
  readonly snapshotType = KubeVirt.snapshots;
  readonly cloneNotes = ["the new VM is created stopped; MAC addresses are not copied"];
  private readonly storage: StorageLookups;

  constructor(private readonly ctx: PlatformContext) {
    this.storage = new StorageLookups(ctx.kube, ctx.discovery.groups.has("cdi.kubevirt.io"));
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
    return this.once.get(KubeVirt.vms, namespace, name);
  }

  async listVms(scope: { namespace?: string; labelSelector?: string }): Promise<VirtualMachine[]> {
    const [vms, vmis, snaps] = await Promise.all([
      this.kube.list(KubeVirt.vms, scope.namespace, { labelSelector: scope.labelSelector }),
      this.kube.list(KubeVirt.vmis, scope.namespace),
      this.kube.list(KubeVirt.snapshots, scope.namespace),
    ]);
    const vmiByKey = new Map(vmis.items.map((i) => [keyOf(i), i]));
    const snapsByVm = new Map<string, KubeObject[]>();
    for (const s of snaps.items) {
      const key = `${s.metadata.namespace}/${sourceVmOf(s)}`;
      snapsByVm.set(key, [...(snapsByVm.get(key) ?? []), s]);
    }
    return vms.items
      .map((vm) => {
        const key = keyOf(vm);
        const vmi = vmiByKey.get(key);
        const mine = (snapsByVm.get(key) ?? []).sort(byCreationTimestamp);
        const last = mine.at(-1);
        // Only disks with data decide; KubeVirt also lists cloud-init and containerDisk volumes.
        const dataVolumes = new Set(
          volumesOf(vm)
            .filter((v) => v.claimName)
            .map((v) => v.name),
        );
        const statuses = (
          (vmStatus(vm).volumeSnapshotStatuses ?? []) as {
            name?: string;
            enabled?: boolean;
            reason?: string;
          }[]
        ).filter((s) => dataVolumes.has(s.name ?? ""));
        return {
          namespace: vm.metadata.namespace ?? "",
          name: vm.metadata.name,
          platform: "kubevirt" as const,
          status: str(vmStatus(vm).printableStatus) ?? "Unknown",
          running: Boolean(vmi),
          guestAgent: isTrue(vmi, "AgentConnected"),
          snapshotCount: mine.length,
          lastSnapshot: last
            ? { name: last.metadata.name, creationTime: snapshotStatusOf(last).creationTime }
            : null,
          snapshottable: statuses.length ? statuses.every((s) => s.enabled === true) : null,
          reasons: statuses
            .filter((s) => s.enabled === false)
            .map((s) => s.reason ?? `${s.name ?? "volume"}: not snapshottable`),
        };
      })
      .sort(byVmOrder);
  }

  volumeClaims(vm: VmState): { volume: string; claim: string }[] {
    return volumesOf(vm.raw).flatMap((v) =>
      v.claimName ? [{ volume: v.name, claim: v.claimName }] : [],
    );
  }

  async getVm(namespace: string, name: string, read?: { fresh?: boolean }): Promise<VmState> {
    if (read?.fresh) this.onceReads = undefined;
    const vm = await this.readVm(namespace, name);
    if (!vm) throw vmNotFound(namespace, name);
    return this.vmState(vm);
  }

  private vmState(vm: KubeObject): VmState {
    const status = str(vmStatus(vm).printableStatus) ?? "Unknown";
    // Running means "a VMI exists or is wanted": anything but a stopped VM must be stopped first.
    const running = !["Stopped", "Unknown"].includes(status) || vmStatus(vm).created === true;
    return {
      namespace: vm.metadata.namespace ?? "",
      name: vm.metadata.name,
      uid: vm.metadata.uid ?? "",
      running,
      status,
      runStrategy: runStrategyOf(vm),
      raw: vm,
    };
  }

  async preflight(namespace: string, name: string): Promise<Preflight> {
    const [vm, vmi, claims, snaps, storage] = await Promise.all([
      this.readVm(namespace, name),
      this.kube.getIfExists(KubeVirt.vmis, name, namespace),
      this.kube.list(Core.pvcs, namespace),
      this.kube.list(KubeVirt.snapshots, namespace),
      this.storage.load(),
    ]);
    if (!vm) throw vmNotFound(namespace, name);
    return analyse({
      vm,
      vmi,
      claims: claims.items,
      existingSnapshots: snaps.items.filter((s) => sourceVmOf(s) === name).length,
      storage,
      words: this.ctx.words,
    });
  }

  async preflightAll(scope: {
    namespace?: string;
    labelSelector: string;
  }): Promise<{ vm: VmState; preflight: Preflight }[]> {
    // Seven requests for any number of VMs: the matching VMs, and the scope's VMIs, claims and
    // snapshots, plus the three cluster-wide storage lists.
    const [vms, vmis, claims, snaps, storage] = await Promise.all([
      this.kube.list(KubeVirt.vms, scope.namespace, { labelSelector: scope.labelSelector }),
      this.kube.list(KubeVirt.vmis, scope.namespace),
      this.kube.list(Core.pvcs, scope.namespace),
      this.kube.list(KubeVirt.snapshots, scope.namespace),
      this.storage.load(),
    ]);
    const vmiByKey = new Map(vmis.items.map((i) => [keyOf(i), i]));
    const claimsByNs = new Map<string, KubeObject[]>();
    for (const c of claims.items) {
      const ns = c.metadata.namespace ?? "";
      claimsByNs.set(ns, [...(claimsByNs.get(ns) ?? []), c]);
    }
    const snapCount = new Map<string, number>();
    for (const s of snaps.items) {
      const key = `${s.metadata.namespace}/${sourceVmOf(s)}`;
      snapCount.set(key, (snapCount.get(key) ?? 0) + 1);
    }
    return vms.items.map((vm) => ({
      vm: this.vmState(vm),
      preflight: analyse({
        vm,
        vmi: vmiByKey.get(keyOf(vm)),
        claims: claimsByNs.get(vm.metadata.namespace ?? "") ?? [],
        existingSnapshots: snapCount.get(keyOf(vm)) ?? 0,
        storage,
        words: this.ctx.words,
      }),
    }));
  }

  snapshotOf(raw: KubeObject): Snapshot {
    return toSnapshot(raw);
  }

  async listSnapshots(scope: {
    namespace?: string;
    vm?: string;
    labelSelector?: string;
  }): Promise<Snapshot[]> {
    const list = await this.kube.list(KubeVirt.snapshots, scope.namespace, {
      labelSelector: scope.labelSelector,
    });
    return list.items
      .filter((s) => !scope.vm || sourceVmOf(s) === scope.vm)
      .map((s) => toSnapshot(s))
      .sort(bySnapshotOrder);
  }

  async getSnapshot(namespace: string, name: string): Promise<Snapshot | undefined> {
    const s = await this.kube.getIfExists(KubeVirt.snapshots, name, namespace);
    if (!s) return undefined;
    const contentName = snapshotStatusOf(s).contentName ?? `vmsnapshot-content-${s.metadata.uid}`;
    const content = await this.kube.getIfExists(KubeVirt.snapshotContents, contentName, namespace);
    const names = volumeSnapshotNames(content);
    const volumeSnapshots = (
      await Promise.all(names.map((n) => this.kube.getIfExists(Csi.volumeSnapshots, n, namespace)))
    ).filter((v): v is KubeObject => Boolean(v));
    return toSnapshot(s, { content, volumeSnapshots });
  }

  restoreInProgress(vm: VmState): Promise<string | undefined> {
    return restores.restoreInProgress(this.kube, vm);
  }

  unfinishedRestore(vm: VmState): Promise<UnfinishedRestore | undefined> {
    return restores.unfinishedRestore(this.kube, vm);
  }

  // The VM controller starts a Manual VM only on a start request (virtctl start, the start
  // subresource: kubevirt/kubevirt v1.9.0 pkg/virt-controller/watch/vm/vm.go, RunStrategyManual);
  // setting runStrategy back to Manual after a stop leaves it stopped.
  startNotByRunSetting(vm: VmState): string | undefined {
    return vm.runStrategy === "Manual"
      ? `its runStrategy is Manual: putting it back does not start the VM (KubeVirt starts a Manual VM only on a start request); start it with ${this.manualStart(vm)}`
      : undefined;
  }

  async snapshotManifest(
    namespace: string,
    name: string,
    vm: string,
    options: CreateOptions,
  ): Promise<Manifest> {
    return {
      type: KubeVirt.snapshots,
      body: {
        apiVersion: apiVersionOf(KubeVirt.snapshots),
        kind: "VirtualMachineSnapshot",
        metadata: { name, namespace },
        spec: {
          source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm },
          ...(options.deadlineMs !== undefined
            ? { failureDeadline: goDuration(options.deadlineMs) }
            : {}),
        },
      },
    };
  }

  async restoreAction(
    namespace: string,
    name: string,
    vm: VmState,
    snapshot: string,
  ): Promise<RestoreAction> {
    return {
      kind: "create",
      name,
      manifest: restores.restoreManifest(namespace, name, vm.name, snapshot),
    };
  }

  async deleteNotes(): Promise<string[]> {
    return [];
  }

  async cloneManifest(
    namespace: string,
    name: string,
    snapshot: string,
    target: string,
  ): Promise<Manifest> {
    return restores.cloneManifest(namespace, name, snapshot, target);
  }

  snapshotTypeOf(): ResourceType {
    return KubeVirt.snapshots;
  }

  runStateChange(vm: VmState, running: boolean): RunStateChange {
    const runStrategy = running
      ? vm.runStrategy === "Halted"
        ? "Always"
        : vm.runStrategy
      : "Halted";
    return { kind: "patch", type: KubeVirt.vms, patch: { spec: { runStrategy, running: null } } };
  }

  restorePreview(vm: VmState, snapshot: Snapshot): Promise<RestorePreview> {
    return restores.restorePreview(this.kube, this.ctx.now(), vm, snapshot);
  }

  explainRefusal(err: unknown) {
    return restores.explainRefusal(err);
  }

  failedByDeadline(snapshot: Snapshot): boolean {
    return snapshot.conditions.some(
      (c) => c.type === "Failure" && /deadline/i.test(c.reason ?? ""),
    );
  }

  manualStart(vm: VmState): string {
    return `\`virtctl start ${vm.name} -n ${vm.namespace}\``;
  }

  snapshotDeadlineMs(snapshot: KubeObject): number | undefined {
    const d = parseDuration(str(obj(snapshot.spec).failureDeadline));
    if (d === 0) return undefined;
    return d ?? DEFAULT_FAILURE_DEADLINE_MS;
  }

  async waitSnapshot(namespace: string, name: string, options: WaitOptions): Promise<Snapshot> {
    let lastPhase = "";
    let terminal: string | undefined;
    const obj = await waitForObject(
      this.kube,
      KubeVirt.snapshots,
      name,
      namespace,
      (s) => {
        if (!s || s.metadata.deletionTimestamp)
          throw notFound(
            `VirtualMachineSnapshot ${namespace}/${name} was deleted while waiting for it to be ready`,
            `it was deleted by someone else; create it again if it is still wanted`,
          );
        const st = snapshotStatusOf(s);
        if (st.phase !== "Succeeded" && isFinalCsiError(st.error)) {
          terminal = st.error!;
          return true;
        }
        return st.phase === "Failed" || (st.phase === "Succeeded" && st.readyToUse);
      },
      {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onChange: (s) => {
          if (!s) return;
          const st = snapshotStatusOf(s);
          // Succeeded is KubeVirt's "taken": not yet ready to use until every volume is.
          const state =
            st.phase === "Succeeded"
              ? st.readyToUse
                ? "Succeeded, ready"
                : "taken, waiting until it is ready"
              : st.phase;
          const phase = `${state}${st.error ? `, error: ${st.error}` : ""}`;
          if (phase !== lastPhase) options.onProgress?.(`snapshot ${name}: ${phase}`);
          lastPhase = phase;
        },
      },
    );
    if (terminal)
      throw operationFailed(
        `snapshot ${namespace}/${name} cannot complete: the storage refused it (${terminal}); KubeVirt keeps it in progress until its failureDeadline`,
        advice`see ${{ do: "describe", namespace, snapshot: name }} for the causes; delete it (${{ do: "delete", namespace, snapshot: name }}) once the storage is fixed, and take a new one`,
      );
    // KubeVirt releases the VM's snapshot lock one reconcile after the snapshot is done
    // (kubevirt/kubevirt v1.9.0 pkg/storage/snapshot/snapshot.go updateVMSnapshot,
    // canUnlockSource); until then its webhook refuses run-state and volume changes of the VM.
    // What follows a snapshot (a restore, a start) waits for the lock to go.
    const vmName = sourceVmOf(obj!);
    if (!terminal && vmName)
      await waitForObject(
        this.kube,
        KubeVirt.vms,
        vmName,
        namespace,
        (v) => !v || str(vmStatus(v).snapshotInProgress) !== name,
        { timeoutMs: options.timeoutMs, signal: options.signal },
      );
    // A ready snapshot with every volume included has nothing for the content and volume
    // snapshots to add (they only explain failures and excluded disks): no further reads.
    const st = snapshotStatusOf(obj!);
    if (st.phase === "Succeeded" && st.readyToUse && st.excluded.length === 0)
      return toSnapshot(obj!);
    return (await this.getSnapshot(namespace, name)) ?? toSnapshot(obj!);
  }

  waitRestore(namespace: string, action: RestoreAction, options: WaitOptions): Promise<void> {
    return restores.waitRestore(this.kube, namespace, action, options);
  }

  waitClone(
    namespace: string,
    name: string,
    options: WaitOptions,
  ): Promise<{ phase: string; target: string }> {
    return restores.waitClone(this.kube, namespace, name, options);
  }

  async waitVmUnlocked(vm: VmState, options: WaitOptions): Promise<void> {
    await waitForObject(
      this.kube,
      KubeVirt.vms,
      vm.name,
      vm.namespace,
      (v) => !v || (!vmStatus(v).snapshotInProgress && !vmStatus(v).restoreInProgress),
      options,
    );
  }

  async waitVmStopped(vm: VmState, options: WaitOptions): Promise<void> {
    options.onProgress?.(`waiting for VM ${vm.name} to stop`);
    await waitForObject(
      this.kube,
      KubeVirt.vmis,
      vm.name,
      vm.namespace,
      (i) => i === undefined,
      options,
    );
    await waitForObject(
      this.kube,
      KubeVirt.vms,
      vm.name,
      vm.namespace,
      (v) => str(obj(v?.status).printableStatus) === "Stopped",
      options,
    );
  }

  async waitSnapshotGone(namespace: string, name: string, options: WaitOptions): Promise<void> {
    await waitForObject(
      this.kube,
      KubeVirt.snapshots,
      name,
      namespace,
      (s) => s === undefined,
      options,
    );
  }
}
