import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "./client.js";
import { Core, Csi, KubeVirt, type KubeObject, type ResourceType } from "./resources.js";
import { WriteGuard, WriteRefusedError } from "./write-guard.js";

// A client that records instead of sending: the guard must refuse before anything reaches it.
function recordingClient() {
  const sent: string[] = [];
  const client = {
    create: async (t: ResourceType) => (sent.push(`create ${t.plural}`), {}),
    delete: async (t: ResourceType) => (sent.push(`delete ${t.plural}`), {}),
    patch: async (t: ResourceType) => (sent.push(`patch ${t.plural}`), {}),
  } as unknown as KubeClient;
  return { client, sent };
}
const manifest = (t: ResourceType, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: t.group ? `${t.group}/${t.version}` : t.version,
  kind: t.kind,
  metadata: { name: "x", namespace: "ns" },
  spec,
});

describe("write guard", () => {
  it("allows the snapshot kinds of SPEC §2", async () => {
    const { client, sent } = recordingClient();
    const g = new WriteGuard(client);
    await g.create(KubeVirt.snapshots, manifest(KubeVirt.snapshots));
    await g.create(KubeVirt.restores, manifest(KubeVirt.restores));
    await g.create(KubeVirt.clones, manifest(KubeVirt.clones));
    await g.delete(KubeVirt.snapshots, "x", "ns");
    await g.patch(KubeVirt.vms, "vm", "ns", { spec: { runStrategy: "Halted", running: null } });
    assert.deepEqual(sent, [
      "create virtualmachinesnapshots",
      "create virtualmachinerestores",
      "create virtualmachineclones",
      "delete virtualmachinesnapshots",
      "patch virtualmachines",
    ]);
  });

  it("refuses every other write before sending it", async () => {
    const { client, sent } = recordingClient();
    const g = new WriteGuard(client);
    const refused = [
      () => g.create(Core.pvcs, manifest(Core.pvcs)),
      () => g.delete(KubeVirt.vms, "vm", "ns"),
      () => g.create(KubeVirt.vms, manifest(KubeVirt.vms)),
      () => g.delete(KubeVirt.restores, "r", "ns"),
      () => g.create(Csi.volumeSnapshots, manifest(Csi.volumeSnapshots)),
      () => g.patch(KubeVirt.vms, "vm", "ns", { spec: { runStrategy: "Always", template: {} } }),
      () => g.patch(KubeVirt.vms, "vm", "ns", { metadata: { labels: { a: "b" } } }),
      () => g.patch(KubeVirt.vms, "vm", "ns", { spec: { runStrategy: "Sometimes" } }),
      () => g.patch(KubeVirt.snapshots, "s", "ns", { spec: {} }),
      // A manifest whose kind does not match the resource it is sent to.
      () => g.create(KubeVirt.snapshots, manifest(Core.pvcs)),
    ];
    for (const attempt of refused) await assert.rejects(attempt(), WriteRefusedError);
    assert.deepEqual(sent, []);
  });
});
