// Confirmation by MCP elicitation (SPEC §3.4, §7, --confirmation elicit, the default): the human
// answers a form the server itself asks. Whatever the answer short of an exact confirmation —
// declined, cancelled, a wrong name, no final yes, cancel for a running VM — nothing is written
// (audit log) and nothing changes (data fingerprints, snapshots still there). A client that cannot
// elicit, and a 2025-era client over (stateless) HTTP, get a clear refusal.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { Clone, Restore } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import type { Json } from "../helpers/kube.js";
import {
  accept,
  assertNoWritesIn,
  cancel,
  connectInProcess,
  decline,
  done,
  failed,
  fieldsOf,
  messageOf,
  nextSecond,
  serverOptions,
  type ElicitHandler,
  type McpConnection,
} from "../helpers/mcp.js";
import {
  adminSnapshot,
  fingerprints,
  makeVm,
  restoresOf,
  snapshotsOf,
  writeAll,
} from "./fixtures.js";

let c: KubeClient;
let ns: string;
let modern: McpConnection;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-elicit");
  modern = await connectInProcess(serverOptions({ namespace: ns }), { era: "modern" });
});

after(async () => {
  await modern?.close();
  c?.close();
});

/** The snapshot exists and is not being deleted. */
async function assertSnapshotIntact(name: string): Promise<void> {
  const s = await c.getIfExists(KubeVirt.snapshots, name, ns);
  assert.ok(s, `snapshot ${name} still exists`);
  assert.equal(s.metadata.deletionTimestamp, undefined, `snapshot ${name} is not being deleted`);
}

describe("restore: any answer but an exact confirmation changes nothing", () => {
  let n = 0;
  /** A stopped VM with a snapshot of v1 data, now holding v2 data. */
  async function scenario(): Promise<{ vm: string; snap: string; data: Record<string, string> }> {
    const vm = `rs-${++n}`;
    await makeVm(c, ns, vm, { disks: ["root", "data"] });
    await adminSnapshot(c, ns, vm, `${vm}-snap`);
    const data = await writeAll(c, ns, vm, "v2");
    return { vm, snap: `${vm}-snap`, data };
  }

  const refusals: [string, (snap: string) => ElicitHandler][] = [
    ["declined", () => decline],
    ["cancelled", () => cancel],
    ["accepted with a wrong name", (s) => accept({ snapshotName: `${s}x`, confirm: true })],
    [
      "accepted with the name in another case",
      (s) => accept({ snapshotName: s.toUpperCase(), confirm: true }),
    ],
    ["accepted without the final yes", (s) => accept({ snapshotName: s, confirm: false })],
  ];
  for (const [what, answer] of refusals) {
    it(`${what} → Cancelled, no write, the disks keep their data`, async () => {
      const { vm, snap, data } = await scenario();
      modern.answer(answer(snap));
      const forms = modern.forms.length;
      const since = new Date();
      const r = await modern.client.callTool({
        name: "vm_snapshot_restore",
        arguments: { vm, snapshot: snap },
      });
      failed(r, "Cancelled");
      assert.equal(modern.forms.length, forms + 1, "the human was asked once");
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await fingerprints(c, ns, vm), data);
      assert.deepEqual(await snapshotsOf(c, ns, vm), [snap], "no safety snapshot");
      assert.deepEqual(await restoresOf(c, ns, vm), []);
    });
  }

  it("running VM, the human picks cancel → Cancelled, the VM keeps running, no write", async () => {
    await makeVm(c, ns, "run-1", { run: true });
    await adminSnapshot(c, ns, "run-1", "run-1-snap");
    const data = await writeAll(c, ns, "run-1", "v2");
    modern.answer(accept({ snapshotName: "run-1-snap", runningVm: "cancel", confirm: true }));
    const forms = modern.forms.length;
    const since = new Date();
    const r = await modern.client.callTool({
      name: "vm_snapshot_restore",
      arguments: { vm: "run-1", snapshot: "run-1-snap" },
    });
    failed(r, "Cancelled");
    assert.deepEqual(fieldsOf(modern.forms[forms]!), ["confirm", "runningVm", "snapshotName"]);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, "run-1"), data);
    const vm = (await c.get(KubeVirt.vms, "run-1", ns)) as Json;
    assert.equal(vm.spec.runStrategy, "Always");
    assert.equal(vm.status.printableStatus, "Running");
  });

  it("a human who takes a moment to answer (the next second) still restores", async () => {
    const { vm, snap } = await scenario();
    modern.answer(async () => {
      await nextSecond();
      return { action: "accept", content: { snapshotName: snap, confirm: true } };
    });
    const r = await modern.client.callTool({
      name: "vm_snapshot_restore",
      arguments: { vm, snapshot: snap, safetySnapshot: false },
    });
    const res = done(r, "restore", Restore);
    assert.equal(res.phase, "Succeeded");
    assert.deepEqual(await fingerprints(c, ns, vm), {
      root: `${vm}-root-v1`,
      data: `${vm}-data-v1`,
    });
  });
});

