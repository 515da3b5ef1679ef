// VMware vSphere VM Operator behind the SnapshotPlatform interface. Snapshots form a tree per VM;
// restore is a revert (VirtualMachine spec.currentSnapshotName); clone is not offered by the
// platform and is refused clearly. The parts: model (reading objects), preflight, snapshots,
// restore; api holds the served version's types and the reads shared by them.
import type { Preflight, Snapshot, VirtualMachine } from "../../core/schema.js";
import type { KubeObject, ResourceType } from "../../kube/resources.js";
import { waitForObject } from "../../kube/watch.js";
import type {
  CreateOptions,
  Manifest,
  PlatformContext,
  RestoreAction,
  RestorePreview,
  RunStateChange,
  WithdrawOutcome,
  SnapshotPlatform,
  VmState,
  WaitOptions,
} from "../types.js";
import { VmopApi } from "./api.js";
import { claimsOf, obj, powerState, str } from "./model.js";
import * as vms from "./preflight.js";
import * as restores from "./restore.js";
import * as snapshots from "./snapshots.js";

export class VmOperatorPlatform implements SnapshotPlatform {
  readonly name = "vmoperator" as const;
  readonly snapshotType: ResourceType;
  readonly cloneNotes = [];
  private readonly api: VmopApi;

  constructor(ctx: PlatformContext) {
    this.api = new VmopApi(ctx);
    this.snapshotType = this.api.t.snapshots;
  }

  listVms(scope: { namespace?: string; labelSelector?: string }): Promise<VirtualMachine[]> {
    return vms.listVms(this.api, scope);
  }

  volumeClaims(vm: VmState): { volume: string; claim: string }[] {
    return claimsOf(vm.raw).map((c) => ({ volume: c.name, claim: c.claimName }));
  }

  getVm(namespace: string, name: string, read?: { fresh?: boolean }): Promise<VmState> {
    if (read?.fresh) this.api.forget();
    return vms.getVm(this.api, namespace, name);
  }

  preflight(namespace: string, name: string): Promise<Preflight> {
    return vms.preflight(this.api, namespace, name);
  }

  snapshotOf(raw: KubeObject): Snapshot {
    return snapshots.toSnapshot(raw, []);
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
    return snapshots.snapshotManifest(this.api, namespace, name, vm, options, state);
  }

  async restoreAction(
    _namespace: string,
    name: string,
    vm: VmState,
    snapshot: string,
  ): Promise<RestoreAction> {
    return restores.restoreAction(this.api, name, vm, snapshot);
  }

  async cloneManifest(namespace: string, _name: string, snapshot: string): Promise<Manifest> {
    return restores.refuseClone(namespace, snapshot);
  }

  async deleteNotes(namespace: string, snapshot: Snapshot): Promise<string[]> {
    return snapshots.deleteNotes(namespace, snapshot);
  }

  snapshotTypeOf(): ResourceType {
    return this.api.t.snapshots;
  }

  runStateChange(vm: VmState, running: boolean): RunStateChange {
    return restores.runStateChange(this.api, vm, running);
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

  withdrawRestore(vm: VmState, action: RestoreAction): Promise<WithdrawOutcome> {
    return restores.withdrawRestore(this.api, vm, action);
  }

  withdrawCommand(vm: VmState): string {
    return restores.withdrawCommand(this.api, vm);
  }

  manualStart(vm: VmState): string {
    return `spec.powerState PoweredOn on VirtualMachine ${vm.namespace}/${vm.name}`;
  }

  explainRefusal(): undefined {
    return undefined;
  }

  waitSnapshot(namespace: string, name: string, options: WaitOptions): Promise<Snapshot> {
    return snapshots.waitSnapshot(this.api, namespace, name, options);
  }

  waitRestore(namespace: string, action: RestoreAction, options: WaitOptions): Promise<void> {
    return restores.waitRestore(this.api, namespace, action, options);
  }

  async waitClone(namespace: string, name: string): Promise<{ phase: string; target: string }> {
    return restores.refuseClone(namespace, name);
  }

  async waitVmStopped(vm: VmState, options: WaitOptions): Promise<void> {
    options.onProgress?.(`waiting for VM ${vm.name} to power off`);
    await waitForObject(
      this.api.kube,
      this.api.t.vms,
      vm.name,
      vm.namespace,
      (v) => v !== undefined && powerState(v) === "PoweredOff",
      options,
    );
  }

  async waitSnapshotGone(namespace: string, name: string, options: WaitOptions): Promise<void> {
    await waitForObject(
      this.api.kube,
      this.api.t.snapshots,
      name,
      namespace,
      (s) => s === undefined,
      options,
    );
  }
}
