// The MCP tools on VMware vSphere VM Operator, in-process (a 2026-07-28-era SDK client, a
// simulated human answering the elicitation forms; one flow in token mode), as vmsnap-user,
// against the real API server and the simulated VM Operator: inventory, preflight, create with
// memory, the snapshot tree, revert with stop-and-restore (the exact data back), a declined
// restore, delete with children, clone refused, and only SPEC §2 writes in the audit log.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, apiVersionOf } from "../../src/kube/resources.js";
import { ensureSimStorage, pvcManifest, vmoVmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { WRITE_VERBS } from "../../src/playground/audit.js";
import {
  Deletion,
  Preflight,
  Restore,
  Snapshot,
  SnapshotList,
  VirtualMachineList,
} from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { requestsSince } from "../helpers/audit.js";
import { waitFor, type Json } from "../helpers/kube.js";
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

const GROUP = "vmoperator.vmware.com";
const READY = "VirtualMachineSnapshotReady";

let c: KubeClient;
let ns: string;
let mcp: McpConnection;
let fileStart: Date;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-vmop");
  fileStart = new Date();
  mcp = await connectInProcess(serverOptions({ namespace: ns }), { era: "modern" });
  await Promise.all([
    makeVm("web", { tools: true }),
    makeVm("vks", { labels: { "cluster.x-k8s.io/cluster-name": "tkc-1" } }),
    makeVm("off", { power: "PoweredOff" }),
  ]);
});

after(async () => {
  await mcp?.close();
  c?.close();
});

const call = (name: string, args: Record<string, unknown>) =>
  mcp.client.callTool({ name, arguments: args });

// ---- fixtures (as admin) ----------------------------------------------------------------------

/** A VM Operator VM with a PVC `<vm>-data` (data `<vm>-data-v1`, boot `<vm>-boot-v1`). */
async function makeVm(
  name: string,
  o: { power?: "PoweredOn" | "PoweredOff"; tools?: boolean; labels?: Record<string, string> } = {},
): Promise<Json> {
  await c.create(
    Core.pvcs,
    pvcManifest({ name: `${name}-data`, namespace: ns, data: `${name}-data-v1` }),
  );
  const power = o.power ?? "PoweredOn";
  await c.create(
    VmOp.vms,
    vmoVmManifest({
      name,
      namespace: ns,
      powerState: power,
      claims: [{ name: "data", claimName: `${name}-data` }],
      labels: o.labels,
      annotations: {
        [SIM.data]: `${name}-boot-v1`,
        ...(o.tools ? { [SIM.guestAgent]: "true" } : {}),
      },
    }),
  );
  return waitFor(
    c,
    VmOp.vms,
    name,
    ns,
    (v) =>
      v.status?.powerState === power &&
      Boolean(v.status?.uniqueID) &&
      Boolean(v.status?.guest) === Boolean(o.tools && power === "PoweredOn"),
  );
}

/** The boot disk's fingerprint and each PVC's, by volume name. */
async function fingerprints(vmName: string): Promise<Record<string, string>> {
  const vm = (await c.get(VmOp.vms, vmName, ns)) as Json;
  const out: Record<string, string> = { boot: vm.metadata.annotations?.[SIM.data] ?? "" };
  for (const v of (vm.spec.volumes ?? []) as Json[]) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const pvc = await c.get(Core.pvcs, claim, ns);
    out[v.name] = pvc.metadata.annotations?.[SIM.data] ?? "";
  }
  return out;
}

/** "Writes" new data to the boot disk and the PVC. */
async function writeAll(vmName: string, suffix: string): Promise<Record<string, string>> {
  const out = { boot: `${vmName}-boot-${suffix}`, data: `${vmName}-data-${suffix}` };
  await c.patch(VmOp.vms, vmName, ns, { metadata: { annotations: { [SIM.data]: out.boot } } });
  await c.patch(Core.pvcs, `${vmName}-data`, ns, {
    metadata: { annotations: { [SIM.data]: out.data } },
  });
  return out;
}

/** A ready VirtualMachineSnapshot taken as admin (not through vmsnap). */
async function adminSnapshot(vm: string, name: string): Promise<Json> {
  await c.create(VmOp.snapshots, {
    apiVersion: apiVersionOf(VmOp.snapshots),
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: { vmName: vm },
  });
  return waitFor(c, VmOp.snapshots, name, ns, (s) =>
    ((s.status?.conditions ?? []) as Json[]).some((x) => x.type === READY && x.status === "True"),
  );
}

async function snapshotsOf(vm: string): Promise<string[]> {
  const list = await c.list(VmOp.snapshots, ns);
  return list.items
    .filter((s) => (s.spec as Json | undefined)?.vmName === vm)
    .map((s) => s.metadata.name)
    .sort();
}