describe("the plan confirmed is the plan shown (issue 13)", () => {
  it("answered in a later second, the safety snapshot and the restore are the ones the form named", async () => {
    const vm = "names-1";
    await makeVm(c, ns, vm, { disks: ["root", "data"] });
    await adminSnapshot(c, ns, vm, `${vm}-snap`);
    let shown = "";
    modern.answer(async (req) => {
      shown = messageOf(req);
      await nextSecond();
      return { action: "accept", content: { snapshotName: `${vm}-snap`, confirm: true } };
    });
    const res = done(
      await modern.client.callTool({
        name: "vm_snapshot_restore",
        arguments: { vm, snapshot: `${vm}-snap` },
      }),
      "restore",
      Restore,
    );
    const safety = /kind: VirtualMachineSnapshot\nmetadata:\n {2}name: (\S+)/.exec(shown)?.[1];
    const restore = /kind: VirtualMachineRestore\nmetadata:\n {2}name: (\S+)/.exec(shown)?.[1];
    assert.ok(safety && restore, shown);
    assert.equal(res.safetySnapshot, safety);
    assert.equal(res.restoreName, restore);
    assert.deepEqual((await snapshotsOf(c, ns, vm)).sort(), [`${vm}-snap`, safety].sort());
  });
});

describe("delete: any answer but the exact name changes nothing", () => {
  let n = 0;
  const refusals: [string, (snap: string) => ElicitHandler][] = [
    ["declined", () => decline],
    ["cancelled", () => cancel],
    ["accepted with a wrong name", (s) => accept({ snapshotName: `${s}-typo` })],
    ["accepted with the name in another case", (s) => accept({ snapshotName: s.toUpperCase() })],
    ["accepted with an empty form", () => accept({})],
  ];
  for (const [what, answer] of refusals) {
    it(`${what} → Cancelled, no write, the snapshot is intact`, async () => {
      const vm = `ds-${++n}`;
      await makeVm(c, ns, vm);
      await adminSnapshot(c, ns, vm, `${vm}-a`);
      await adminSnapshot(c, ns, vm, `${vm}-b`);
      modern.answer(answer(`${vm}-a`));
      const forms = modern.forms.length;
      const since = new Date();
      const r = await modern.client.callTool({
        name: "vm_snapshot_delete",
        arguments: { snapshot: `${vm}-a` },
      });
      await assertNoWritesIn([ns], since);
      await assertSnapshotIntact(`${vm}-a`);
      await assertSnapshotIntact(`${vm}-b`);
      failed(r, "Cancelled");
      assert.equal(modern.forms.length, forms + 1, "the human was asked once");
      assert.deepEqual(fieldsOf(modern.forms[forms]!), ["snapshotName"]);
    });
  }
});

