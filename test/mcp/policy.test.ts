// The snapshot-policy tools end to end (token confirmation mode, as vmsnap-user against the real
// API server): vm_snapshot_policy_list reads; vm_snapshot_policy_create returns the plan and a
// token and writes nothing until the second call; vm_snapshot_policy_delete needs the policy name
// typed by the human. Every refusal writes nothing (audit log).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Vmsnap } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { Policy, PolicyList } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import {
  assertNoWritesIn,
  challenge,
  connectInProcess,
  describeWrite,
  done,
  failed,
  ok,
  serverOptions,
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
  ns = await newNamespace(c, "mcp-policy");
  await makeVm(c, ns, "app-1", { labels: { tier: "app" } });
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

describe("snapshot policy tools", () => {
  const create = {
    name: "hourly",
    selector: "tier=app",
    schedule: "0 * * * *",
    keepLast: 24,
    daily: 7,
  };

  it("list: none yet", async () => {
    const list = ok(await call("vm_snapshot_policy_list", {}), PolicyList);
    assert.deepEqual(list.items, []);
  });

  it("create: the first call returns the plan and a token and writes nothing; the second creates it", async () => {
    const since = new Date();
    const ch = challenge(await call("vm_snapshot_policy_create", create));
    assert.match(ch.preview, /kind: SnapshotPolicy/);
    assert.match(ch.preview, /selects 1 VM in .*: app-1/);
    assert.match(ch.preview, /retention: keep-last 24, daily 7/);
    assert.deepEqual(ch.requires, ["confirmationToken"]);
    await assertNoWritesIn([ns], since);
    const p = done(
      await call("vm_snapshot_policy_create", { ...create, confirmationToken: ch.token }),
      "policy",
      Policy,
    );
    assert.equal(p.state, "Created");
    const obj = await c.get(Vmsnap.snapshotPolicies, "hourly", ns);
    assert.deepEqual(obj.spec, {
      selector: { matchLabels: { tier: "app" } },
      schedule: "0 * * * *",
      retention: { keepLast: 24, daily: 7 },
    });
    const list = ok(await call("vm_snapshot_policy_list", {}), PolicyList);
    assert.deepEqual(
      list.items.map((i) => i.name),
      ["hourly"],
    );
  });

  it("an invalid schedule is refused naming it, nothing written", async () => {
    const since = new Date();
    const e = failed(
      await call("vm_snapshot_policy_create", { ...create, name: "bad", schedule: "99 * * * *" }),
      "InvalidInput",
    );
    assert.match(e!.message, /schedule/);
    await assertNoWritesIn([ns], since);
  });

  it("delete: the policy name typed by the human; a wrong one deletes nothing", async () => {
    const since = new Date();
    const ch = challenge(await call("vm_snapshot_policy_delete", { name: "hourly" }));
    assert.deepEqual(ch.requires, [
      "confirmationToken",
      "confirmSnapshotName (the policy name, typed by the human)",
    ]);
    assert.match(ch.preview, /are kept/);
    failed(
      await call("vm_snapshot_policy_delete", {
        name: "hourly",
        confirmationToken: ch.token,
        confirmSnapshotName: "Hourly",
      }),
      "Cancelled",
    );
    await assertNoWritesIn([ns], since);
    assert.ok(await c.getIfExists(Vmsnap.snapshotPolicies, "hourly", ns));
    const again = challenge(await call("vm_snapshot_policy_delete", { name: "hourly" }));
    const p = done(
      await call("vm_snapshot_policy_delete", {
        name: "hourly",
        confirmationToken: again.token,
        confirmSnapshotName: "hourly",
      }),
      "policy",
      Policy,
    );
    assert.equal(p.state, "Deleted");
    const writes = (await writesIn([ns], since)).map(describeWrite);
    assert.deepEqual(writes, ["delete snapshotpolicies hourly"]);
  });
});
