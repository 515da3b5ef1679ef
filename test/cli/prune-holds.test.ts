// vmsnap prune never deletes a snapshot in use, whatever --keep-last says, end to end through the
// built CLI against the simulated platforms: on KubeVirt the snapshot a VirtualMachineRestore is
// still using (a restore of a running VM waiting for it to stop), on VM Operator the snapshot the
// VM runs on (status.currentSnapshot, after a revert to an older one). The preview says why each
// is kept, and the confirmed prune deletes exactly the preview's deletions (audit log).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt, apiVersionOf } from "../../src/kube/resources.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { Prune } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult } from "../helpers/cli.js";
import { describeWrite, writesIn } from "../helpers/mcp.js";
import { waitFor, type Json } from "../helpers/kube.js";
import { adminSnapshot } from "../mcp/fixtures.js";
import { makeVm } from "../controller/fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  ns = await newNamespace(c, "cli-prune-holds");
});

after(() => c?.close());

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);
const realWrites = async (since: Date) => (await writesIn([ns], since)).map(describeWrite);
const pause = () => new Promise((r) => setTimeout(r, 1100));

async function previewAndPrune(vm: string, keepLast: string) {
  const dry = await vmsnap("prune", vm, "--keep-last", keepLast, "--dry-run", "-o", "json");
  assert.equal(dry.code, 0, showResult(dry));
  const preview = Prune.parse(json(dry));
  const deletions = preview.items.filter((i) => i.action === "delete").map((i) => i.snapshot);
  const since = new Date();
  const r = await vmsnap(
    "prune",
    vm,
    "--keep-last",
    keepLast,
    "--confirm",
    String(deletions.length),
    "-o",
    "json",
  );
  assert.equal(r.code, 0, showResult(r));
  return { preview, deletions, writes: await realWrites(since) };
}

describe("vmsnap prune keeps snapshots in use", () => {
  it("KubeVirt: the snapshot a restore in progress uses is kept; the next older one goes", async () => {
    const vm = "web";
    await makeVm(c, "kubevirt", ns, vm, {});
    for (const n of [1, 2, 3]) {
      await adminSnapshot(c, ns, vm, `web-s${n}`);
      await pause();
    }
    // The VM runs: a restore waiting (eventually) for it to stop stays in progress.
    await c.create(KubeVirt.restores, {
      apiVersion: apiVersionOf(KubeVirt.restores),
      kind: "VirtualMachineRestore",
      metadata: { name: "web-restore", namespace: ns },
      spec: {
        target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm },
        virtualMachineSnapshotName: "web-s1",
        targetReadinessPolicy: "WaitEventually",
      },
    });
    await waitFor(c, KubeVirt.restores, "web-restore", ns, (r) => r.status?.complete === false);

    const { preview, deletions, writes } = await previewAndPrune(vm, "1");
    const s1 = preview.items.find((i) => i.snapshot === "web-s1")!;
    assert.equal(s1.action, "keep");
    assert.match(s1.reason, /VirtualMachineRestore web-restore in progress/);
    assert.deepEqual(deletions, ["web-s2"]);
    assert.deepEqual(writes, ["delete virtualmachinesnapshots web-s2"]);
    assert.ok(await c.getIfExists(KubeVirt.snapshots, "web-s1", ns));
  });

  it("VM Operator: the VM's current snapshot (reverted to) is kept; the one in between goes", async () => {
    const vm = "app";
    await makeVm(c, "vmoperator", ns, vm, {});
    for (const n of [1, 2, 3]) {
      const name = `app-s${n}`;
      await c.create(VmOp.snapshots, {
        apiVersion: apiVersionOf(VmOp.snapshots),
        kind: "VirtualMachineSnapshot",
        metadata: { name, namespace: ns },
        spec: { vmName: vm },
      });
      await waitFor(c, VmOp.vms, vm, ns, (v) => v.status?.currentSnapshot?.name === name);
      await pause();
    }
    // Revert to the oldest (as `vmsnap restore` does on VM Operator): it becomes current.
    await c.patch(VmOp.vms, vm, ns, { spec: { currentSnapshotName: "app-s1" } });
    await waitFor(
      c,
      VmOp.vms,
      vm,
      ns,
      (v: Json) => v.status?.currentSnapshot?.name === "app-s1" && !v.spec?.currentSnapshotName,
    );

    const { preview, deletions, writes } = await previewAndPrune(vm, "1");
    const s1 = preview.items.find((i) => i.snapshot === "app-s1")!;
    assert.equal(s1.action, "keep");
    assert.match(s1.reason, /current snapshot of VM app/);
    assert.deepEqual(deletions, ["app-s2"]);
    assert.deepEqual(writes, ["delete virtualmachinesnapshots app-s2"]);
    assert.ok(await c.getIfExists(VmOp.snapshots, "app-s1", ns));
  });
});
