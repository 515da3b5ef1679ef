// Deckhouse fixtures for end-to-end tests (as admin): disks with data fingerprints, VMs observed in
// their power state, and the fingerprint reads that prove what a restore or clone brought back.
import type { KubeClient } from "../../src/kube/client.js";
import { Deckhouse } from "../../src/kube/resources.js";
import {
  dhDiskManifest,
  dhVmManifest,
  ensureSimStorage,
  type DhVmOptions,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { cond, waitFor, type Json } from "./kube.js";

export interface DhVmSpec extends Omit<DhVmOptions, "namespace" | "name" | "disks"> {
  /** Disk names without the VM prefix (default ["root", "data"]): disks `<vm>-<disk>`. */
  disks?: string[];
}

/**
 * A Deckhouse VM with disks `<vm>-<disk>` (data `<vm>-<disk>-v1`), observed Running (with the
 * agent when asked) or Stopped.
 */
export async function makeDhVm(
  c: KubeClient,
  ns: string,
  name: string,
  o: DhVmSpec = {},
): Promise<Json> {
  await ensureSimStorage(c);
  const disks = (o.disks ?? ["root", "data"]).map((d) => `${name}-${d}`);
  await Promise.all(
    disks.map((d) =>
      c.create(Deckhouse.disks, dhDiskManifest({ namespace: ns, name: d, data: `${d}-v1` })),
    ),
  );
  await c.create(Deckhouse.vms, dhVmManifest({ ...o, namespace: ns, name, disks }));
  const running = o.running ?? (o.runPolicy !== "AlwaysOff" && o.runPolicy !== "Manual");
  return waitFor(c, Deckhouse.vms, name, ns, (v) =>
    running
      ? v.status?.phase === "Running" &&
        (cond(v, "AgentReady")?.status === "True") === Boolean(o.agent)
      : v.status?.phase === "Stopped",
  );
}

/** Fingerprint of each disk the VM has now, by disk name. */
export async function dhFingerprints(
  c: KubeClient,
  ns: string,
  vm: string,
): Promise<Record<string, string>> {
  const v = (await c.get(Deckhouse.vms, vm, ns)) as Json;
  const out: Record<string, string> = {};
  for (const ref of (v.spec.blockDeviceRefs ?? []) as Json[]) {
    if (ref.kind !== "VirtualDisk") continue;
    out[ref.name] = await diskData(c, ns, ref.name);
  }
  return out;
}

export async function diskData(c: KubeClient, ns: string, disk: string): Promise<string> {
  const d = (await c.get(Deckhouse.disks, disk, ns)) as Json;
  return d.metadata.annotations?.[SIM.data] ?? "";
}

/** "Writes" new data to every disk of the VM. */
export async function writeDhDisks(
  c: KubeClient,
  ns: string,
  vm: string,
  suffix: string,
): Promise<Record<string, string>> {
  const before = await dhFingerprints(c, ns, vm);
  const out: Record<string, string> = {};
  for (const disk of Object.keys(before)) {
    out[disk] = `${disk}-${suffix}`;
    await c.patch(Deckhouse.disks, disk, ns, {
      metadata: { annotations: { [SIM.data]: out[disk] } },
    });
  }
  return out;
}

export function waitDhVmPhase(
  c: KubeClient,
  ns: string,
  vm: string,
  phase: string,
  timeoutMs = 30_000,
): Promise<Json> {
  return waitFor(c, Deckhouse.vms, vm, ns, (v) => v.status?.phase === phase, timeoutMs);
}
