// restore against a fake platform: refusals before any write, the plan names exactly what is
// created, consent with the stop choice, the duration of the writing half only, and the state
// report of an interrupted restore with advice that asks the human again (never around it).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { phrase } from "../../src/core/advice.js";
import {
  presetConfirmation,
  verifyConfirmation,
  type ConfirmationAnswer,
} from "../../src/core/confirmation.js";
import { cliWords, mcpWords } from "../../src/report/words.js";
import { execute } from "../../src/workflows/execute.js";
import { restoreSnapshot } from "../../src/workflows/operations.js";
import { planRestore } from "../../src/workflows/restore.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { errorOf, type FakeOptions, fakeSession, NS } from "../helpers/fake-platform.js";

const answer = (snapshot: string, more: Partial<ConfirmationAnswer> = {}): ConfirmationAnswer => ({
  confirmed: true,
  typedName: snapshot,
  finalYes: true,
  ...more,
});
const setup = (o: FakeOptions = {}, running = false) =>
  fakeSession({ vms: [{ name: "db", running }, { name: "web" }], snapshots: { snap: "db" }, ...o });

describe("restore: refusals, before anything is written", () => {
  const cases: [string, FakeOptions, string, string, RegExp?][] = [
    ["a missing snapshot", {}, "nope", "NotFound", /`vmsnap list -n unit db`/],
    [
      "another VM's snapshot",
      { snapshots: { other: "web" } },
      "other",
      "InvalidInput",
      /`vmsnap restore -n unit web other`.*`vmsnap clone -n unit other --to NEW_VM`/,
    ],
    ["a failed snapshot", { snapshots: { bad: "db" }, failed: ["bad"] }, "bad", "OperationFailed"],
    [
      "a snapshot not ready",
      { snapshots: { wip: "db" }, notReady: ["wip"] },
      "wip",
      "Conflict",
      /`vmsnap describe -n unit wip`/,
    ],
    [
      "a restore in progress",
      { snapshots: { snap: "db" }, restoreInProgress: "db-restore-1" },
      "snap",
      "Conflict",
    ],
    [
      "a blocker the platform reports",
      {
        snapshots: { snap: "db" },
        restoreBlockers: [{ message: "image gone", fix: "recreate it" }],
      },
      "snap",
      "Conflict",
      /recreate it/,
    ],
  ];
  for (const [what, o, snapshot, code, hint] of cases)
    it(`${what} → ${code}`, async () => {
      const { session, kube } = setup(o);
      const e = await errorOf(planRestore(session, { vm: "db", snapshot }));
      assert.equal(e.code, code, e.message);
      if (hint) assert.match(phrase(e.advice!, cliWords), hint);
      assert.deepEqual(kube.writes(), []);
    });
});

