// The MCP tools on Deckhouse Virtualization, in-process (a 2026-07-28-era SDK client with a
// simulated human answering the elicitation forms; one flow in token mode), as vmsnap-user,
// against the real API server and the simulated Deckhouse controllers: inventory, preflight,
// create (VM and disk), restore with stop-and-restore (the exact data back), a declined restore,
// clone to a new VM, a disk restored as a new disk, delete, and only SPEC §2 writes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Deckhouse } from "../../src/kube/resources.js";
import {
  Clone,
  Deletion,
  Preflight,
  Restore,
  Snapshot,
  SnapshotList,
  VirtualMachineList,
} from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { waitGone, type Json } from "../helpers/kube.js";
import {
  dhFingerprints,
  diskData,
  makeDhVm,
  waitDhVmPhase,
  writeDhDisks,
} from "../helpers/deckhouse.js";
import {
  accept,
  assertNoWritesIn,
  challenge,
  connectInProcess,
  decline,
  describeWrite,
  done,
  failed,
  fieldsOf,
  messageOf,
  ok,
  serverOptions,
  textOf,
  writesIn,
  type McpConnection,
} from "../helpers/mcp.js";

let c: KubeClient;
let ns: string;
let mcp: McpConnection;
let fileStart: Date;

before(async () => {
  c = await adminClient();
  ns = await newNamespace(c, "mcp-dh");
  fileStart = new Date();
  mcp = await connectInProcess(serverOptions({ namespace: ns }), { era: "modern" });
  await Promise.all([
    makeDhVm(c, ns, "db", { agent: true }),
    makeDhVm(c, ns, "bare"),
    makeDhVm(c, ns, "cold", { runPolicy: "Manual", running: false, disks: ["root"] }),
  ]);
});

after(async () => {
  await mcp?.close();
  c?.close();
});

const call = (name: string, args: Record<string, unknown>) =>
  mcp.client.callTool({ name, arguments: args });

describe("read tools on Deckhouse", () => {
  it("vm_list and vm_snapshot_check: platform deckhouse, agent, requiredConsistency verdict", async () => {
    const list = ok(await call("vm_list", {}), VirtualMachineList);
    const by = new Map(list.items.map((i) => [i.name, i]));
    assert.equal(by.get("db")?.platform, "deckhouse");
    assert.equal(by.get("db")?.guestAgent, true);
    assert.equal(by.get("cold")?.running, false);

    const db = ok(await call("vm_snapshot_check", { vm: "db" }), Preflight);
    assert.equal(db.snapshottable, true);
    const bare = ok(await call("vm_snapshot_check", { vm: "bare" }), Preflight);
    assert.equal(bare.snapshottable, false);
    assert.match(bare.problems[0]?.message ?? "", /PotentiallyInconsistent/);
  });
});

