// Cluster fixtures for the MCP tests, made as the admin identity (so that the audit log's
// vmsnap-user entries are only what the MCP server did): PVCs with data fingerprints, VMs, and
// ready snapshots taken directly through the API.
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt, apiVersionOf } from "../../src/kube/resources.js";
import { pvcManifest, vmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { waitFor, type Json, vmDiskFingerprints, waitClaimsBound } from "../helpers/kube.js";

export interface VmSpec {
  run?: boolean;
  disks?: string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** PVCs (one per disk, data `<vm>-<disk>-v1`) and a VM; waits until it runs or is stopped. */
export async function makeVm(
  c: KubeClient,
  ns: string,
  name: string,
  o: VmSpec = {},
): Promise<Json> {
  const disks = o.disks ?? ["rootdisk"];
  for (const d of disks)
    await c.create(
      Core.pvcs,
      pvcManifest({ name: `${name}-${d}`, namespace: ns, data: `${name}-${d}-v1` }),
    );
  await waitClaimsBound(
    c,
    ns,
    disks.map((d) => `${name}-${d}`),
  );
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy: o.run ? "Always" : "Halted",
      annotations: o.annotations,
      labels: o.labels,
      disks: disks.map((d) => ({ name: d, claimName: `${name}-${d}` })),
    }),
  );
  return waitFor(
    c,
    KubeVirt.vms,
    name,
    ns,
    (vm) => vm.status?.printableStatus === (o.run ? "Running" : "Stopped"),
  );
}

/** The data fingerprint of each disk of a VM, by volume name, following its claims now. */
export function fingerprints(
  c: KubeClient,
  ns: string,
  vmName: string,
): Promise<Record<string, string>> {
  return vmDiskFingerprints(c, ns, vmName);
}

/** "Writes" new data to every disk of the VM. */
export async function writeAll(
  c: KubeClient,
  ns: string,
  vmName: string,
  suffix: string,
): Promise<Record<string, string>> {
  const vm = (await c.get(KubeVirt.vms, vmName, ns)) as Json;
  const out: Record<string, string> = {};
  for (const v of vm.spec.template.spec.volumes as Json[]) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const data = `${vmName}-${v.name}-${suffix}`;
    await c.patch(Core.pvcs, claim, ns, { metadata: { annotations: { [SIM.data]: data } } });
    out[v.name] = data;
  }
  return out;
}

/** How long a fixture waits for the simulated controllers (20 s ran out at load 40). */
const FIXTURE_WAIT_MS = 60_000;

/** A ready VirtualMachineSnapshot taken as admin (not through vmsnap). */
export async function adminSnapshot(
  c: KubeClient,
  ns: string,
  vm: string,
  name: string,
): Promise<Json> {
  await c.create(KubeVirt.snapshots, {
    apiVersion: apiVersionOf(KubeVirt.snapshots),
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
  });
  const ready = await waitFor(
    c,
    KubeVirt.snapshots,
    name,
    ns,
    (s) => s.status?.readyToUse === true,
    FIXTURE_WAIT_MS,
  );
  // The controller clears the VM's snapshotInProgress a moment later; until then a preflight
  // (rightly) sees a snapshot in progress.
  await waitFor(c, KubeVirt.vms, vm, ns, (v) => !v.status?.snapshotInProgress, FIXTURE_WAIT_MS);
  return ready;
}

/** Names of the VM's snapshots, sorted. */
export async function snapshotsOf(c: KubeClient, ns: string, vm: string): Promise<string[]> {
  const list = await c.list(KubeVirt.snapshots, ns);
  return list.items
    .filter((s) => (s.spec as Json | undefined)?.source?.name === vm)
    .map((s) => s.metadata.name)
    .sort();
}

/** VirtualMachineRestores targeting the VM. */
export async function restoresOf(c: KubeClient, ns: string, vm: string): Promise<string[]> {
  const list = await c.list(KubeVirt.restores, ns);
  return list.items
    .filter((r) => (r.spec as Json | undefined)?.target?.name === vm)
    .map((r) => r.metadata.name);
}