describe("restore: the plan and its execution", () => {
  it("the plan names the safety snapshot and the restore, and exactly those are created", async () => {
    let t = new Date("2026-11-24T02:00:34Z");
    const { session, kube } = fakeSession(
      { vms: [{ name: "db" }], snapshots: { snap: "db" } },
      { now: () => t },
    );
    const plan = await planRestore(session, { vm: "db", snapshot: "snap" });
    assert.deepEqual(kube.writes(), [], "planning writes nothing");
    const safety = plan.planned.safetySnapshot!;
    assert.equal(safety, "db-pre-restore-20261124-020034");
    assert.match(plan.preview, new RegExp(`name: ${safety}`));
    assert.match(plan.preview, new RegExp(`name: ${plan.planned.restoreName}`));
    // The answer comes later (the clock moves): the names stay the ones shown.
    t = new Date("2026-11-24T02:07:00Z");
    const again = await planRestore(session, { vm: "db", snapshot: "snap" }, plan.pins);
    assert.equal(again.digest, plan.digest);
    const r = await execute(
      session,
      again,
      verifyConfirmation(again.confirmation!, answer("snap")),
    );
    assert.equal(r.safetySnapshot, safety);
    assert.deepEqual(kube.writes(), [
      `create virtualmachinesnapshots ${safety}`,
      `create virtualmachinerestores ${plan.planned.restoreName}`,
    ]);
  });

  it("a name taken in the same second gets a counter, for the restore object too", async () => {
    const { session } = fakeSession({
      vms: [{ name: "db" }],
      snapshots: { snap: "db", "db-pre-restore-20261124-020034": "db" },
    });
    const plan = await planRestore(session, { vm: "db", snapshot: "snap" });
    assert.equal(plan.planned.safetySnapshot, "db-pre-restore-20261124-020034-2");
    assert.equal(plan.planned.restoreName, "db-restore-20261124-020034-2");
    assert.deepEqual(plan.pins, { at: "2026-11-24T02:00:34.000Z", attempt: 2 });
  });

  it("what is lost is in the plan; without a safety snapshot, it says so in each face's words", async () => {
    const cli = fakeSession(
      { vms: [{ name: "db" }], snapshots: { snap: "db" }, specChanges: ["~ spec.cpu: 4 → 2"] },
      { words: cliWords },
    );
    const plan = await planRestore(cli.session, {
      vm: "db",
      snapshot: "snap",
      safetySnapshot: false,
    });
    assert.match(plan.lost.join("\n"), /~ spec.cpu: 4 → 2/);
    assert.match(plan.lost.join("\n"), /lost \(no safety snapshot: --no-safety-snapshot\)/);
    const mcp = fakeSession(
      { vms: [{ name: "db" }], snapshots: { snap: "db" } },
      { words: mcpWords },
    );
    const mplan = await planRestore(mcp.session, {
      vm: "db",
      snapshot: "snap",
      safetySnapshot: false,
    });
    assert.match(mplan.lost.join("\n"), /lost \(no safety snapshot: safetySnapshot: false\)/);
    assert.doesNotMatch(mplan.preview, /--/);
  });

  it("a running VM: no stop chosen → Conflict, nothing written; stop chosen → stopped, restored, started", async () => {
    const { session, kube } = setup({}, true);
    const plan = await planRestore(session, { vm: "db", snapshot: "snap" });
    assert.equal(plan.confirmation?.kind === "restore" && plan.confirmation.vmRunning, true);
    assert.throws(
      () => verifyConfirmation(plan.confirmation!, answer("snap")),
      /stopping it was not chosen/,
    );
    assert.deepEqual(kube.writes(), []);
    const consent = verifyConfirmation(plan.confirmation!, answer("snap", { stopVm: true }));
    const r = await execute(session, plan, consent);
    assert.equal(r.stoppedVm, true);
    assert.equal(r.restartedVm, true);
    assert.deepEqual(kube.writes(), [
      "patch virtualmachines db",
      `create virtualmachinesnapshots ${r.safetySnapshot}`,
      `create virtualmachinerestores ${r.restoreName}`,
      "patch virtualmachines db",
    ]);
  });

  it("the duration counts the restore, not the time the human took to answer", async () => {
    const { session } = setup();
    const slowHuman = {
      confirm: async () => {
        await new Promise((r) => setTimeout(r, 600));
        return answer("snap");
      },
    };
    const t0 = Date.now();
    const { restore } = await restoreSnapshot(session, { vm: "db", snapshot: "snap" }, slowHuman);
    const whole = Date.now() - t0;
    assert.ok(whole >= 600, "the human took 600 ms");
    assert.ok(
      restore.durationMs! <= whole - 600,
      `durationMs ${restore.durationMs} excludes the 600 ms at the prompt (whole call ${whole} ms)`,
    );
  });

  it("the stop choice has one route, the answer: a request's stop only shapes the dry run", async () => {
    const { session, kube } = setup({}, true);
    const dry = await restoreSnapshot(session, {
      vm: "db",
      snapshot: "snap",
      stop: true,
      dryRun: true,
    });
    assert.equal(dry.restore.stoppedVm, true);
    const e = await errorOf(
      restoreSnapshot(
        session,
        { vm: "db", snapshot: "snap", stop: true },
        presetConfirmation(answer("snap")),
      ),
    );
    assert.equal(e.code, "Conflict");
    assert.deepEqual(kube.writes(), []);
  });
});

