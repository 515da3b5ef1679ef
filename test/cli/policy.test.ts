// vmsnap policy create|list|describe|delete and vmsnap prune, end to end through the built CLI as
// vmsnap-user against the real API server and the simulated KubeVirt controllers: the plan before
// anything is written, the confirmation (a yes for create; the policy name, or the count of
// snapshots, typed for a deletion), and exactly the writes the plan showed (audit log).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Vmsnap } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { Policy, PolicyList } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult } from "../helpers/cli.js";
import { describeWrite, writesIn } from "../helpers/mcp.js";
import { makeVm } from "../mcp/fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-policy");
});

after(() => c?.close());

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);
const show = showResult;
/** Real (not dry-run) writes by vmsnap-user in this file's namespace since a moment. */
const realWrites = async (since: Date) => (await writesIn([ns], since)).map(describeWrite);

describe("vmsnap policy", () => {
  before(async () => {
    await makeVm(c, ns, "web-1", { labels: { app: "web" } });
    await makeVm(c, ns, "web-2", { labels: { app: "web" } });
  });

  it("create: a dry run shows the plan (VMs selected now, next runs, retention) and writes nothing", async () => {
    const since = new Date();
    const r = await vmsnap(
      "policy",
      "create",
      "nightly",
      "-l",
      "app=web",
      "--schedule",
      "0 2 * * *",
      "--keep-last",
      "7",
      "--daily",
      "7",
      "--dry-run",
    );
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /kind: SnapshotPolicy/);
    assert.match(r.stdout, /selects 2 VMs in .*: web-1, web-2/);
    assert.match(r.stdout, /next runs \(UTC schedule 0 2 \* \* \*\): \S+T02:00:00\.000Z/);
    assert.match(r.stdout, /retention: keep-last 7, daily 7/);
    assert.deepEqual(await realWrites(since), []);
    assert.equal(await c.getIfExists(Vmsnap.snapshotPolicies, "nightly", ns), undefined);
  });

  it("create without a TTY and without --yes refuses; with --yes it creates exactly the plan", async () => {
    const args = ["policy", "create", "nightly", "-l", "app=web", "--schedule", "0 2 * * *"];
    const since = new Date();
    const refused = await vmsnap(...args, "--keep-last", "7");
    assert.notEqual(refused.code, 0, show(refused));
    assert.match(refused.stderr, /refusing to create without confirmation: no TTY/);
    assert.doesNotMatch(refused.stderr, /--yes/, "the advice never names the flag that skips it");
    assert.deepEqual(await realWrites(since), []);

    const r = await vmsnap(
      ...args,
      "--keep-last",
      "7",
      "--time-zone",
      "Europe/Berlin",
      "--yes",
      "-o",
      "json",
    );
    assert.equal(r.code, 0, show(r));
    const created = Policy.parse(json(r));
    assert.equal(created.state, "Created");
    const obj = await c.get(Vmsnap.snapshotPolicies, "nightly", ns);
    assert.deepEqual(obj.spec, {
      selector: { matchLabels: { app: "web" } },
      schedule: "0 2 * * *",
      timeZone: "Europe/Berlin",
      retention: { keepLast: 7 },
    });
    assert.deepEqual(await realWrites(since), ["create snapshotpolicies nightly"]);

    const again = await vmsnap(...args, "--yes");
    assert.notEqual(again.code, 0, show(again));
    assert.match(again.stderr, /already exists/);
  });

  it("an invalid schedule or time zone is refused before anything is sent", async () => {
    const bad = await vmsnap(
      "policy",
      "create",
      "bad",
      "-l",
      "app=web",
      "--schedule",
      "61 * * * *",
      "--yes",
    );
    assert.equal(bad.code, 2, show(bad));
    const tz = await vmsnap(
      "policy",
      "create",
      "bad",
      "-l",
      "app=web",
      "--schedule",
      "@daily",
      "--time-zone",
      "Mars/Olympus",
      "--yes",
    );
    assert.equal(tz.code, 2, show(tz));
  });

  it("list and describe", async () => {
    const list = PolicyList.parse(json(await vmsnap("policy", "list", "-o", "json")));
    assert.deepEqual(
      list.items.map((p) => [p.name, p.selector, p.schedule, p.timeZone, p.retention]),
      [["nightly", "app=web", "0 2 * * *", "Europe/Berlin", "keep-last 7"]],
    );
    const table = await vmsnap("policy", "list");
    assert.equal(table.code, 0, show(table));
    assert.match(table.stdout, /^NAME\s+STATE\s+SCHEDULE\s+SELECTOR/m);
    assert.match(table.stdout, /^nightly\s+/m);
    const d = await vmsnap("policy", "describe", "nightly");
    assert.equal(d.code, 0, show(d));
    assert.match(d.stdout, /Schedule:\s+0 2 \* \* \* \(Europe\/Berlin\)/);
    assert.match(d.stdout, /next runs: /);
    const missing = await vmsnap("policy", "describe", "nope");
    assert.equal(missing.code, 4, show(missing));
    assert.match(missing.stderr, /hint: list the policies with `vmsnap policy list -n /);
  });

  it("delete: the policy name typed; a wrong name deletes nothing; its snapshots are kept", async () => {
    const since = new Date();
    const wrong = await vmsnap("policy", "delete", "nightly", "--confirm", "Nightly");
    assert.notEqual(wrong.code, 0, show(wrong));
    assert.match(wrong.stderr, /does not match/);
    assert.ok(await c.getIfExists(Vmsnap.snapshotPolicies, "nightly", ns));
    const r = await vmsnap("policy", "delete", "nightly", "--confirm", "nightly", "-o", "json");
    assert.equal(r.code, 0, show(r));
    assert.equal(Policy.parse(json(r)).state, "Deleted");
    assert.match(r.stderr, /are kept: nothing deletes them once the policy is gone/);
    assert.deepEqual(await realWrites(since), ["delete snapshotpolicies nightly"]);
  });
});
