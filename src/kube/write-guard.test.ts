import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "./client.js";
import {
  Core,
  Csi,
  Deckhouse,
  KubeVirt,
  Vmsnap,
  type KubeObject,
  type ResourceType,
} from "./resources.js";
import {
  ALLOWED_WRITES,
  CONTROLLER_ALLOWED_WRITES,
  isAllowedWrite,
  WriteGuard,
  WriteRefusedError,
} from "./write-guard.js";

// A client that records instead of sending: the guard must refuse before anything reaches it.
function recordingClient() {
  const sent: string[] = [];
  const client = {
    create: async (t: ResourceType) => (sent.push(`create ${t.plural}`), {}),
    delete: async (t: ResourceType) => (sent.push(`delete ${t.plural}`), {}),
    patch: async (
      t: ResourceType,
      _n: string,
      _ns: string,
      _p: unknown,
      o?: { subresource?: string },
    ) => (sent.push(`patch ${t.plural}${o?.subresource ? `/${o.subresource}` : ""}`), {}),
    replace: async (t: ResourceType) => (sent.push(`update ${t.plural}`), {}),
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

  it("a client-side dry run sends nothing: dry-run writes answer locally, real ones are refused", async () => {
    const { client, sent } = recordingClient();
    const g = new WriteGuard(client, ALLOWED_WRITES, { sendNothing: true });
    const body = manifest(KubeVirt.snapshots);
    assert.equal(await g.create(KubeVirt.snapshots, body, { dryRun: true }), body);
    assert.equal(await g.delete(KubeVirt.snapshots, "x", "ns", { dryRun: true }), undefined);
    await g.patch(KubeVirt.vms, "vm", "ns", { spec: { runStrategy: "Halted" } }, { dryRun: true });
    // The guard's own checks still apply.
    await assert.rejects(
      g.create(Core.pvcs, manifest(Core.pvcs), { dryRun: true }),
      WriteRefusedError,
    );
    await assert.rejects(g.create(KubeVirt.snapshots, body), /client-side dry run sends no write/);
    await assert.rejects(g.delete(KubeVirt.snapshots, "x", "ns"), WriteRefusedError);
    assert.deepEqual(sent, []);
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

describe("write guard: the policy controller's own set", () => {
  const marked = (t: ResourceType): KubeObject => ({
    ...manifest(t),
    metadata: {
      name: "web-nightly-20261124-020000",
      namespace: "ns",
      labels: { "vmsnap.io/policy": "nightly" },
      annotations: { "vmsnap.io/scheduled-time": "2026-11-24T02:00:00Z" },
    },
  });

  it("allows snapshots marked by a policy, policy status, Events and its Lease", async () => {
    const { client, sent } = recordingClient();
    const g = new WriteGuard(client, CONTROLLER_ALLOWED_WRITES);
    await g.create(KubeVirt.snapshots, marked(KubeVirt.snapshots));
    await g.create(Deckhouse.vmSnapshots, marked(Deckhouse.vmSnapshots));
    await g.delete(KubeVirt.snapshots, "x", "ns");
    await g.patch(Vmsnap.snapshotPolicies, "p", "ns", { status: {} }, { subresource: "status" });
    await g.create(Core.events, manifest(Core.events));
    await g.create(Vmsnap.leases, manifest(Vmsnap.leases));
    await g.update(Vmsnap.leases, manifest(Vmsnap.leases));
    assert.deepEqual(sent, [
      "create virtualmachinesnapshots",
      "create virtualmachinesnapshots",
      "delete virtualmachinesnapshots",
      "patch snapshotpolicies/status",
      "create events",
      "create leases",
      "update leases",
    ]);
  });

  it("refuses restores, clones, VM changes, unmarked snapshots, policy specs and other subresources", async () => {
    const { client, sent } = recordingClient();
    const g = new WriteGuard(client, CONTROLLER_ALLOWED_WRITES);
    const refused = [
      () => g.create(KubeVirt.snapshots, manifest(KubeVirt.snapshots)),
      () => g.create(KubeVirt.restores, manifest(KubeVirt.restores)),
      () => g.create(KubeVirt.clones, manifest(KubeVirt.clones)),
      () => g.patch(KubeVirt.vms, "vm", "ns", { spec: { runStrategy: "Halted" } }),
      () => g.create(Deckhouse.vmops, { ...manifest(Deckhouse.vmops, { type: "Stop" }) }),
      () => g.delete(Deckhouse.diskSnapshots, "x", "ns"),
      () => g.patch(Vmsnap.snapshotPolicies, "p", "ns", { spec: {} }),
      () => g.delete(Vmsnap.snapshotPolicies, "p", "ns"),
      () => g.patch(KubeVirt.snapshots, "s", "ns", { status: {} }, { subresource: "status" }),
      () => g.delete(Vmsnap.leases, "l", "ns"),
    ];
    for (const attempt of refused) await assert.rejects(attempt(), WriteRefusedError);
    assert.deepEqual(sent, []);
  });

  it("the CLI's set adds SnapshotPolicy create and delete, and no status", () => {
    const policy = { group: "vmsnap.io", plural: "snapshotpolicies" };
    assert.ok(isAllowedWrite(ALLOWED_WRITES, { ...policy, verb: "create" }));
    assert.ok(isAllowedWrite(ALLOWED_WRITES, { ...policy, verb: "delete" }));
    assert.ok(!isAllowedWrite(ALLOWED_WRITES, { ...policy, verb: "patch" }));
    assert.ok(!isAllowedWrite(ALLOWED_WRITES, { ...policy, subresource: "status", verb: "patch" }));
    assert.ok(
      isAllowedWrite(CONTROLLER_ALLOWED_WRITES, {
        ...policy,
        subresource: "status",
        verb: "patch",
      }),
    );
    assert.ok(!isAllowedWrite(CONTROLLER_ALLOWED_WRITES, { ...policy, verb: "create" }));
  });
});
