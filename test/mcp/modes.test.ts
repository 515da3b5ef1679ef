// Server modes and input validation: --confirmation deny (destructive tools refuse, additive
// ones proceed), --read-only (only the read tools exist), and invalid or unexpected arguments,
// which are refused before any request reaches the API server — proven both by the audit log and
// by a counting pass-through in front of the API server.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { Clone, Snapshot, SnapshotList, VirtualMachineList } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { requestsSince } from "../helpers/audit.js";
import {
  READ_TOOLS,
  assertNoWritesIn,
  callOrError,
  connectInProcess,
  countingProxy,
  describeWrite,
  done,
  failed,
  ok,
  serverOptions,
  show,
  textOf,
  writesIn,
  type McpConnection,
} from "../helpers/mcp.js";
import { adminSnapshot, fingerprints, makeVm, restoresOf, snapshotsOf } from "./fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-modes");
  await makeVm(c, ns, "m");
  await adminSnapshot(c, ns, "m", "m-snap");
});

after(() => c?.close());

/** The snapshot exists and is not being deleted. */
async function assertSnapshotIntact(name: string): Promise<void> {
  const s = await c.getIfExists(KubeVirt.snapshots, name, ns);
  assert.ok(s, `snapshot ${name} still exists`);
  assert.equal(s.metadata.deletionTimestamp, undefined, `snapshot ${name} is not being deleted`);
}

describe("--confirmation deny", () => {
  let mcp: McpConnection;
  before(async () => {
    mcp = await connectInProcess(serverOptions({ namespace: ns, confirmation: "deny" }), {
      era: "modern",
      onElicit: () => assert.fail("deny mode asks nobody"),
    });
  });
  after(() => mcp?.close());

  it("restore refuses, nothing written", async () => {
    const data = await fingerprints(c, ns, "m");
    const since = new Date();
    const r = await mcp.client.callTool({
      name: "vm_snapshot_restore",
      arguments: { vm: "m", snapshot: "m-snap" },
    });
    const e = failed(r, "Cancelled");
    assert.match(e!.message, /confirmation mode is deny/);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, "m"), data);
    assert.deepEqual(await restoresOf(c, ns, "m"), []);
    assert.deepEqual(await snapshotsOf(c, ns, "m"), ["m-snap"]);
  });

  it("delete refuses, the snapshot is intact", async () => {
    await makeVm(c, ns, "dn");
    await adminSnapshot(c, ns, "dn", "dn-snap");
    const since = new Date();
    const r = await mcp.client.callTool({
      name: "vm_snapshot_delete",
      arguments: { snapshot: "dn-snap" },
    });
    await assertNoWritesIn([ns], since);
    await assertSnapshotIntact("dn-snap");
    const e = failed(r, "Cancelled");
    assert.match(e!.message, /confirmation mode is deny/);
  });

  it("create and clone proceed without a question", async () => {
    const since = new Date();
    const snap = done(
      await mcp.client.callTool({
        name: "vm_snapshot_create",
        arguments: { vm: "m", name: "m-deny-ok" },
      }),
      "snapshot",
      Snapshot,
    );
    assert.equal(snap.readyToUse, true);
    const clone = done(
      await mcp.client.callTool({
        name: "vm_clone_from_snapshot",
        arguments: { snapshot: "m-snap", target: "m-copy" },
      }),
      "clone",
      Clone,
    );
    assert.equal(clone.phase, "Succeeded");
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      "create virtualmachinesnapshots m-deny-ok",
      `create virtualmachineclones ${clone.cloneName}`,
    ]);
  });
});

describe("--read-only", () => {
  for (const era of ["modern", "legacy"] as const) {
    it(`${era}: only the 4 read tools are listed; the write tools cannot be called`, async () => {
      const mcp = await connectInProcess(serverOptions({ namespace: ns, readOnly: true }), {
        era,
        onElicit: () => ({ action: "accept", content: { confirm: true, snapshotName: "m-snap" } }),
      });
      try {
        const { tools } = await mcp.client.listTools();
        assert.deepEqual(tools.map((t) => t.name).sort(), [...READ_TOOLS].sort());
        assert.ok(tools.every((t) => t.annotations?.readOnlyHint === true));
        ok(await mcp.client.callTool({ name: "vm_list", arguments: {} }), VirtualMachineList);
        ok(
          await mcp.client.callTool({ name: "vm_snapshot_list", arguments: { vm: "m" } }),
          SnapshotList,
        );

        const attempts: [string, Record<string, unknown>][] = [
          ["vm_snapshot_create", { vm: "m", name: "m-ro" }],
          ["vm_clone_from_snapshot", { snapshot: "m-snap", target: "m-ro-copy" }],
          ["vm_snapshot_restore", { vm: "m", snapshot: "m-snap" }],
          ["vm_snapshot_delete", { snapshot: "m-snap" }],
        ];
        for (const [name, args] of attempts) {
          const since = new Date();
          const { result, thrown } = await callOrError(mcp.client, name, args);
          if (result) {
            assert.equal(result.isError, true, `${name} must fail:\n${show(result)}`);
            assert.match(textOf(result), new RegExp(`${name}|not found|unknown|read-only`, "i"));
          } else {
            assert.match(String(thrown), new RegExp(`${name}|not found|unknown`, "i"));
          }
          await assertNoWritesIn([ns], since);
        }
        assert.equal(mcp.forms.length, 0, "nobody was asked");
        await assertSnapshotIntact("m-snap");
        assert.equal(await c.getIfExists(KubeVirt.snapshots, "m-ro", ns), undefined);
        assert.equal(await c.getIfExists(KubeVirt.vms, "m-ro-copy", ns), undefined);
      } finally {
        await mcp.close();
      }
    });
  }
});