// ---------------------------------------------------------------------------------------------

describe("read tools on VM Operator", () => {
  it("vm_list: VM Operator VMs with platform vmoperator, power state, tools, snapshottable", async () => {
    const r = await call("vm_list", {});
    const list = ok(r, VirtualMachineList);
    const by = new Map(list.items.map((i) => [i.name, i]));
    const web = by.get("web");
    assert.ok(web, textOf(r));
    assert.equal(web.platform, "vmoperator");
    assert.equal(web.status, "PoweredOn");
    assert.equal(web.running, true);
    assert.equal(web.guestAgent, true);
    assert.equal(web.snapshottable, true);
    const vks = by.get("vks")!;
    assert.equal(vks.snapshottable, false);
    assert.ok(
      vks.reasons.some((x) => /VKS|TKG/.test(x)),
      vks.reasons.join("; "),
    );
    const off = by.get("off")!;
    assert.equal(off.status, "PoweredOff");
    assert.equal(off.running, false);
    assert.match(textOf(r), /web\s+PoweredOn\s+yes/);

    const one = ok(await call("vm_list", { vm: "off" }), VirtualMachineList);
    assert.deepEqual(
      one.items.map((i) => `${i.platform}/${i.name}`),
      ["vmoperator/off"],
    );
  });

  it("vm_snapshot_check: a snapshottable VM, and a VKS node blocked with its fix", async () => {
    const pre = ok(await call("vm_snapshot_check", { vm: "web" }), Preflight);
    assert.equal(pre.platform, "vmoperator");
    assert.equal(pre.snapshottable, true);
    assert.equal(pre.mode, "online");
    assert.match(pre.expectedConsistency, /^application-consistent/);
    assert.deepEqual(
      pre.volumes.map((v) => v.name),
      ["boot disk", "data"],
    );

    const r = await call("vm_snapshot_check", { vm: "vks" });
    const blocked = ok(r, Preflight);
    assert.equal(blocked.snapshottable, false);
    const p = blocked.problems.find((x) => /VKS\/TKG cluster node/.test(x.message));
    assert.ok(p, JSON.stringify(blocked.problems));
    assert.match(p.fix ?? "", /Velero|workload cluster/);
    assert.match(textOf(r), /BLOCKED/);

    const offPre = ok(await call("vm_snapshot_check", { vm: "off" }), Preflight);
    assert.equal(offPre.mode, "offline");
  });
});

