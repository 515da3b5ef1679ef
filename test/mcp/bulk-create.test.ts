// vm_snapshot_create with a selector: one elicitation listing every matching VM, structured
// per-VM results, a partial failure flagged as an error without hiding the successes, and the
// argument rules (vm or selector, not both).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { STORAGE, ensureSimStorage, vmManifest } from "../../src/playground/fixtures.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import { SnapshotBatch } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import {
  accept,
  connectInProcess,
  describeWrite,
  done,
  failed,
  messageOf,
  serverOptions,
  textOf,
  writesIn,
  type McpConnection,
} from "../helpers/mcp.js";
import { makeVm } from "./fixtures.js";

let c: KubeClient;
let ns: string;
let mcp: McpConnection;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-bulk");
  mcp = await connectInProcess(serverOptions({ namespace: ns }), { era: "modern" });
});

after(async () => {
  await mcp?.close();
  c?.close();
});

const call = (name: string, args: Record<string, unknown>) =>
  mcp.client.callTool({ name, arguments: args });

describe("vm_snapshot_create with a selector", () => {
  it("vm and selector are exclusive; name cannot name many snapshots", async () => {
    mcp.answer(() => assert.fail("no question for invalid arguments"));
    const since = new Date();
    failed(await call("vm_snapshot_create", {}), "InvalidInput");
    failed(await call("vm_snapshot_create", { vm: "x", selector: "app=x" }), "InvalidInput");
    failed(await call("vm_snapshot_create", { selector: "app=x", name: "one" }), "InvalidInput");
    failed(await call("vm_snapshot_create", { vm: "x", allNamespaces: true }), "InvalidInput");
    // A namespace and every namespace at once is a contradiction in the input (issue 13).
    for (const [tool, more] of [
      ["vm_snapshot_create", { selector: "app=x" }],
      ["vm_list", {}],
      ["vm_snapshot_list", {}],
    ] as const)
      failed(await call(tool, { ...more, namespace: ns, allNamespaces: true }), "InvalidInput");
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), []);
  });

  it("one question for all VMs; per-VM results; the ready ones created", async () => {
    await makeVm(c, ns, "m1");
    await makeVm(c, ns, "m2");
    mcp.answer(accept({ confirm: true }));
    const forms = mcp.forms.length;
    const since = new Date();
    const r = await call("vm_snapshot_create", { selector: "app in (m1,m2)" });
    const batch = done(r, "batch", SnapshotBatch);
    assert.deepEqual(
      batch.items.map((i) => [i.vm, i.result]),
      [
        ["m1", "Ready"],
        ["m2", "Ready"],
      ],
    );
    const form = mcp.forms.slice(forms);
    assert.equal(form.length, 1, "one question");
    assert.match(messageOf(form[0]!), /Create 2 snapshots/);
    assert.match(messageOf(form[0]!), new RegExp(`${ns}/m1 → m1-snapshot-`));
    assert.match(messageOf(form[0]!), new RegExp(`${ns}/m2 → m2-snapshot-`));
    assert.match(textOf(r), /2 VMs: 2 succeeded, 0 failed, 0 skipped/);
    assert.deepEqual(
      (await writesIn([ns], since)).map(describeWrite).sort(),
      batch.items.map((i) => `create virtualmachinesnapshots ${i.snapshot}`).sort(),
    );
  });

  it("a blocked VM is reported as skipped and the call is flagged as an error", async () => {
    await makeVm(c, ns, "p1");
    await c.create(Core.pvcs, {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "p2-rootdisk", namespace: ns },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: STORAGE.noSnapshot,
        resources: { requests: { storage: "1Gi" } },
      },
    });
    await c.create(
      KubeVirt.vms,
      vmManifest({
        name: "p2",
        namespace: ns,
        runStrategy: "Halted",
        disks: [{ name: "rootdisk", claimName: "p2-rootdisk" }],
      }),
    );
    mcp.answer(accept({ confirm: true }));
    const since = new Date();
    const r = await call("vm_snapshot_create", { selector: "app in (p1,p2)" });
    assert.equal(r.isError, true);
    const batch = SnapshotBatch.parse((r.structuredContent as { batch: unknown }).batch);
    const byVm = new Map(batch.items.map((i) => [i.vm, i]));
    assert.equal(byVm.get("p1")?.result, "Ready");
    assert.equal(byVm.get("p2")?.result, "Skipped");
    assert.match(byVm.get("p2")?.message ?? "", /no VolumeSnapshotClass|not Bound/);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      `create virtualmachinesnapshots ${byVm.get("p1")!.snapshot}`,
    ]);
  });
});