describe("invalid arguments: refused before any request", () => {
  const bad: [string, Record<string, unknown>][] = [
    ["vm_snapshot_create", { vm: "Web" }],
    ["vm_snapshot_create", { vm: "a".repeat(64) }],
    ["vm_snapshot_create", { vm: "m", name: "Snap_1" }],
    ["vm_list", { namespace: "Bad_NS" }],
    ["vm_snapshot_list", { namespace: "Bad_NS" }],
    ["vm_snapshot_check", { vm: "m", namespace: "-bad" }],
    ["vm_snapshot_check", { vm: "x", rogue: 1 }],
    ["vm_list", { rogue: true }],
    ["vm_snapshot_get", { snapshot: "" }],
    ["vm_snapshot_get", { snapshot: "../secrets" }],
    ["vm_snapshot_restore", { vm: "m", snapshot: "M-SNAP" }],
    ["vm_snapshot_restore", { vm: "m", snapshot: "m-snap", rogue: 1 }],
    ["vm_snapshot_restore", { vm: "m", snapshot: "m-snap", force: true }],
    ["vm_snapshot_delete", { snapshot: "m-snap", namespace: "Bad_NS" }],
    ["vm_snapshot_delete", { snapshot: "m-snap", manifest: { kind: "Secret" } }],
    ["vm_clone_from_snapshot", { snapshot: "m-snap", target: "New_VM" }],
    ["vm_clone_from_snapshot", { snapshot: "m-snap", target: `${"b".repeat(63)}x` }],
    ["vm_snapshot_create", { vm: "m", deadlineSeconds: 1 }],
    ["vm_list", { labelSelector: "a".repeat(300) }],
  ];

  for (const era of ["modern", "legacy"] as const) {
    it(`${era}: ${bad.length} invalid calls, each an error, and not one request to the API server`, async () => {
      const proxy = await countingProxy();
      const mcp = await connectInProcess(
        serverOptions({ namespace: ns, kubeconfig: proxy.kubeconfig }),
        { era, onElicit: () => assert.fail("an invalid call asks nobody") },
      );
      try {
        const since = new Date();
        for (const [name, args] of bad) {
          const { result, thrown } = await callOrError(mcp.client, name, args);
          const what = `${name} ${JSON.stringify(args).slice(0, 80)}`;
          if (result) {
            assert.equal(result.isError, true, `${what} must be refused:\n${show(result)}`);
            assert.ok(textOf(result).length > 0, `${what}: the refusal is readable`);
          } else assert.ok(thrown, what);
        }
        assert.equal(proxy.connections(), 0, "no connection reached the API server");
        // Another test file runs beside this one as the same identity, in its own namespace: its
        // requests are not this file's.
        const seen = (await requestsSince(since)).filter(
          (e) =>
            e.objectRef?.namespace === ns ||
            e.objectRef?.namespace === "Bad_NS" ||
            (!e.objectRef?.namespace &&
              /Bad_NS|M-SNAP|New_VM|secrets|\/Web\b|aaaaaaaaaaaaaaaaaaaa/.test(e.requestURI)),
        );
        assert.deepEqual(
          seen.map((e) => `${e.verb} ${e.requestURI}`),
          [],
          "vmsnap-user sent no request for these calls",
        );

        // Positive control: a valid call through the same pass-through does reach the server.
        ok(await mcp.client.callTool({ name: "vm_list", arguments: {} }), VirtualMachineList);
        assert.ok(proxy.connections() > 0, "the pass-through carries valid requests");
      } finally {
        await mcp.close();
        await proxy.close();
      }
    });
  }

  it("the refusal names the problem (schema errors are readable)", async () => {
    const mcp = await connectInProcess(serverOptions({ namespace: ns }), { era: "modern" });
    try {
      const { result, thrown } = await callOrError(mcp.client, "vm_snapshot_create", {
        vm: "Web",
      });
      const text = result ? textOf(result) : String(thrown);
      assert.match(text, /vm/);
      const extra = await callOrError(mcp.client, "vm_snapshot_check", { vm: "x", rogue: 1 });
      assert.match(extra.result ? textOf(extra.result) : String(extra.thrown), /rogue/);
    } finally {
      await mcp.close();
    }
  });
});