describe("write tools on VM Operator, confirmed by a simulated human", () => {
  it("vm_snapshot_create with memory and a description: a yes/no form, consistent (memory included)", async () => {
    mcp.answer(accept({ confirm: true }));
    const forms = mcp.forms.length;
    const since = new Date();
    const r = await call("vm_snapshot_create", {
      vm: "web",
      name: "web-1",
      memory: true,
      description: "before the upgrade",
      quiesceTimeout: "10m",
    });
    const snap = done(r, "snapshot", Snapshot);
    assert.equal(snap.platform, "vmoperator");
    assert.equal(snap.readyToUse, true);
    assert.equal(snap.consistency, "consistent (memory included)");
    assert.ok(snap.indications.includes("Memory"), snap.indications.join(","));
    assert.deepEqual(snap.tree, { parent: null, children: [], current: true });

    assert.equal(mcp.forms.length, forms + 1, "one question");
    const form = mcp.forms[forms]!;
    assert.deepEqual(fieldsOf(form), ["confirm"]);
    assert.match(messageOf(form), /kind: VirtualMachineSnapshot/);
    assert.match(messageOf(form), /memory: true/);
    assert.match(messageOf(form), /description: before the upgrade/);

    const obj = (await c.get(VmOp.snapshots, "web-1", ns)) as Json;
    assert.equal(obj.spec.memory, true);
    assert.equal(obj.spec.description, "before the upgrade");
    assert.deepEqual(obj.spec.quiesce, { timeout: "10m" });
    const writes = await writesIn([ns], since);
    assert.deepEqual(writes.map(describeWrite), ["create virtualmachinesnapshots web-1"]);
    assert.equal(writes[0]!.objectRef?.apiGroup, GROUP);
  });

  it("vm_snapshot_create on a VKS node: PreflightBlocked, no question, no write", async () => {
    mcp.answer(() => assert.fail("a blocked VM is refused before any question"));
    const since = new Date();
    const r = await call("vm_snapshot_create", { vm: "vks", name: "vks-1" });
    failed(r, "PreflightBlocked");
    assert.match(textOf(r), /VKS\/TKG/);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await snapshotsOf("vks"), []);
  });

  it("vm_snapshot_list and vm_snapshot_get: the tree (parent, children, current)", async () => {
    await writeAll("web", "v2");
    mcp.answer(accept({ confirm: true }));
    done(await call("vm_snapshot_create", { vm: "web", name: "web-2" }), "snapshot", Snapshot);

    const list = ok(await call("vm_snapshot_list", { vm: "web" }), SnapshotList);
    assert.deepEqual(
      list.items.map((s) => [s.name, s.platform, s.tree?.parent ?? null, s.tree?.current]),
      [
        ["web-1", "vmoperator", null, false],
        ["web-2", "vmoperator", "web-1", true],
      ],
    );
    const r = await call("vm_snapshot_get", { snapshot: "web-1" });
    const one = ok(r, Snapshot);
    assert.deepEqual(one.tree, { parent: null, children: ["web-2"], current: false });
    assert.match(textOf(r), /web-1/);
    const two = ok(await call("vm_snapshot_get", { snapshot: "web-2" }), Snapshot);
    assert.deepEqual(two.tree, { parent: "web-1", children: [], current: true });
  });

  it("vm_snapshot_restore declined → Cancelled; nothing written, the VM keeps running", async () => {
    const data = await fingerprints("web");
    mcp.answer(decline);
    const forms = mcp.forms.length;
    const since = new Date();
    const r = await call("vm_snapshot_restore", { vm: "web", snapshot: "web-1" });
    failed(r, "Cancelled");
    assert.equal(mcp.forms.length, forms + 1, "the human was asked once");
    assert.deepEqual(fieldsOf(mcp.forms[forms]!), ["confirm", "runningVm", "snapshotName"]);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints("web"), data);
    assert.deepEqual(await snapshotsOf("web"), ["web-1", "web-2"]);
    const vm = (await c.get(VmOp.vms, "web", ns)) as Json;
    assert.equal(vm.spec.powerState, "PoweredOn");
    assert.equal(vm.spec.currentSnapshotName, undefined);
  });

  it("vm_snapshot_restore on a running VM: the human chooses stop-and-restore; the exact data back", async () => {
    await writeAll("web", "v3");
    mcp.answer(accept({ snapshotName: "web-1", runningVm: "stop-and-restore", confirm: true }));
    const forms = mcp.forms.length;
    const since = new Date();
    const r = await call("vm_snapshot_restore", { vm: "web", snapshot: "web-1" });
    const res = done(r, "restore", Restore);
    assert.equal(res.phase, "Succeeded");
    assert.equal(res.stoppedVm, true);
    assert.equal(res.restartedVm, true);
    assert.match(res.safetySnapshot ?? "", /^web-pre-restore-\d{8}-\d{6}$/);

    const form = mcp.forms[forms]!;
    assert.deepEqual(fieldsOf(form), ["confirm", "runningVm", "snapshotName"]);
    assert.match(messageOf(form), /currentSnapshotName: web-1/);
    assert.match(messageOf(form), /includes memory: the VM resumes/);

    assert.deepEqual(await fingerprints("web"), { boot: "web-boot-v1", data: "web-data-v1" });
    const vm = await waitFor(c, VmOp.vms, "web", ns, (v) => v.status?.powerState === "PoweredOn");
    assert.equal(vm.status.currentSnapshot?.name, "web-1");
    assert.equal(vm.spec.currentSnapshotName, undefined);

    const writes = await writesIn([ns], since);
    assert.deepEqual(writes.map(describeWrite), [
      "patch virtualmachines web",
      `create virtualmachinesnapshots ${res.safetySnapshot}`,
      "patch virtualmachines web",
      "patch virtualmachines web",
    ]);
    assert.deepEqual(
      writes.filter((e) => e.verb === "patch").map((e) => e.requestObject),
      [
        { spec: { powerState: "PoweredOff" } },
        { spec: { currentSnapshotName: "web-1" } },
        { spec: { powerState: "PoweredOn" } },
      ],
    );
  });

  it("vm_snapshot_delete: typed name; the form names the children, which move to the parent", async () => {
    // web-1 → web-2 → the safety snapshot of the restore (taken while web-2 was current).
    const prior = ok(await call("vm_snapshot_get", { snapshot: "web-1" }), Snapshot);
    assert.deepEqual(prior.tree, { parent: null, children: ["web-2"], current: true });
    const children = prior.tree?.children ?? [];

    mcp.answer(accept({ snapshotName: "web-1" }));
    const forms = mcp.forms.length;
    const since = new Date();
    const r = await call("vm_snapshot_delete", { snapshot: "web-1" });
    const d = done(r, "deletion", Deletion);
    assert.equal(d.phase, "Deleted");
    assert.equal(d.vm, "web");
    const form = mcp.forms[forms]!;
    assert.deepEqual(fieldsOf(form), ["snapshotName"]);
    assert.match(
      messageOf(form),
      new RegExp(`its children \\(${children.join(", ")}\\) are kept and attached to the root`),
    );
    assert.match(messageOf(form), /current snapshot becomes none/);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      "delete virtualmachinesnapshots web-1",
    ]);
    assert.equal(await c.getIfExists(VmOp.snapshots, "web-1", ns), undefined);
    const web2 = ok(await call("vm_snapshot_get", { snapshot: "web-2" }), Snapshot);
    assert.equal(web2.tree?.parent, null, "web-2 is a root now");
    assert.equal(web2.tree?.children.length, 1, "the safety snapshot stays under web-2");
  });

  it("vm_clone_from_snapshot: InvalidInput, not supported by VM Operator; no question, nothing written", async () => {
    mcp.answer(() => assert.fail("no question for a refused clone"));
    const forms = mcp.forms.length;
    const since = new Date();
    const r = await call("vm_clone_from_snapshot", { snapshot: "web-2", target: "web-copy" });
    const e = failed(r, "InvalidInput");
    assert.match(e?.message ?? "", /not supported by VM Operator/);
    assert.match(textOf(r), /not supported by VM Operator/);
    assert.equal(mcp.forms.length, forms);
    // Not even a dry run was sent.
    const sent = (await requestsSince(since)).filter(
      (x) => WRITE_VERBS.has(x.verb) && x.objectRef?.namespace === ns,
    );
    assert.deepEqual(sent.map(describeWrite), []);
    assert.equal(await c.getIfExists(VmOp.vms, "web-copy", ns), undefined);
  });
});

