import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  labelSelectorProblems,
  parseSelectorString,
  selectorMatches,
  selectorString,
  type LabelSelector,
} from "./labels.js";
import {
  parseAge,
  policySnapshotName,
  policySpecProblems,
  retentionRulesOf,
  safetySnapshotTime,
  type SnapshotPolicySpec,
} from "./policy.js";
import { nameProblem, safetySnapshotName } from "./names.js";

const spec = (over: Partial<SnapshotPolicySpec> = {}): SnapshotPolicySpec => ({
  selector: { matchLabels: { backup: "nightly" } },
  schedule: "0 2 * * *",
  ...over,
});

describe("policy: spec checks", () => {
  it("a minimal policy is valid; retention rules carry the time zone", () => {
    assert.deepEqual(policySpecProblems(spec()), []);
    const rules = retentionRulesOf(
      spec({ timeZone: "Europe/Berlin", retention: { keepLast: 3, maxAge: "2w" } }),
    );
    assert.equal(rules.timeZone, "Europe/Berlin");
    assert.equal(rules.keepLast, 3);
    assert.equal(rules.maxAgeMs, 14 * 86_400_000);
  });

  it("lists every problem a CRD cannot catch", () => {
    const problems = policySpecProblems(
      spec({
        selector: {},
        schedule: "61 * * * *",
        timeZone: "Europe/Berlin",
        startingDeadlineSeconds: -1,
        retention: { keepLast: 1.5, maxAge: "3 days", safetySnapshotMaxAge: "7d" },
        snapshot: { quiesceTimeout: "1m", failureDeadline: "soon" },
      }),
    );
    for (const p of [
      /selector: the selector is empty/,
      /invalid schedule "61 \* \* \* \*"/,
      /startingDeadlineSeconds/,
      /retention.keepLast/,
      /retention.maxAge "3 days"/,
      /snapshot.failureDeadline "soon"/,
      /quiesceTimeout must be 5 to 240 minutes/,
    ])
      assert.ok(
        problems.some((x) => p.test(x)),
        `${p} in ${problems.join("; ")}`,
      );
    assert.ok(!problems.some((x) => x.includes("safetySnapshotMaxAge")));
  });

  it("reads ages with days and weeks", () => {
    assert.equal(parseAge("90d"), 90 * 86_400_000);
    assert.equal(parseAge("1d12h"), 36 * 3_600_000);
    assert.equal(parseAge("2w"), 14 * 86_400_000);
    for (const bad of ["", "0d", "d", "1y", "1.5d", "-1d", "1d 2h"])
      assert.equal(parseAge(bad), undefined, bad);
  });
});

describe("policy: snapshot names", () => {
  const t = new Date("2026-11-24T02:00:00Z");

  it("<vm>-<policy>-<time>, the same for the same VM, policy and time", () => {
    assert.equal(policySnapshotName("web", "nightly", t), "web-nightly-20261124-020000");
    assert.equal(policySnapshotName("web", "nightly", t), policySnapshotName("web", "nightly", t));
  });

  it("stays a valid name for long VM and policy names, and long policies differ by a hash", () => {
    const a = policySnapshotName("v".repeat(63), `${"p".repeat(40)}-one`, t);
    const b = policySnapshotName("v".repeat(63), `${"p".repeat(40)}-two`, t);
    assert.equal(nameProblem(a), undefined, a);
    assert.notEqual(a, b);
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
        fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
        fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }),
        (vm, policy, when) => {
          assert.equal(nameProblem(policySnapshotName(vm, policy, when)), undefined);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("policy: safety snapshots of restores", () => {
  const t = new Date("2026-11-24T02:00:34Z");

  it("recognises `<vm>-pre-restore-<ts>` of this VM (and its numbered variants), with its time", () => {
    assert.deepEqual(safetySnapshotTime(safetySnapshotName("db", t), "db"), t);
    assert.deepEqual(safetySnapshotTime("db-pre-restore-20261124-020034-2", "db"), t);
    const long = "x".repeat(63);
    assert.deepEqual(safetySnapshotTime(safetySnapshotName(long, t), long), t);
  });

  it("refuses look-alikes: another VM's, a bad time, a policy snapshot, a counter of 1", () => {
    for (const [name, vm] of [
      ["web-pre-restore-20261124-020034", "db"],
      ["db-pre-restore-20261324-020034", "db"],
      ["db-pre-restore-20261124-020034x", "db"],
      ["db-nightly-20261124-020000", "db"],
      ["db-pre-restore-20261124-020034-1", "db"],
      ["mydb-pre-restore-20261124-020034", "db"],
    ])
      assert.equal(safetySnapshotTime(name!, vm!), undefined, name);
  });
});

describe("labels", () => {
  const sel: LabelSelector = {
    matchLabels: { backup: "nightly", "app.kubernetes.io/part-of": "shop" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["web", "db"] },
      { key: "env", operator: "NotIn", values: ["dev"] },
      { key: "owner", operator: "Exists" },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  };

  it("reads a selector string back into the same selector (round trip), and refuses nonsense", () => {
    const back = parseSelectorString(selectorString(sel));
    assert.equal(selectorString(back), selectorString(sel));
    assert.deepEqual(back.matchLabels, sel.matchLabels);
    assert.deepEqual(parseSelectorString("app=web"), { matchLabels: { app: "web" } });
    assert.deepEqual(parseSelectorString("app!=web"), {
      matchExpressions: [{ key: "app", operator: "NotIn", values: ["web"] }],
    });
    for (const bad of ["a b c", "=web", "tier in (db"])
      assert.throws(() => parseSelectorString(bad), /invalid label selector/, bad);
  });

  it("renders the selector as the API server takes it", () => {
    assert.equal(
      selectorString(sel),
      "app.kubernetes.io/part-of=shop,backup=nightly,tier in (db,web),env notin (dev),owner,!legacy",
    );
  });

  it("matches as the API server does", () => {
    const base = {
      backup: "nightly",
      "app.kubernetes.io/part-of": "shop",
      tier: "db",
      owner: "ops",
    };
    assert.ok(selectorMatches(sel, base));
    assert.ok(!selectorMatches(sel, { ...base, tier: "cache" }));
    assert.ok(!selectorMatches(sel, { ...base, env: "dev" }));
    assert.ok(selectorMatches(sel, { ...base, env: "prod" }));
    assert.ok(!selectorMatches(sel, { ...base, legacy: "" }));
    const noOwner: Record<string, string> = { ...base };
    delete noOwner.owner;
    assert.ok(!selectorMatches(sel, noOwner));
  });

  it("finds malformed selectors", () => {
    assert.deepEqual(labelSelectorProblems(sel), []);
    const problems = labelSelectorProblems({
      matchLabels: { "Bad Key": "x", ok: "bad value" },
      matchExpressions: [
        { key: "a", operator: "In" },
        { key: "b", operator: "Exists", values: ["x"] },
      ],
    });
    assert.equal(problems.length, 4, problems.join("; "));
  });
});
