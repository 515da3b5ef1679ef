// vmsnap prune (split from policy.test.ts, as the same checks), end to end through the built CLI as
// vmsnap-user against the real API server and the simulated KubeVirt controllers: the plan before
// anything is written, the confirmation (the count of snapshots typed), and exactly the writes the
// plan showed (audit log).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { apiVersionOf } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { POLICY_LABEL, SCHEDULED_TIME_ANNOTATION } from "../../src/core/policy.js";
import { Prune } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult } from "../helpers/cli.js";
import { describeWrite, writesIn } from "../helpers/mcp.js";
import { waitFor } from "../helpers/kube.js";
import { adminSnapshot, makeVm, snapshotsOf } from "../mcp/fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-prune");
});

after(() => c?.close());

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);
const show = showResult;
/** Real (not dry-run) writes by vmsnap-user in this file's namespace since a moment. */
const realWrites = async (since: Date) => (await writesIn([ns], since)).map(describeWrite);

describe("vmsnap prune", () => {
  const vm = "db";
  before(async () => {
    await makeVm(c, ns, vm);
    // Four snapshots a second apart (oldest first), and one a policy made.
    for (const n of [1, 2, 3, 4]) {
      await adminSnapshot(c, ns, vm, `db-s${n}`);
      await new Promise((r) => setTimeout(r, 1100));
    }
    await c.create(KubeVirt.snapshots, {
      apiVersion: apiVersionOf(KubeVirt.snapshots),
      kind: "VirtualMachineSnapshot",
      metadata: {
        name: "db-nightly-20260101-020000",
        namespace: ns,
        labels: { [POLICY_LABEL]: "nightly" },
        annotations: { [SCHEDULED_TIME_ANNOTATION]: "2026-01-01T02:00:00Z" },
      },
      spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
    });
    await waitFor(
      c,
      KubeVirt.snapshots,
      "db-nightly-20260101-020000",
      ns,
      (s) => s.status?.readyToUse === true,
    );
  });

  it("--dry-run previews what retention deletes and why; nothing is written", async () => {
    const since = new Date();
    const r = await vmsnap("prune", vm, "--keep-last", "2", "--dry-run", "-o", "json");
    assert.equal(r.code, 0, show(r));
    const p = Prune.parse(json(r));
    assert.equal(p.phase, "DryRun");
    const by = Object.fromEntries(p.items.map((i) => [i.snapshot, i.action]));
    assert.deepEqual(by, {
      "db-s1": "delete",
      "db-s2": "delete",
      "db-s3": "keep",
      "db-s4": "keep",
      "db-nightly-20260101-020000": "keep",
    });
    assert.match(
      p.items.find((i) => i.snapshot === "db-nightly-20260101-020000")!.reason,
      /made by snapshot policy nightly/,
    );
    assert.deepEqual(await realWrites(since), []);
  });

  it("--older-than keeps what is younger, whatever --keep-last says", async () => {
    const r = await vmsnap(
      "prune",
      vm,
      "--keep-last",
      "1",
      "--older-than",
      "1d",
      "--dry-run",
      "-o",
      "json",
    );
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(
      Prune.parse(json(r)).items.filter((i) => i.action === "delete"),
      [],
    );
  });

  it("asks once with the count typed: a wrong count deletes nothing; the right one deletes exactly the preview", async () => {
    const since = new Date();
    const wrong = await vmsnap("prune", vm, "--keep-last", "2", "--confirm", "1");
    assert.notEqual(wrong.code, 0, show(wrong));
    assert.match(wrong.stderr, /does not match "2"/);
    assert.match(wrong.stderr, /type the number of snapshots to delete exactly/);
    const noTty = await vmsnap("prune", vm, "--keep-last", "2");
    assert.notEqual(noTty.code, 0, show(noTty));
    assert.match(noTty.stderr, /no TTY/);
    assert.deepEqual(await realWrites(since), []);

    const r = await vmsnap("prune", vm, "--keep-last", "2", "--confirm", "2", "-o", "json");
    assert.equal(r.code, 0, show(r));
    const p = Prune.parse(json(r));
    assert.equal(p.summary.deleted, 2);
    assert.deepEqual((await realWrites(since)).sort(), [
      "delete virtualmachinesnapshots db-s1",
      "delete virtualmachinesnapshots db-s2",
    ]);
    const left = await snapshotsOf(c, ns, vm);
    for (const kept of ["db-s3", "db-s4", "db-nightly-20260101-020000"])
      assert.ok(left.includes(kept), `${kept} is kept: ${left.join(", ")}`);
  });
});
