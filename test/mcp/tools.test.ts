// Every MCP tool end to end, in-process (the handler the HTTP transport serves, driven by a real
// SDK client of the 2026-07-28 era), against the real API server and the simulated KubeVirt
// controllers, as vmsnap-user: tools/list, structuredContent validated with the documented
// schemas, readable text, the confirmation forms, progress, the audit log and the data
// fingerprints a restore or clone brings back.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
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
import { waitFor, type Json } from "../helpers/kube.js";
import {
  TOOL_NAMES,
  accept,
  connectInProcess,
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
import { adminSnapshot, fingerprints, makeVm, snapshotsOf, writeAll } from "./fixtures.js";

let c: KubeClient;
let ns: string;
let mcp: McpConnection;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-tools");
  mcp = await connectInProcess(serverOptions({ namespace: ns }), { era: "modern" });
});

after(async () => {
  await mcp?.close();
  c?.close();
});

const call = (name: string, args: Record<string, unknown>) =>
  mcp.client.callTool({ name, arguments: args });

describe("tools/list", () => {
  it("lists exactly the 12 tools, with honest annotations, strict input and output schemas", async () => {
    const { tools } = await mcp.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    const expected: Record<string, [readOnly: boolean, destructive: boolean, idempotent: boolean]> =
      {
        vm_list: [true, false, true],
        vm_snapshot_check: [true, false, true],
        vm_snapshot_list: [true, false, true],
        vm_snapshot_get: [true, false, true],
        vm_snapshot_create: [false, false, false],
        vm_clone_from_snapshot: [false, false, false],
        vm_snapshot_restore: [false, true, false],
        vm_snapshot_delete: [false, true, true],
        vm_snapshot_policy_list: [true, false, true],
        vm_snapshot_policy_create: [false, false, false],
        vm_snapshot_policy_delete: [false, true, true],
        vm_snapshot_prune: [false, true, false],
      };
    for (const t of tools) {
      const [readOnly, destructive, idempotent] = expected[t.name]!;
      assert.equal(t.annotations?.readOnlyHint, readOnly, `${t.name} readOnlyHint`);
      assert.equal(t.annotations?.destructiveHint, destructive, `${t.name} destructiveHint`);
      assert.equal(t.annotations?.idempotentHint, idempotent, `${t.name} idempotentHint`);
      assert.equal(t.annotations?.openWorldHint, false, `${t.name} openWorldHint`);
      assert.ok((t.description ?? "").length > 20, `${t.name} has a description`);
      assert.ok(t.title || t.annotations?.title, `${t.name} has a title`);
      assert.equal(t.inputSchema.type, "object");
      assert.equal(
        (t.inputSchema as Json).additionalProperties,
        false,
        `${t.name}: the input schema refuses unknown arguments`,
      );
      assert.equal(t.outputSchema?.type, "object", `${t.name} has an output schema`);
    }
    const restore = tools.find((t) => t.name === "vm_snapshot_restore")!;
    assert.match(restore.description ?? "", /DESTRUCTIVE/);
    const props = (name: string) =>
      Object.keys((tools.find((t) => t.name === name)!.inputSchema as Json).properties ?? {});
    assert.ok(props("vm_snapshot_restore").includes("confirmSnapshotName"));
    assert.ok(props("vm_snapshot_create").includes("vm"));
  });

  it("a 2025-era client sees the same tools", async () => {
    const legacy = await connectInProcess(serverOptions({ namespace: ns }), { era: "legacy" });
    try {
      const { tools } = await legacy.client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
      const r = await legacy.client.callTool({ name: "vm_list", arguments: {} });
      ok(r, VirtualMachineList);
    } finally {
      await legacy.close();
    }
  });
});

