// Small helpers over the real API server for tests.
import type { KubeClient } from "../../src/kube/client.js";
import {
  Core,
  Csi,
  KubeVirt,
  apiVersionOf,
  type KubeObject,
  type ResourceType,
} from "../../src/kube/resources.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { waitForObject } from "../../src/kube/watch.js";

/** Objects as tests read them: loosely typed, asserted on field by field. */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Waits (by watch) until the object satisfies the predicate; fails the test after timeoutMs. */
export async function waitFor(
  client: KubeClient,
  type: ResourceType,
  name: string,
  namespace: string | undefined,
  predicate: (obj: Json) => boolean,
  timeoutMs = 20_000,
): Promise<Json> {
  const obj = await waitForObject(
    client,
    type,
    name,
    namespace,
    (o) => o !== undefined && predicate(o as Json),
    { timeoutMs },
  );
  return obj as Json;
}

/**
 * Waits until the claims are Bound. kube-controller-manager's PV binder binds a claim once the
 * simulated provisioner has made its volume: shortly after, not at once, so a VM can report
 * Stopped before its claims are Bound (and vmsnap's preflight rightly refuses unbound claims).
 */
export async function waitClaimsBound(
  client: KubeClient,
  namespace: string,
  claims: string[],
  timeoutMs = 60_000,
): Promise<void> {
  await Promise.all(
    claims.map((name) =>
      waitFor(client, Core.pvcs, name, namespace, (p) => p.status?.phase === "Bound", timeoutMs),
    ),
  );
}

export async function waitGone(
  client: KubeClient,
  type: ResourceType,
  name: string,
  namespace?: string,
  timeoutMs = 20_000,
): Promise<void> {
  await waitForObject(client, type, name, namespace, (o) => o === undefined, { timeoutMs });
}

export function cond(obj: Json, type: string): Json | undefined {
  return ((obj.status?.conditions ?? []) as Json[]).find((c) => c.type === type);
}

/**
 * The data fingerprint of each disk of a KubeVirt VM, by volume name, read through the claims its
 * volumes point at now (after a restore they point at the restored claims).
 */
export async function vmDiskFingerprints(
  client: KubeClient,
  namespace: string,
  vmName: string,
): Promise<Record<string, string>> {
  const vm = (await client.get(KubeVirt.vms, vmName, namespace)) as Json;
  const out: Record<string, string> = {};
  for (const v of vm.spec.template.spec.volumes as Json[]) {
    const claim = v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name;
    if (!claim) continue;
    const pvc = await client.get(Core.pvcs, claim, namespace);
    out[v.name] = pvc.metadata.annotations?.[SIM.data] ?? "";
  }
  return out;
}

/** A KubeVirt VirtualMachineSnapshot of a VM, as a user would write it. */
export function kvSnapshot(namespace: string, name: string, vm: string): Json {
  return {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
  };
}

/** A KubeVirt VirtualMachineRestore of a VM from a snapshot, with any other spec fields. */
export function kvRestore(
  namespace: string,
  name: string,
  vm: string,
  snapshot: string,
  extra: Json = {},
): Json {
  return {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineRestore",
    metadata: { name, namespace },
    spec: {
      target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm },
      virtualMachineSnapshotName: snapshot,
      ...extra,
    },
  };
}

/** A CSI VolumeSnapshot of a claim, of the playground's snapshot class. */
export function volumeSnapshotManifest(namespace: string, name: string, claim: string): KubeObject {
  return {
    apiVersion: apiVersionOf(Csi.volumeSnapshots),
    kind: "VolumeSnapshot",
    metadata: { name, namespace },
    spec: {
      volumeSnapshotClassName: "sim-csi-snapclass",
      source: { persistentVolumeClaimName: claim },
    },
  };
}