describe("write tools on Deckhouse, confirmed by a simulated human", () => {
  it("vm_snapshot_create: one yes/no form showing the VirtualMachineSnapshot; Ready and consistent", async () => {
    mcp.answer(accept({ confirm: true }));
    const forms = mcp.forms.length;
    const since = new Date();
    const snap = done(
      await call("vm_snapshot_create", { vm: "db", name: "db-1" }),
      "snapshot",
      Snapshot,
    );
    assert.equal(snap.platform, "deckhouse");
    assert.equal(snap.readyToUse, true);
    assert.match(snap.consistency, /^consistent/);
    assert.equal(mcp.forms.length, forms + 1);
    assert.match(messageOf(mcp.forms[forms]!), /kind: VirtualMachineSnapshot/);
    assert.match(messageOf(mcp.forms[forms]!), /requiredConsistency: true/);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      "create virtualmachinesnapshots db-1",
    ]);
  });

  it("vm_snapshot_create of a running VM without agent: PreflightBlocked, no question; best-effort works", async () => {
    mcp.answer(() => assert.fail("a blocked VM is refused before any question"));
    const since = new Date();
    failed(await call("vm_snapshot_create", { vm: "bare", name: "bare-1" }), "PreflightBlocked");
    await assertNoWritesIn([ns], since);
    mcp.answer(accept({ confirm: true }));
    const s = done(
      await call("vm_snapshot_create", {
        vm: "bare",
        name: "bare-1",
        consistency: "best-effort",
      }),
      "snapshot",
      Snapshot,
    );
    assert.match(s.consistency, /crash-consistent/);
  });

  it("vm_snapshot_create with disk: a VirtualDiskSnapshot of one disk", async () => {
    mcp.answer(accept({ confirm: true }));
    const s = done(
      await call("vm_snapshot_create", { disk: "cold-root", name: "cold-root-1" }),
      "snapshot",
      Snapshot,
    );
    assert.equal(s.disk, "cold-root");
    assert.equal(s.vm, "cold");
    assert.equal(s.readyToUse, true);
    const both = await call("vm_snapshot_create", { vm: "cold", disk: "cold-root" });
    failed(both, "InvalidInput");
  });

  it("vm_snapshot_list and vm_snapshot_get: VM and disk snapshots", async () => {
    const list = ok(await call("vm_snapshot_list", {}), SnapshotList);
    assert.deepEqual(list.items.map((s) => s.name).sort(), ["bare-1", "cold-root-1", "db-1"]);
    const one = ok(await call("vm_snapshot_get", { snapshot: "db-1" }), Snapshot);
    assert.deepEqual([...one.includedVolumes].sort(), ["db-data", "db-root"]);
  });

  it("vm_snapshot_restore declined → Cancelled; only Deckhouse's DryRun check was created", async () => {
    const data = await writeDhDisks(c, ns, "db", "v2");
    mcp.answer(decline);
    const forms = mcp.forms.length;
    const since = new Date();
    failed(await call("vm_snapshot_restore", { vm: "db", snapshot: "db-1" }), "Cancelled");
    assert.equal(mcp.forms.length, forms + 1);
    assert.deepEqual(fieldsOf(mcp.forms[forms]!), ["confirm", "runningVm", "snapshotName"]);
    for (const w of await writesIn([ns], since))
      assert.equal((w.requestObject as Json).spec.restore.mode, "DryRun", describeWrite(w));
    assert.deepEqual(await dhFingerprints(c, ns, "db"), data);
  });

  it("vm_snapshot_restore with stop-and-restore: the exact data back, the VM running again", async () => {
    mcp.answer(accept({ snapshotName: "db-1", runningVm: "stop-and-restore", confirm: true }));
    const forms = mcp.forms.length;
    const since = new Date();
    const res = done(
      await call("vm_snapshot_restore", { vm: "db", snapshot: "db-1" }),
      "restore",
      Restore,
    );
    assert.equal(res.stoppedVm, true);
    assert.equal(res.restartedVm, true);
    assert.match(messageOf(mcp.forms[forms]!), /type: Restore/);
    assert.match(messageOf(mcp.forms[forms]!), /mode: Strict/);
    assert.deepEqual(await dhFingerprints(c, ns, "db"), {
      "db-root": "db-root-v1",
      "db-data": "db-data-v1",
    });
    await waitDhVmPhase(c, ns, "db", "Running");
    const kinds = (await writesIn([ns], since)).map((w) => {
      const spec = (w.requestObject as Json).spec as Json;
      return `${w.objectRef?.resource}:${spec.type ?? ""}${spec.restore ? `/${spec.restore.mode}` : ""}`;
    });
    // Deckhouse's DryRun check runs once per plan (the 2026 elicitation plans each round).
    assert.equal(kinds[0], "virtualmachineoperations:Restore/DryRun");
    assert.deepEqual(
      kinds.filter((k) => !k.endsWith("/DryRun")),
      [
        "virtualmachineoperations:Stop",
        "virtualmachinesnapshots:",
        "virtualmachineoperations:Restore/Strict",
        "virtualmachineoperations:Start",
      ],
    );
    assert.ok(
      kinds.indexOf("virtualmachineoperations:Stop") >
        kinds.lastIndexOf("virtualmachineoperations:Restore/DryRun"),
    );
  });

  it("vm_clone_from_snapshot: a new VM with the snapshot's data; a disk snapshot into a new disk", async () => {
    mcp.answer(accept({ confirm: true }));
    const cl = done(
      await call("vm_clone_from_snapshot", { snapshot: "db-1", target: "db-copy" }),
      "clone",
      Clone,
    );
    assert.equal(cl.phase, "Completed");
    assert.deepEqual(await dhFingerprints(c, ns, "db-copy"), {
      "db-copy-db-root": "db-root-v1",
      "db-copy-db-data": "db-data-v1",
    });
    mcp.answer(accept({ confirm: true }));
    const disk = done(
      await call("vm_clone_from_snapshot", { snapshot: "cold-root-1", target: "cold-root-copy" }),
      "clone",
      Clone,
    );
    assert.equal(disk.targetKind, "VirtualDisk");
    assert.equal(await diskData(c, ns, "cold-root-copy"), "cold-root-v1");
  });

  it("vm_snapshot_delete: typed name; the disk snapshots go with the VM snapshot", async () => {
    mcp.answer(accept({ snapshotName: "bare-1" }));
    const d = done(await call("vm_snapshot_delete", { snapshot: "bare-1" }), "deletion", Deletion);
    assert.equal(d.phase, "Deleted");
    assert.match(textOf(await call("vm_snapshot_list", { vm: "bare" })), /No snapshots/i);
    await waitGone(c, Deckhouse.vmSnapshots, "bare-1", ns);
  });
});

