// vm_snapshot_prune end to end (token confirmation mode, as vmsnap-user against the real API
// server and the simulated KubeVirt controllers), with the CLI's semantics: the first call
// returns the preview (every snapshot, delete or keep and why) and a token and deletes nothing;
// a wrong count typed by the human deletes nothing; the right one deletes exactly the preview's
// deletions (audit log); dryRun returns the plan without a token.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { Prune } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import {
  assertNoWritesIn,
  challenge,
  connectInProcess,
  describeWrite,
  done,
  failed,
  serverOptions,
  writesIn,
  type McpConnection,
} from "../helpers/mcp.js";
import { adminSnapshot, makeVm, snapshotsOf } from "./fixtures.js";

let c: KubeClient;
let ns: string;
let mcp: McpConnection;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-prune");
  await makeVm(c, ns, "db");
  // Three snapshots a second apart, oldest first.
  for (const n of [1, 2, 3]) {
    await adminSnapshot(c, ns, "db", `db-s${n}`);
    await new Promise((r) => setTimeout(r, 1100));
  }
  mcp = await connectInProcess(serverOptions({ namespace: ns, confirmation: "token" }), {
    era: "modern",
    onElicit: () => assert.fail("token mode does not elicit"),
  });
});

after(async () => {
  await mcp?.close();
  c?.close();
});

const call = (name: string, args: Record<string, unknown>) =>
  mcp.client.callTool({ name, arguments: args });

describe("vm_snapshot_prune", () => {
  it("dryRun: the plan, every snapshot with delete or keep; nothing written", async () => {
    const since = new Date();
    const p = done(
      await call("vm_snapshot_prune", { vm: "db", keepLast: 1, dryRun: true }),
      "prune",
      Prune,
      "DryRun",
    );
    assert.deepEqual(Object.fromEntries(p.items.map((i) => [i.snapshot, i.action])), {
      "db-s1": "delete",
      "db-s2": "delete",
      "db-s3": "keep",
    });
    await assertNoWritesIn([ns], since);
  });

  it("vm and selector together are refused before anything is sent", async () => {
    failed(
      await call("vm_snapshot_prune", { vm: "db", selector: "a=b", keepLast: 1 }),
      "InvalidInput",
    );
  });

  it("the count typed by the human: a wrong one deletes nothing, the right one exactly the preview", async () => {
    const since = new Date();
    const ch = challenge(await call("vm_snapshot_prune", { vm: "db", keepLast: 1 }));
    assert.deepEqual(ch.requires, [
      "confirmationToken",
      "confirmSnapshotName (the number of snapshots to delete, typed by the human)",
    ]);
    assert.match(ch.preview, /delete db\/db-s1/);
    assert.match(ch.preview, /keep {3}db\/db-s3/);
    failed(
      await call("vm_snapshot_prune", {
        vm: "db",
        keepLast: 1,
        confirmationToken: ch.token,
        confirmSnapshotName: "1",
      }),
      "Cancelled",
    );
    await assertNoWritesIn([ns], since);
    const again = challenge(await call("vm_snapshot_prune", { vm: "db", keepLast: 1 }));
    const p = done(
      await call("vm_snapshot_prune", {
        vm: "db",
        keepLast: 1,
        confirmationToken: again.token,
        confirmSnapshotName: "2",
      }),
      "prune",
      Prune,
    );
    assert.equal(p.summary.deleted, 2);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite).sort(), [
      "delete virtualmachinesnapshots db-s1",
      "delete virtualmachinesnapshots db-s2",
    ]);
    assert.deepEqual(await snapshotsOf(c, ns, "db"), ["db-s3"]);
  });
});