describe("create and clone: yes/no", () => {
  it("create declined, or accepted with confirm false → Cancelled, no snapshot", async () => {
    await makeVm(c, ns, "cr");
    for (const answer of [decline, cancel, accept({ confirm: false })]) {
      modern.answer(answer);
      const since = new Date();
      const r = await modern.client.callTool({
        name: "vm_snapshot_create",
        arguments: { vm: "cr", name: "cr-snap" },
      });
      failed(r, "Cancelled");
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await snapshotsOf(c, ns, "cr"), []);
    }
  });

  it("clone declined → Cancelled, no VM", async () => {
    await makeVm(c, ns, "cl");
    await adminSnapshot(c, ns, "cl", "cl-snap");
    modern.answer(decline);
    const since = new Date();
    const r = await modern.client.callTool({
      name: "vm_clone_from_snapshot",
      arguments: { snapshot: "cl-snap", target: "cl-copy" },
    });
    failed(r, "Cancelled");
    await assertNoWritesIn([ns], since);
    assert.equal(await c.getIfExists(KubeVirt.vms, "cl-copy", ns), undefined);
  });

  it("a clone confirmed a moment later (the next second) still happens", async () => {
    await makeVm(c, ns, "cl2");
    await adminSnapshot(c, ns, "cl2", "cl2-snap");
    modern.answer(async () => {
      await nextSecond();
      return { action: "accept", content: { confirm: true } };
    });
    const r = await modern.client.callTool({
      name: "vm_clone_from_snapshot",
      arguments: { snapshot: "cl2-snap", target: "cl2-copy" },
    });
    assert.equal(done(r, "clone", Clone).phase, "Succeeded");
  });
});

describe("clients that cannot be asked", () => {
  let n = 0;
  /** Fresh objects for each call, so that one refusal cannot hide another. */
  async function calls(): Promise<[string, Record<string, unknown>, string][]> {
    const vm = `ne-${++n}`;
    await makeVm(c, ns, vm);
    await adminSnapshot(c, ns, vm, `${vm}-r`);
    await adminSnapshot(c, ns, vm, `${vm}-d`);
    return [
      ["vm_snapshot_restore", { vm, snapshot: `${vm}-r` }, vm],
      ["vm_snapshot_delete", { snapshot: `${vm}-d` }, vm],
      ["vm_snapshot_create", { vm, name: `${vm}-new` }, vm],
      ["vm_clone_from_snapshot", { snapshot: `${vm}-r`, target: `${vm}-copy` }, vm],
    ];
  }

  async function assertUntouched(vm: string): Promise<void> {
    await assertSnapshotIntact(`${vm}-r`);
    await assertSnapshotIntact(`${vm}-d`);
    assert.deepEqual(await snapshotsOf(c, ns, vm), [`${vm}-d`, `${vm}-r`]);
    assert.deepEqual(await restoresOf(c, ns, vm), []);
    assert.equal(await c.getIfExists(KubeVirt.vms, `${vm}-copy`, ns), undefined);
  }

  for (const era of ["modern", "legacy"] as const) {
    for (const tool of [
      "vm_snapshot_restore",
      "vm_snapshot_delete",
      "vm_snapshot_create",
      "vm_clone_from_snapshot",
    ]) {
      it(`a ${era} client without elicitation: ${tool} refuses, no write`, async () => {
        const [name, args, vm] = (await calls()).find(([t]) => t === tool)!;
        const conn = await connectInProcess(serverOptions({ namespace: ns }), {
          era,
          elicitation: false,
        });
        try {
          const since = new Date();
          const r = await conn.client.callTool({ name, arguments: args });
          await assertNoWritesIn([ns], since);
          await assertUntouched(vm);
          const e = failed(r, "Cancelled");
          assert.match(e!.message, /cannot show a confirmation/, name);
          assert.match(
            e!.hint ?? "",
            /confirmation mode token/,
            `${name}: the refusal says what to do`,
          );
        } finally {
          await conn.close();
        }
      });
    }
  }

  it("a 2025-era client over HTTP (stateless: nothing can be pushed) is refused, never asked", async () => {
    const conn = await connectInProcess(serverOptions({ namespace: ns }), { era: "legacy" });
    conn.answer(() => assert.fail("no form can be pushed over stateless HTTP"));
    try {
      for (const [name, args, vm] of await calls()) {
        const since = new Date();
        const r = await conn.client.callTool({ name, arguments: args });
        await assertNoWritesIn([ns], since);
        await assertUntouched(vm);
        const e = failed(r, "Cancelled");
        assert.match(e!.message, /2025-era HTTP/, name);
      }
      assert.equal(conn.forms.length, 0, "no form was pushed");
    } finally {
      await conn.close();
    }
  });
});