describe("token mode on Deckhouse", () => {
  it("restore of a stopped VM: plan and token first (only the DryRun check written), then the data back", async () => {
    const tokened = await connectInProcess(
      serverOptions({ namespace: ns, confirmation: "token", platform: "deckhouse" }),
      { era: "modern", onElicit: () => assert.fail("token mode does not elicit") },
    );
    try {
      mcp.answer(accept({ confirm: true }));
      done(await call("vm_snapshot_create", { vm: "cold", name: "cold-1" }), "snapshot", Snapshot);
      const now = await writeDhDisks(c, ns, "cold", "v2");
      const since = new Date();
      const first = await tokened.client.callTool({
        name: "vm_snapshot_restore",
        arguments: { vm: "cold", snapshot: "cold-1" },
      });
      const ch = challenge(first);
      assert.match(ch.preview, /type: Restore/);
      for (const w of await writesIn([ns], since))
        assert.equal((w.requestObject as Json).spec.restore.mode, "DryRun", describeWrite(w));
      assert.deepEqual(await dhFingerprints(c, ns, "cold"), now);
      const second = await tokened.client.callTool({
        name: "vm_snapshot_restore",
        arguments: {
          vm: "cold",
          snapshot: "cold-1",
          confirmationToken: ch.token,
          confirmSnapshotName: "cold-1",
        },
      });
      const res = done(second, "restore", Restore);
      assert.equal(res.stoppedVm, false);
      assert.deepEqual(await dhFingerprints(c, ns, "cold"), { "cold-root": "cold-root-v1" });
    } finally {
      await tokened.close();
    }
  });
});

describe("the audit log", () => {
  it("vmsnap-user wrote only the Deckhouse kinds of SPEC §2", async () => {
    const writes = await writesIn([ns], fileStart);
    const allowed: Record<string, string[]> = {
      virtualmachinesnapshots: ["create", "delete"],
      virtualdisksnapshots: ["create", "delete"],
      virtualmachineoperations: ["create"],
      virtualmachinesnapshotoperations: ["create"],
      virtualdisks: ["create"],
    };
    assert.ok(writes.length > 5);
    for (const w of writes)
      assert.ok(allowed[w.objectRef?.resource ?? ""]?.includes(w.verb), describeWrite(w));
  });
});
