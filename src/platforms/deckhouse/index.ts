// Deckhouse Virtualization behind the SnapshotPlatform interface. VM snapshots are
// VirtualMachineSnapshots (with one VirtualDiskSnapshot per disk); restore is a
// VirtualMachineOperation of type Restore (or the legacy VirtualMachineRestore where only that is
// served); clone is a VirtualMachineSnapshotOperation CreateVirtualMachine; disks have their own
// snapshots and are restored as new VirtualDisks. The parts: model (reading objects), preflight,
// snapshots, restore (and clone, start/stop), disks; api holds what they read once.
import type { Preflight, Snapshot, VirtualMachine } from "../../core/schema.js";
import { Deckhouse, type KubeObject, type ResourceType } from "../../kube/resources.js";
import { waitForObject } from "../../kube/watch.js";
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
import { DeckhouseApi, type RestoreApi } from "./api.js";
import { diskSupport } from "./disks.js";
import { disksOf } from "./model.js";
import * as vms from "./preflight.js";
import * as restores from "./restore.js";
import * as admission from "./admission.js";
import * as snapshots from "./snapshots.js";

export { CLONE_NAME_MAX } from "./restore.js";

export class DeckhousePlatform implements SnapshotPlatform {
  readonly name = "deckhouse" as const;
  readonly snapshotType = Deckhouse.vmSnapshots;
  readonly cloneNotes = [
    "Deckhouse creates the VM and new disks from the snapshot's disk snapshots (VirtualMachineSnapshotOperation CreateVirtualMachine, mode Strict); each disk is named <new VM>-<disk>",
    "the clone gets its own IP address; attached images must still exist",
  ];
  private readonly api: DeckhouseApi;
  readonly disks: DiskSnapshotSupport;

  constructor(ctx: PlatformContext) {
    this.api = new DeckhouseApi(ctx);
    this.disks = diskSupport(this.api);
  }

  restoreApi(): Promise<RestoreApi> {
    return this.api.restoreApi();
  }

  listVms(scope: { namespace?: string; labelSelector?: string }): Promise<VirtualMachine[]> {
    return vms.listVms(this.api, scope);
  }

  volumeClaims(vm: VmState): { volume: string; claim: string }[] {
    // A Deckhouse VM names its disks (VirtualDisk); the disk is what a restore may replace.
    return disksOf(vm.raw).map((d) => ({ volume: d, claim: d }));
  }

  getVm(namespace: string, name: string, read?: { fresh?: boolean }): Promise<VmState> {
    if (read?.fresh) this.api.forget();
    return vms.getVm(this.api, namespace, name);
  }

  preflight(namespace: string, name: string, options: PreflightOptions = {}): Promise<Preflight> {
    return vms.preflight(this.api, namespace, name, options);
  }

  snapshotOf(raw: KubeObject): Snapshot {
    return snapshots.toSnapshot(
      this.api.ctx.words,
      raw,
      raw.kind === "VirtualDiskSnapshot" ? "disk" : "vm",
    );
  }

  listSnapshots(scope: {
    namespace?: string;
    vm?: string;
    labelSelector?: string;
  }): Promise<Snapshot[]> {
    return snapshots.listSnapshots(this.api, scope);
  }

  getSnapshot(namespace: string, name: string): Promise<Snapshot | undefined> {
    return snapshots.getSnapshot(this.api, namespace, name);
  }

  restoreInProgress(vm: VmState): Promise<string | undefined> {
    return restores.restoreInProgress(this.api, vm);
  }

  snapshotManifest(
    namespace: string,
    name: string,
    vm: string,
    options: CreateOptions,
  ): Promise<Manifest> {
    return snapshots.snapshotManifest(this.api, namespace, name, vm, options);
  }

  restoreAction(
    namespace: string,
    name: string,
    vm: VmState,
    snapshot: string,
  ): Promise<RestoreAction> {
    return restores.restoreAction(this.api, namespace, name, vm, snapshot);
  }

  cloneManifest(
    namespace: string,
    name: string,
    snapshot: string,
    target: string,
  ): Promise<Manifest> {
    return restores.cloneManifest(this.api, namespace, name, snapshot, target);
  }

  async deleteNotes(_namespace: string, snapshot: Snapshot): Promise<string[]> {
    return snapshots.deleteNotes(snapshot);
  }

  snapshotTypeOf(snapshot: Snapshot): ResourceType {
    return snapshot.disk !== undefined ? Deckhouse.diskSnapshots : Deckhouse.vmSnapshots;
  }

  /** The last Stop operation built for each VM (ns/name): the one waitVmStopped follows. */
  private readonly stops = new Map<string, string>();

  runStateChange(vm: VmState, running: boolean): RunStateChange {
    const change = restores.runStateChange(this.api, vm, running);
    if (!running && change.kind === "create")
      this.stops.set(`${vm.namespace}/${vm.name}`, change.manifest.body.metadata.name);
    return change;
  }

  restorePreview(vm: VmState, snapshot: Snapshot): Promise<RestorePreview> {
    return restores.restorePreview(this.api, vm, snapshot);
  }

  snapshotDeadlineMs(): number | undefined {
    return undefined;
  }

  failedByDeadline(): boolean {
    return false;
  }

  manualStart(vm: VmState): string {
    return `a VirtualMachineOperation of type Start for VM ${vm.namespace}/${vm.name}`;
  }

  explainRefusal(err: unknown) {
    return admission.explainRefusal(err);
  }

  waitSnapshot(namespace: string, name: string, options: WaitOptions): Promise<Snapshot> {
    return snapshots.waitSnapshotOf(
      this.api,
      Deckhouse.vmSnapshots,
      "VirtualMachineSnapshotReady",
      namespace,
      name,
      options,
    );
  }

  waitRestore(namespace: string, action: RestoreAction, options: WaitOptions): Promise<void> {
    return restores.waitRestore(this.api, namespace, action, options);
  }

  waitClone(
    namespace: string,
    name: string,
    options: WaitOptions,
  ): Promise<{ phase: string; target: string }> {
    return restores.waitClone(this.api, namespace, name, options);
  }

  /**
   * Waits for the VM to be Stopped, following vmsnap's Stop operation meanwhile: one superseded
   * by another client's operation (deckhouse/virtualization v1.10, images/virtualization-artifact/
   * pkg/controller/vmop/service/service.go markSuperseded) or failed ends the wait at once, as
   * does the VM's deletion.
   */
  waitVmStopped(vm: VmState, options: WaitOptions): Promise<void> {
    options.onProgress?.(`waiting for VM ${vm.name} to stop`);
    return restores.waitVmStopped(
      this.api,
      vm,
      this.stops.get(`${vm.namespace}/${vm.name}`),
      options,
    );
  }

  waitOperationsIdle(vm: VmState, options: WaitOptions): Promise<void> {
    return restores.waitOperationsIdle(this.api, vm, options);
  }

  async waitSnapshotGone(namespace: string, name: string, options: WaitOptions): Promise<void> {
    for (const type of [Deckhouse.vmSnapshots, Deckhouse.diskSnapshots])
      await waitForObject(this.api.kube, type, name, namespace, (s) => s === undefined, options);
  }
}