describe("restore: interrupted, it reports where it stands and what to do next", () => {
  it("another restore holds the VM (platform's ConcurrentRestoreError): Conflict, refused, the VM left to it", async () => {
    const { session, kube } = fakeSession(
      {
        vms: [{ name: "db", running: true }],
        snapshots: { snap: "db" },
        restoreOutcome: "concurrent",
      },
      { words: cliWords },
    );
    const plan = await planRestore(session, { vm: "db", snapshot: "snap" });
    const e = await errorOf(
      execute(
        session,
        plan,
        verifyConfirmation(plan.confirmation!, answer("snap", { stopVm: true })),
      ),
    );
    assert.equal(e.code, "Conflict");
    assert.match(e.message, /restore db-restore-\S+: refused by the platform — it changes nothing/);
    assert.match(phrase(e.advice!, cliWords), /next: wait for the other restore to complete/);
    assert.equal(
      kube.writes().filter((w) => w === "patch virtualmachines db").length,
      1,
      "stopped once, not started again: the other restore restarts it",
    );
  });

  it("two restores that began together: the one whose safety snapshot came first restores, the other steps back before its restore (Conflict)", async () => {
    // The other process's safety snapshot appears once this restore is planned: created in the
    // same second as this one's, its name (its plan's time) decides which came first.
    for (const [other, yields] of [
      ["db-pre-restore-20261124-020033", true],
      ["db-pre-restore-20261124-020035", false],
    ] as const) {
      const { session, kube, platform } = fakeSession(
        { vms: [{ name: "db", running: true }], snapshots: { snap: "db" } },
        { words: cliWords },
      );
      const plan = await planRestore(session, { vm: "db", snapshot: "snap" });
      kube.put(KubeVirt.snapshots, platform.snapshotObject(other, "db", true));
      const run = execute(
        session,
        plan,
        verifyConfirmation(plan.confirmation!, answer("snap", { stopVm: true })),
      );
      const creates = () => kube.writes().filter((w) => w.startsWith("create"));
      if (!yields) {
        await run;
        assert.deepEqual(creates(), [
          `create virtualmachinesnapshots ${plan.planned.safetySnapshot}`,
          `create virtualmachinerestores ${plan.planned.restoreName}`,
        ]);
        continue;
      }
      const e = await errorOf(run);
      assert.equal(e.code, "Conflict");
      assert.match(
        e.message,
        new RegExp(
          `a restore of VM db started meanwhile \\(its safety snapshot ${other} was taken since this restore was planned\\); this one was not started`,
        ),
      );
      assert.deepEqual(
        creates(),
        [`create virtualmachinesnapshots ${plan.planned.safetySnapshot}`],
        "its own safety snapshot, no restore",
      );
      assert.equal(
        kube.writes().filter((w) => w === "patch virtualmachines db").length,
        1,
        "stopped once, not started again: the other restore restarts it",
      );
    }
  });

  it("a failure before the restore exists: the VM is started again; the advice re-runs the restore, which asks again", async () => {
    for (const [words, rerun] of [
      [cliWords, /next: re-run `vmsnap restore -n unit db snap --stop` to restore$/],
      [
        mcpWords,
        /next: re-run vm_snapshot_restore with namespace "unit", vm "db", snapshot "snap", stopVm true to restore$/,
      ],
    ] as const) {
      const { session, kube } = fakeSession(
        { vms: [{ name: "db", running: true }], snapshots: { snap: "db" }, snapshotsFail: true },
        { words },
      );
      const plan = await planRestore(session, { vm: "db", snapshot: "snap" });
      const e = await errorOf(
        execute(
          session,
          plan,
          verifyConfirmation(plan.confirmation!, answer("snap", { stopVm: true })),
        ),
      );
      assert.match(
        e.message,
        /the safety snapshot \S+ did not complete, so the restore was not started/,
      );
      assert.match(e.message, /VM db: started again by vmsnap, as before the restore/);
      assert.match(e.message, /restore: NOT created — the VM's disks are unchanged/);
      const hint = phrase(e.advice!, words);
      assert.match(hint, rerun);
      assert.doesNotMatch(hint, /--yes|--confirm|confirmationToken/);
      assert.deepEqual(
        kube.writes().filter((w) => w.startsWith("patch")),
        ["patch virtualmachines db", "patch virtualmachines db"],
      );
      assert.ok(!kube.writes().some((w) => w.includes("virtualmachinerestores")));
    }
  });

  it("an abort signal stops before the next write, with the state report", async () => {
    const { session, kube } = setup();
    const plan = await planRestore(session, { vm: "db", snapshot: "snap" });
    const abort = new AbortController();
    abort.abort();
    const e = await errorOf(
      execute(session, plan, verifyConfirmation(plan.confirmation!, answer("snap")), {
        signal: abort.signal,
      }),
    );
    assert.match(e.message, /state of VM unit\/db now/);
    assert.deepEqual(kube.writes(), []);
    assert.equal(NS, "unit");
  });
});
