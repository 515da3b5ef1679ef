// vmsnap guard VM -- COMMAND, end to end through the built CLI as vmsnap-user: the snapshot is
// taken (and ready) before the command runs; a success changes nothing more; a failure without
// anyone to confirm restores nothing and says how to; a script's --restore-on-failure --confirm
// NAME restores exactly that snapshot (audit log).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { Guard } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { effectiveDryRun } from "../helpers/mcp.js";
import { makeVm, restoresOf } from "../mcp/fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-guard");
  await makeVm(c, ns, "app");
});

after(() => c?.close());

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);
const show = showResult;
const exitWith = (code: number) => [process.execPath, "-e", `process.exit(${code})`];
const realWrites = async (since: Date) =>
  (await writesIn(ns, since))
    .filter((e) => !effectiveDryRun(e))
    .map((e) => `${e.verb} ${e.objectRef?.resource ?? "?"}`);

describe("vmsnap guard", () => {
  it("snapshots first, runs the command; a success reports the snapshot and exits 0", async () => {
    const since = new Date();
    const r = await vmsnap("guard", "app", "--yes", "-o", "json", "--", ...exitWith(0));
    assert.equal(r.code, 0, show(r));
    const g = Guard.parse(json(r));
    assert.equal(g.succeeded, true);
    assert.equal(g.restore, null);
    const snap = await c.get(KubeVirt.snapshots, g.snapshot, ns);
    assert.equal((snap.status as { readyToUse?: boolean }).readyToUse, true);
    assert.deepEqual(await realWrites(since), ["create virtualmachinesnapshots"]);
  });

  it("a failure with no one to confirm restores nothing and says how to restore", async () => {
    const since = new Date();
    const r = await vmsnap("guard", "app", "--yes", "-o", "json", "--", ...exitWith(3));
    assert.equal(r.code, 1, show(r));
    const g = Guard.parse(json(r));
    assert.equal(g.succeeded, false);
    assert.equal(g.exitCode, 3);
    assert.equal(g.restore, null);
    assert.match(g.restoreNote ?? "", new RegExp(`\`vmsnap restore -n ${ns} app ${g.snapshot}\``));
    assert.doesNotMatch(g.restoreNote ?? "", /--confirm|--yes/);
    assert.deepEqual(await realWrites(since), ["create virtualmachinesnapshots"]);
    assert.deepEqual(await restoresOf(c, ns, "app"), []);
  });

  it("--restore-on-failure needs the snapshot's name, before anything is sent", async () => {
    const r = await vmsnap("guard", "app", "--yes", "--restore-on-failure", "--", ...exitWith(1));
    assert.equal(r.code, 2, show(r));
  });

  it("in a script, --restore-on-failure --confirm NAME restores exactly that snapshot", async () => {
    const since = new Date();
    const r = await vmsnap(
      "guard",
      "app",
      "--yes",
      "--name",
      "app-before-upgrade",
      "--restore-on-failure",
      "--confirm",
      "app-before-upgrade",
      "-o",
      "json",
      "--",
      ...exitWith(1),
    );
    assert.equal(r.code, 1, show(r));
    const g = Guard.parse(json(r));
    assert.equal(g.snapshot, "app-before-upgrade");
    assert.equal(g.restore?.snapshot, "app-before-upgrade");
    assert.equal(g.restore?.phase, "Succeeded");
    const writes = await realWrites(since);
    assert.ok(writes.includes("create virtualmachinerestores"), writes.join(", "));
    const restores = await restoresOf(c, ns, "app");
    assert.equal(restores.length, 1);
  });
});