describe("read-only tools", () => {
  before(async () => {
    await makeVm(c, ns, "inv-a", { run: true, annotations: { [SIM.guestAgent]: "true" } });
    await makeVm(c, ns, "inv-b");
  });

  it("vm_list: the namespace's VMs, one VM, and all namespaces", async () => {
    const list = ok(await call("vm_list", {}), VirtualMachineList);
    const byName = new Map(list.items.map((i) => [i.name, i]));
    assert.ok(list.items.every((i) => i.namespace === ns));
    const a = byName.get("inv-a")!;
    assert.equal(a.platform, "kubevirt");
    assert.equal(a.running, true);
    assert.equal(a.status, "Running");
    assert.equal(a.guestAgent, true);
    assert.equal(byName.get("inv-b")?.running, false);

    const one = await call("vm_list", { vm: "inv-b" });
    assert.deepEqual(
      ok(one, VirtualMachineList).items.map((i) => i.name),
      ["inv-b"],
    );
    assert.match(textOf(one), /inv-b/);

    const wide = ok(await call("vm_list", { allNamespaces: true }), VirtualMachineList);
    assert.ok(wide.items.some((i) => i.namespace === ns && i.name === "inv-a"));

    const explicit = ok(await call("vm_list", { namespace: ns }), VirtualMachineList);
    assert.equal(explicit.items.length, list.items.length);
  });

  it("vm_snapshot_check: the Preflight of a snapshottable VM", async () => {
    const r = await call("vm_snapshot_check", { vm: "inv-a" });
    const pre = ok(r, Preflight);
    assert.equal(pre.vm, "inv-a");
    assert.equal(pre.namespace, ns);
    assert.equal(pre.snapshottable, true);
    assert.equal(pre.mode, "online");
    assert.equal(pre.expectedConsistency, "application-consistent");
    assert.deepEqual(pre.problems, []);
    assert.equal(pre.volumes.find((v) => v.name === "rootdisk")?.included, true);
    assert.match(textOf(r), /inv-a/);
  });

  it("vm_snapshot_list and vm_snapshot_get", async () => {
    await adminSnapshot(c, ns, "inv-b", "inv-b-snap");
    const list = ok(await call("vm_snapshot_list", { vm: "inv-b" }), SnapshotList);
    assert.deepEqual(
      list.items.map((s) => `${s.vm}/${s.name}`),
      ["inv-b/inv-b-snap"],
    );
    const all = ok(await call("vm_snapshot_list", {}), SnapshotList);
    assert.ok(all.items.some((s) => s.name === "inv-b-snap"));

    const r = await call("vm_snapshot_get", { snapshot: "inv-b-snap" });
    const snap = ok(r, Snapshot);
    assert.equal(snap.name, "inv-b-snap");
    assert.equal(snap.vm, "inv-b");
    assert.equal(snap.readyToUse, true);
    assert.deepEqual(snap.includedVolumes, ["rootdisk"]);
    assert.match(textOf(r), /inv-b-snap/);
  });

  it("a read tool's failure is an error result with the code in its text", async () => {
    const r = await call("vm_snapshot_get", { snapshot: "no-such-snap" });
    failed(r, "NotFound");
    assert.match(textOf(r), /no-such-snap/);
  });
});