describe("token mode on VM Operator (--platform vmoperator)", () => {
  it("restore of a powered-off VM: a plan and a token first, nothing changed; then the exact data back", async () => {
    const tokened = await connectInProcess(
      serverOptions({ namespace: ns, confirmation: "token", platform: "vmoperator" }),
      { era: "modern", onElicit: () => assert.fail("token mode does not elicit") },
    );
    try {
      await adminSnapshot("off", "off-1");
      const now = await writeAll("off", "v2");
      const since = new Date();
      const first = await tokened.client.callTool({
        name: "vm_snapshot_restore",
        arguments: { vm: "off", snapshot: "off-1" },
      });
      const ch = challenge(first);
      assert.match(ch.title, new RegExp(`Restore VM ${ns}/off to snapshot off-1`));
      assert.match(ch.preview, /currentSnapshotName: off-1/);
      assert.match(ch.preview, /no memory: VM Operator leaves the VM powered off/);
      assert.ok(!ch.requires.some((x) => x.startsWith("stopVm")), "the VM is powered off");
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await fingerprints("off"), now);

      const second = await tokened.client.callTool({
        name: "vm_snapshot_restore",
        arguments: {
          vm: "off",
          snapshot: "off-1",
          confirmationToken: ch.token,
          confirmSnapshotName: "off-1",
        },
      });
      const res = done(second, "restore", Restore);
      assert.equal(res.phase, "Succeeded");
      assert.equal(res.stoppedVm, false);
      assert.equal(res.restartedVm, false);
      assert.deepEqual(await fingerprints("off"), { boot: "off-boot-v1", data: "off-data-v1" });
      const vm = (await c.get(VmOp.vms, "off", ns)) as Json;
      assert.equal(vm.spec.powerState, "PoweredOff");
      assert.equal(vm.status.currentSnapshot?.name, "off-1");
      assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
        `create virtualmachinesnapshots ${res.safetySnapshot}`,
        "patch virtualmachines off",
      ]);
    } finally {
      await tokened.close();
    }
  });
});

describe("the audit log", () => {
  it("vmsnap-user wrote only VirtualMachineSnapshots (create/delete) and VM patches of powerState/currentSnapshotName", async () => {
    const writes = (await requestsSince(fileStart)).filter(
      (e) => WRITE_VERBS.has(e.verb) && e.objectRef?.namespace === ns,
    );
    assert.ok(writes.length > 0);
    const outside = writes.filter(
      (e) =>
        !(
          e.objectRef?.apiGroup === GROUP &&
          !e.objectRef.subresource &&
          ((e.objectRef.resource === "virtualmachinesnapshots" &&
            ["create", "delete"].includes(e.verb)) ||
            (e.objectRef.resource === "virtualmachines" && e.verb === "patch"))
        ),
    );
    assert.deepEqual(outside.map(describeWrite), [], "writes outside SPEC §2");
    for (const e of writes.filter((x) => x.objectRef?.resource === "virtualmachines")) {
      const body = e.requestObject as Json;
      assert.deepEqual(Object.keys(body), ["spec"], JSON.stringify(body));
      const keys = Object.keys(body.spec);
      assert.equal(keys.length, 1, JSON.stringify(body));
      assert.ok(["powerState", "currentSnapshotName"].includes(keys[0]!), JSON.stringify(body));
    }
  });
});
