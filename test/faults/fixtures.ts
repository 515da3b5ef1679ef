// What the fault tests share: VMs with disk fingerprints on any KubeVirt environment (shared or
// dedicated), snapshots as admin, and the assertions on the CLI's results.
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, Csi, KubeVirt } from "../../src/kube/resources.js";
import { pvcManifest, vmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import type { CliResult } from "../helpers/cli.js";
import { vmDiskFingerprints, waitFor, type Json, waitClaimsBound } from "../helpers/kube.js";

export function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

export function expectExit(r: CliResult, code: number, ...patterns: RegExp[]): void {
  assert.equal(r.code, code, show(r));
  for (const p of patterns) assert.match(r.stdout + r.stderr, p, show(r));
}

export interface VmOptions {
  run?: boolean;
  annotations?: Record<string, string>;
}

/** A VM with one disk whose data is `<vm>-v1`, made as admin; waits for its run state. */
export async function makeVm(
  c: KubeClient,
  ns: string,
  name: string,
  o: VmOptions = {},
): Promise<void> {
  await c.create(
    Core.pvcs,
    pvcManifest({ name: `${name}-root`, namespace: ns, data: `${name}-v1` }),
  );
  await waitClaimsBound(c, ns, [`${name}-root`]);
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy: o.run ? "Always" : "Halted",
      annotations: o.annotations,
      disks: [{ name: "rootdisk", claimName: `${name}-root` }],
    }),
  );
  await waitFor(
    c,
    KubeVirt.vms,
    name,
    ns,
    (vm) => vm.status?.printableStatus === (o.run ? "Running" : "Stopped"),
  );
}

/** A ready snapshot made directly as admin. */
export async function makeSnapshot(
  c: KubeClient,
  ns: string,
  name: string,
  vm: string,
): Promise<void> {
  await c.create(KubeVirt.snapshots, {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
  });
  await waitFor(c, KubeVirt.snapshots, name, ns, (s) => s.status?.readyToUse === true);
}

/** The VM's root disk data, following the claim its volume points at now. */
export async function rootData(c: KubeClient, ns: string, vm: string): Promise<string> {
  return (await vmDiskFingerprints(c, ns, vm)).rootdisk ?? "";
}

/** "Writes" new data to the VM's root disk, through the claim its volume points at now. */
export async function writeRoot(
  c: KubeClient,
  ns: string,
  vm: string,
  data: string,
): Promise<void> {
  const obj = (await c.get(KubeVirt.vms, vm, ns)) as Json;
  const claim = (obj.spec.template.spec.volumes as Json[]).find((v) => v.name === "rootdisk")
    ?.persistentVolumeClaim?.claimName as string;
  await c.patch(Core.pvcs, claim, ns, { metadata: { annotations: { [SIM.data]: data } } });
}

/** The data a snapshot holds for the root disk (what a restore from it gives back). */
export async function snapshotData(c: KubeClient, ns: string, snapshot: string): Promise<string> {
  const snap = (await c.get(KubeVirt.snapshots, snapshot, ns)) as Json;
  const content = (await c.get(
    KubeVirt.snapshotContents,
    snap.status.virtualMachineSnapshotContentName as string,
    ns,
  )) as Json;
  const backup = (content.spec.volumeBackups as Json[]).find((b) => b.volumeName === "rootdisk");
  const vs = await c.get(Csi.volumeSnapshots, backup?.volumeSnapshotName as string, ns);
  return vs.metadata.annotations?.[SIM.data] ?? "";
}

/** Names of the objects of a type in the namespace whose spec points at the VM. */
export async function objectsOf(
  c: KubeClient,
  ns: string,
  type: typeof KubeVirt.snapshots | typeof KubeVirt.restores,
  vm: string,
): Promise<Json[]> {
  const list = await c.list(type, ns);
  return (list.items as Json[]).filter(
    (o) => (o.spec?.source?.name ?? o.spec?.target?.name) === vm,
  );
}
