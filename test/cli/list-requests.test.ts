// What `list` reads, from the API server's audit log, on a cluster that serves every platform:
// each platform's snapshots, and a platform's VMs and disks only when a snapshot needs them — a
// Deckhouse disk snapshot of its own (not part of a VM snapshot) is shown with the VM its disk
// belongs to, which only the disks and VMs tell. A namespace without such snapshots costs one
// request per snapshot kind (start-up target of docs/performance.md, benchmark 4b).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { SnapshotList } from "../../src/core/schema.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult } from "../helpers/cli.js";
import { requestsSince } from "../helpers/audit.js";
import { makeDhVm } from "../helpers/deckhouse.js";
import { makeSnapshot, makeVm } from "../faults/fixtures.js";

let c: KubeClient;
let ns: string;

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);

/** The namespace's requests by vmsnap-user since the instant, as "verb group/resource". */
async function readsSince(since: Date): Promise<string[]> {
  return (await requestsSince(since))
    .filter((e) => e.objectRef?.namespace === ns)
    .map((e) => `${e.verb} ${e.objectRef?.apiGroup ?? ""}/${e.objectRef?.resource ?? ""}`)
    .sort();
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "list-reads");
  await makeVm(c, ns, "kv-vm");
  await makeSnapshot(c, ns, "kv-snap", "kv-vm");
});

after(() => c?.close());

describe("list: what it reads", () => {
  it("KubeVirt snapshots only: each platform's snapshot lists, no VMs or disks", async () => {
    const since = new Date();
    const r = await vmsnap("list", "-o", "json");
    assert.equal(r.code, 0, showResult(r));
    assert.deepEqual(
      SnapshotList.parse(json(r)).items.map((s) => `${s.platform} ${s.name} ${s.vm}`),
      ["kubevirt kv-snap kv-vm"],
    );
    assert.deepEqual(await readsSince(since), [
      "list snapshot.kubevirt.io/virtualmachinesnapshots",
      "list virtualization.deckhouse.io/virtualdisksnapshots",
      "list virtualization.deckhouse.io/virtualmachinesnapshots",
      "list vmoperator.vmware.com/virtualmachinesnapshots",
    ]);
  });

  it("a Deckhouse disk snapshot of its own: the disks and VMs are read, and it names its VM", async () => {
    await makeDhVm(c, ns, "dh-vm", { runPolicy: "Manual", running: false, disks: ["root"] });
    const created = await vmsnap("create-disk", "dh-vm-root", "--name", "dh-root-s1", "--yes");
    assert.equal(created.code, 0, showResult(created));
    const since = new Date();
    const r = await vmsnap("list", "-o", "json");
    assert.equal(r.code, 0, showResult(r));
    assert.deepEqual(
      SnapshotList.parse(json(r)).items.map((s) => `${s.platform} ${s.name} ${s.vm}`),
      ["kubevirt kv-snap kv-vm", "deckhouse dh-root-s1 dh-vm"],
    );
    assert.deepEqual(await readsSince(since), [
      "list snapshot.kubevirt.io/virtualmachinesnapshots",
      "list virtualization.deckhouse.io/virtualdisks",
      "list virtualization.deckhouse.io/virtualdisksnapshots",
      "list virtualization.deckhouse.io/virtualmachines",
      "list virtualization.deckhouse.io/virtualmachinesnapshots",
      "list vmoperator.vmware.com/virtualmachinesnapshots",
    ]);
  });
});