describe("write tools, confirmed through elicitation", () => {
  it("vm_snapshot_create: a yes/no form with the manifest, progress, a ready snapshot, one write", async () => {
    await makeVm(c, ns, "web", { run: true, annotations: { [SIM.guestAgent]: "true" } });
    mcp.answer(accept({ confirm: true }));
    const forms = mcp.forms.length;
    const progress: string[] = [];
    const since = new Date();
    const r = await mcp.client.callTool(
      { name: "vm_snapshot_create", arguments: { vm: "web", name: "web-snap" } },
      { onprogress: (p) => progress.push(p.message ?? String(p.progress)) },
    );
    const snap = done(r, "snapshot", Snapshot);
    assert.equal(snap.name, "web-snap");
    assert.equal(snap.namespace, ns);
    assert.equal(snap.vm, "web");
    assert.equal(snap.phase, "Succeeded");
    assert.equal(snap.readyToUse, true);
    assert.equal(snap.consistency, "application-consistent");
    assert.match(textOf(r), /web-snap/);

    const form = mcp.forms.slice(forms);
    assert.equal(form.length, 1, "one question");
    assert.deepEqual(fieldsOf(form[0]!), ["confirm"]);
    assert.match(messageOf(form[0]!), /kind: VirtualMachineSnapshot/);
    assert.match(messageOf(form[0]!), /name: web-snap/);

    assert.ok(progress.length >= 1, "progress notifications arrived");
    assert.ok(
      progress.some((m) => /web-snap/.test(m)),
      `progress names the snapshot: ${progress.join(" | ")}`,
    );
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      "create virtualmachinesnapshots web-snap",
    ]);
    assert.equal(
      ((await c.get(KubeVirt.snapshots, "web-snap", ns)).status as Json).readyToUse,
      true,
    );
  });

  it("vm_snapshot_create dryRun: the plan, no question, no write", async () => {
    await makeVm(c, ns, "dry");
    mcp.answer(() => assert.fail("no question for a dry run"));
    const since = new Date();
    const r = await call("vm_snapshot_create", { vm: "dry", name: "dry-snap", dryRun: true });
    const snap = done(r, "snapshot", Snapshot, "DryRun");
    assert.equal(snap.phase, "DryRun");
    assert.match(textOf(r), /Dry run/);
    assert.match(textOf(r), /kind: VirtualMachineSnapshot/);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), []);
    assert.deepEqual(await snapshotsOf(c, ns, "dry"), []);
  });

  it("vm_clone_from_snapshot: yes/no, a new VM with the snapshot's data", async () => {
    await makeVm(c, ns, "src", { disks: ["root", "data"] });
    await adminSnapshot(c, ns, "src", "src-snap");
    await writeAll(c, ns, "src", "v2");
    mcp.answer(accept({ confirm: true }));
    const forms = mcp.forms.length;
    const since = new Date();
    const r = await call("vm_clone_from_snapshot", { snapshot: "src-snap", target: "src-copy" });
    const clone = done(r, "clone", Clone);
    assert.equal(clone.phase, "Succeeded");
    assert.equal(clone.snapshot, "src-snap");
    assert.equal(clone.target, "src-copy");
    assert.deepEqual(fieldsOf(mcp.forms[forms]!), ["confirm"]);
    assert.match(messageOf(mcp.forms[forms]!), /kind: VirtualMachineClone/);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      `create virtualmachineclones ${clone.cloneName}`,
    ]);
    assert.deepEqual(await fingerprints(c, ns, "src-copy"), {
      root: "src-root-v1",
      data: "src-data-v1",
    });
    assert.deepEqual(await fingerprints(c, ns, "src"), {
      root: "src-root-v2",
      data: "src-data-v2",
    });
  });

  it("vm_snapshot_restore (stopped VM): typed name + final yes; exactly the snapshot's data back", async () => {
    await makeVm(c, ns, "db", { disks: ["root", "data"] });
    const original = await fingerprints(c, ns, "db");
    assert.deepEqual(original, { root: "db-root-v1", data: "db-data-v1" });
    await adminSnapshot(c, ns, "db", "db-snap");
    await writeAll(c, ns, "db", "v2");
    await c.patch(KubeVirt.vms, "db", ns, {
      spec: { template: { spec: { domain: { memory: { guest: "4Gi" } } } } },
    });

    mcp.answer(accept({ snapshotName: "db-snap", confirm: true }));
    const forms = mcp.forms.length;
    const since = new Date();
    const r = await call("vm_snapshot_restore", { vm: "db", snapshot: "db-snap" });
    const res = done(r, "restore", Restore);
    assert.equal(res.phase, "Succeeded");
    assert.equal(res.vm, "db");
    assert.equal(res.snapshot, "db-snap");
    assert.equal(res.stoppedVm, false);
    assert.match(res.safetySnapshot ?? "", /^db-pre-restore-\d{8}-\d{6}$/);
    assert.ok(
      res.specChanges.some((l) => /memory/.test(l)),
      res.specChanges.join("\n"),
    );

    const form = mcp.forms[forms]!;
    assert.deepEqual(fieldsOf(form), ["confirm", "snapshotName"]);
    assert.match(messageOf(form), /lost/);
    assert.match(messageOf(form), /4Gi/);
    assert.match(messageOf(form), /kind: VirtualMachineRestore/);

    assert.deepEqual(await fingerprints(c, ns, "db"), original);
    const vm = (await c.get(KubeVirt.vms, "db", ns)) as Json;
    assert.equal(vm.spec.template.spec.domain.memory.guest, "2Gi");
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      `create virtualmachinesnapshots ${res.safetySnapshot}`,
      `create virtualmachinerestores ${res.restoreName}`,
    ]);
  });

  it("vm_snapshot_restore (running VM): stop-and-restore, data back, running again", async () => {
    await makeVm(c, ns, "app", { run: true, disks: ["root"] });
    await adminSnapshot(c, ns, "app", "app-snap");
    await writeAll(c, ns, "app", "v2");
    mcp.answer(accept({ snapshotName: "app-snap", runningVm: "stop-and-restore", confirm: true }));
    const forms = mcp.forms.length;
    const progress: string[] = [];
    const r = await mcp.client.callTool(
      {
        name: "vm_snapshot_restore",
        arguments: { vm: "app", snapshot: "app-snap", safetySnapshot: false },
      },
      { onprogress: (p) => progress.push(p.message ?? "") },
    );
    const res = done(r, "restore", Restore);
    assert.equal(res.stoppedVm, true);
    assert.equal(res.restartedVm, true);
    assert.equal(res.safetySnapshot, null);
    assert.deepEqual(fieldsOf(mcp.forms[forms]!), ["confirm", "runningVm", "snapshotName"]);
    assert.ok(progress.length >= 1, "progress during the restore");
    assert.deepEqual(await fingerprints(c, ns, "app"), { root: "app-root-v1" });
    await waitFor(c, KubeVirt.vms, "app", ns, (vm) => vm.status?.printableStatus === "Running");
  });

  it("vm_snapshot_delete: typed name; the last one is flagged wasOnlySnapshot", async () => {
    await makeVm(c, ns, "del");
    await adminSnapshot(c, ns, "del", "del-1");
    await adminSnapshot(c, ns, "del", "del-2");

    mcp.answer(accept({ snapshotName: "del-1" }));
    const forms = mcp.forms.length;
    const since = new Date();
    const first = await call("vm_snapshot_delete", { snapshot: "del-1" });
    const d1 = done(first, "deletion", Deletion);
    assert.equal(d1.phase, "Deleted");
    assert.equal(d1.vm, "del");
    assert.equal(d1.wasOnlySnapshot, false);
    assert.deepEqual(fieldsOf(mcp.forms[forms]!), ["snapshotName"]);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      "delete virtualmachinesnapshots del-1",
    ]);

    mcp.answer(accept({ snapshotName: "del-2" }));
    const last = await call("vm_snapshot_delete", { snapshot: "del-2" });
    const d2 = done(last, "deletion", Deletion);
    assert.equal(d2.wasOnlySnapshot, true);
    assert.match(messageOf(mcp.forms.at(-1)!), /only usable snapshot/);
    assert.deepEqual(await snapshotsOf(c, ns, "del"), []);
  });
});
