import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  bucketOf,
  decideRetention,
  nextExpiry,
  type RetentionCandidate,
  type RetentionDecision,
  type RetentionRules,
} from "./retention.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Daily policy snapshots of one VM at 02:00 UTC, from `first` for `days` days. */
function daily(first: string, days: number, vm = "web"): RetentionCandidate[] {
  const start = Date.parse(`${first}T02:00:00Z`);
  return Array.from({ length: days }, (_, i) => {
    const time = new Date(start + i * DAY);
    return {
      name: `${vm}-nightly-${time.toISOString().slice(0, 10)}`,
      vm,
      origin: "policy" as const,
      state: "ready" as const,
      time,
    };
  });
}

const kept = (ds: RetentionDecision[]) =>
  ds
    .filter((d) => d.action === "keep")
    .map((d) => d.name)
    .sort();
const day = (name: string) => name.slice(-10);

describe("retention: buckets", () => {
  it("uses ISO weeks (Monday first; the week of the year's Thursday) in the policy's time zone", () => {
    assert.equal(bucketOf(new Date("2026-01-01T12:00:00Z"), "weekly"), "2026-W01");
    assert.equal(bucketOf(new Date("2025-12-29T00:30:00Z"), "weekly"), "2026-W01");
    assert.equal(bucketOf(new Date("2027-01-01T12:00:00Z"), "weekly"), "2026-W53");
    assert.equal(bucketOf(new Date("2026-03-01T12:00:00Z"), "weekly"), "2026-W09");
    assert.equal(bucketOf(new Date("2026-03-02T12:00:00Z"), "weekly"), "2026-W10");
    // 02:00 UTC is the evening before in Los Angeles, and the afternoon in Auckland.
    const t = new Date("2026-03-01T02:00:00Z");
    assert.equal(bucketOf(t, "daily", "America/Los_Angeles"), "2026-02-28");
    assert.equal(bucketOf(t, "monthly", "America/Los_Angeles"), "2026-02");
    assert.equal(bucketOf(t, "hourly", "Pacific/Auckland"), "2026-03-01T15");
    assert.equal(bucketOf(t, "hourly"), "2026-03-01T02");
  });
});

describe("retention: the policy's rules", () => {
  const now = new Date("2026-03-01T03:00:00Z");

  it("minAge (prune --older-than) keeps younger snapshots whatever the counts say", () => {
    const ds = decideRetention(daily("2026-02-20", 10), { keepLast: 1, minAgeMs: 3 * DAY }, now);
    // 03-01 is the newest; 02-27 and 02-28 are younger than 3 days (02-26 02:00 is 3d1h old).
    assert.deepEqual(kept(ds).map(day), ["2026-02-27", "2026-02-28", "2026-03-01"]);
    for (const d of ds.filter((x) => x.reason === "too-recent")) assert.equal(d.action, "keep");
    assert.equal(ds.filter((d) => d.action === "delete").length, 7);
  });

  it("keep-last N keeps the N newest and deletes the rest", () => {
    const ds = decideRetention(daily("2026-02-20", 10), { keepLast: 3 }, now);
    assert.deepEqual(kept(ds).map(day), ["2026-02-27", "2026-02-28", "2026-03-01"]);
    for (const d of ds.filter((x) => x.action === "delete")) assert.equal(d.reason, "unselected");
  });

  it("daily 7 + weekly 4 + monthly 2 over 60 days keeps the expected 10 (UTC)", () => {
    const ds = decideRetention(daily("2026-01-01", 60), { daily: 7, weekly: 4, monthly: 2 }, now);
    // Days: Mar 1 … Feb 23; weeks (Mon–Sun): Mar 1, Feb 22, Feb 15, Feb 8; months: Mar 1, Feb 28.
    assert.deepEqual(kept(ds).map(day), [
      "2026-02-08",
      "2026-02-15",
      "2026-02-22",
      "2026-02-23",
      "2026-02-24",
      "2026-02-25",
      "2026-02-26",
      "2026-02-27",
      "2026-02-28",
      "2026-03-01",
    ]);
    const feb15 = ds.find((d) => day(d.name) === "2026-02-15")!;
    assert.equal(feb15.reason, "selected");
    assert.match(feb15.detail, /weekly 2026-W07/);
  });

  it("the same snapshots in Los Angeles fall on the previous local day, which changes the buckets", () => {
    const ds = decideRetention(
      daily("2026-01-01", 60),
      { daily: 7, weekly: 4, monthly: 2, timeZone: "America/Los_Angeles" },
      now,
    );
    // Local days Feb 28 … Feb 22 (Mar 1 … Feb 23 UTC); weeks end local Feb 28, 22, 15, 8
    // (Mar 1, Feb 23, 16, 9 UTC); months: local Feb (Mar 1 UTC) and local Jan 31 (Feb 1 UTC).
    assert.deepEqual(kept(ds).map(day), [
      "2026-02-01",
      "2026-02-09",
      "2026-02-16",
      "2026-02-23",
      "2026-02-24",
      "2026-02-25",
      "2026-02-26",
      "2026-02-27",
      "2026-02-28",
      "2026-03-01",
    ]);
  });

  it("hourly keeps the newest of each hour, not every snapshot of it", () => {
    const start = Date.parse("2026-03-01T00:00:00Z");
    const snaps = Array.from({ length: 12 }, (_, i) => ({
      name: `s${String(i).padStart(2, "0")}`,
      vm: "web",
      origin: "policy" as const,
      state: "ready" as const,
      time: new Date(start + i * 20 * 60_000), // every 20 minutes: 3 per hour, hours 00–03
    }));
    const ds = decideRetention(snaps, { hourly: 2 }, new Date(start + 4 * HOUR));
    assert.deepEqual(kept(ds), ["s08", "s11"]);
  });

  it("maxAge deletes older snapshots whatever the counts say, but never the VM's newest ready one", () => {
    const ds = decideRetention(
      daily("2026-02-01", 10),
      { keepLast: 100, maxAgeMs: 3 * DAY },
      new Date("2026-02-13T03:00:00Z"),
    );
    // All are older than 3 days; the newest ready one (Feb 10) is kept all the same.
    assert.deepEqual(kept(ds).map(day), ["2026-02-10"]);
    const feb10 = ds.find((d) => day(d.name) === "2026-02-10")!;
    assert.equal(feb10.reason, "newest-ready");
    assert.ok(ds.filter((d) => d.action === "delete").every((d) => d.reason === "max-age"));
  });

  it("maxAge alone keeps the young ones; no rule at all keeps everything", () => {
    const snaps = daily("2026-02-01", 10);
    const at = new Date("2026-02-10T02:00:00Z");
    assert.deepEqual(kept(decideRetention(snaps, { maxAgeMs: 2 * DAY }, at)).map(day), [
      "2026-02-08",
      "2026-02-09",
      "2026-02-10",
    ]);
    const none = decideRetention(snaps, {}, at);
    assert.equal(kept(none).length, 10);
    assert.ok(none.every((d) => d.reason === "no-count-rules" || d.reason === "newest-ready"));
  });

  it("failed snapshots: the newest one stays for diagnosis, older ones go; keepFailed changes it", () => {
    const snaps = daily("2026-02-01", 6).map((s, i) => ({
      ...s,
      state: i % 2 ? ("failed" as const) : ("ready" as const),
    }));
    const at = new Date("2026-02-07T03:00:00Z");
    const ds = decideRetention(snaps, { keepLast: 10 }, at);
    assert.deepEqual(
      ds.filter((d) => d.action === "delete").map((d) => [day(d.name), d.reason]),
      [
        ["2026-02-02", "failed-superseded"],
        ["2026-02-04", "failed-superseded"],
      ],
    );
    assert.equal(
      decideRetention(snaps, { keepLast: 10, keepFailed: 0 }, at).filter(
        (d) => d.action === "delete",
      ).length,
      3,
    );
  });
});

describe("retention: protections", () => {
  const now = new Date("2026-03-01T03:00:00Z");

  it("never touches snapshots the policy did not make", () => {
    const snaps: RetentionCandidate[] = [
      ...daily("2026-02-25", 5),
      { name: "manual", vm: "web", origin: "other", state: "ready", time: new Date("2026-01-01") },
    ];
    const ds = decideRetention(snaps, { keepLast: 1, maxAgeMs: DAY }, now);
    assert.deepEqual(
      ds.filter((d) => d.name === "manual").map((d) => [d.action, d.reason]),
      [["keep", "not-ours"]],
    );
  });

  it("the VM's newest ready snapshot may be someone else's: then no policy snapshot is protected by it", () => {
    const snaps: RetentionCandidate[] = [
      ...daily("2026-02-01", 5),
      { name: "manual", vm: "web", origin: "other", state: "ready", time: now },
    ];
    const ds = decideRetention(snaps, { maxAgeMs: DAY }, now);
    assert.deepEqual(kept(ds), ["manual"]);
  });

  it("keeps held snapshots (a restore or clone in progress, the current one) and in-progress ones", () => {
    const snaps = daily("2026-02-01", 5);
    snaps[0]!.holds = ["restore web-restore-1 in progress"];
    snaps[1]!.state = "in-progress";
    snaps[2]!.time = null;
    snaps[3]!.state = "deleting";
    const ds = decideRetention(snaps, { keepLast: 1 }, now);
    assert.deepEqual(
      ds.map((d) => [d.action, d.reason]),
      [
        ["keep", "held"],
        ["keep", "in-progress"],
        ["keep", "time-unknown"],
        ["keep", "deleting"],
        ["keep", "newest-ready"],
      ],
    );
    assert.equal(ds[0]!.detail, "restore web-restore-1 in progress");
  });

  it("safety snapshots: untouched unless the policy expires them, then only the old ones go", () => {
    const safety = (name: string, iso: string): RetentionCandidate => ({
      name,
      vm: "web",
      origin: "safety",
      state: "ready",
      time: new Date(iso),
    });
    const snaps = [
      ...daily("2026-02-27", 3),
      safety("web-pre-restore-20260210-120000", "2026-02-10T12:00:00Z"),
      safety("web-pre-restore-20260228-120000", "2026-02-28T12:00:00Z"),
    ];
    assert.equal(kept(decideRetention(snaps, { keepLast: 3 }, now)).length, 5);
    const ds = decideRetention(snaps, { keepLast: 3, safetyMaxAgeMs: 7 * DAY }, now);
    assert.deepEqual(
      ds.filter((d) => d.action === "delete").map((d) => [d.name, d.reason]),
      [["web-pre-restore-20260210-120000", "safety-expired"]],
    );
  });

  it("each VM is decided on its own", () => {
    const snaps = [...daily("2026-02-20", 5, "web"), ...daily("2026-02-27", 2, "db")];
    const ds = decideRetention(snaps, { keepLast: 2 }, now);
    assert.deepEqual(kept(ds), [
      "db-nightly-2026-02-27",
      "db-nightly-2026-02-28",
      "web-nightly-2026-02-23",
      "web-nightly-2026-02-24",
    ]);
  });

  it("wakes up when a kept snapshot passes its max age", () => {
    const snaps = daily("2026-02-27", 3);
    assert.deepEqual(
      nextExpiry(snaps, { maxAgeMs: 2 * DAY }, now),
      new Date(Date.parse("2026-03-02T02:00:00Z") + 1),
    );
    assert.equal(nextExpiry(snaps, { keepLast: 1 }, now), undefined);
  });
});

// ---- properties -------------------------------------------------------------------------------

const T0 = Date.parse("2026-01-01T00:00:00Z");
const NOW = new Date(T0 + 120 * DAY);

const candidateArb = (vm: string, i: number): fc.Arbitrary<RetentionCandidate> =>
  fc.record({
    name: fc.constant(`${vm}-${i}`),
    vm: fc.constant(vm),
    origin: fc.constantFrom("policy", "policy", "policy", "safety", "other"),
    state: fc.constantFrom("ready", "ready", "ready", "in-progress", "failed", "deleting"),
    time: fc.option(
      fc.integer({ min: 0, max: 120 * 24 * 4 }).map((q) => new Date(T0 + q * 15 * 60_000)),
      { freq: 12 },
    ),
    holds: fc.option(fc.constant(["restore in progress"]), { freq: 8, nil: undefined }),
  });

const candidatesArb: fc.Arbitrary<RetentionCandidate[]> = fc
  .array(fc.constantFrom("web", "db", "app"), { minLength: 0, maxLength: 40 })
  .chain((vms) => fc.tuple(...vms.map((vm, i) => candidateArb(vm, i))))
  .map((cs) => cs as RetentionCandidate[]);

const countArb = fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined });
const rulesArb: fc.Arbitrary<RetentionRules> = fc.record({
  keepLast: countArb,
  hourly: countArb,
  daily: countArb,
  weekly: countArb,
  monthly: countArb,
  keepFailed: countArb,
  maxAgeMs: fc.option(
    fc.integer({ min: 1, max: 100 }).map((d) => d * DAY),
    { nil: undefined },
  ),
  safetyMaxAgeMs: fc.option(
    fc.integer({ min: 1, max: 100 }).map((d) => d * DAY),
    {
      nil: undefined,
    },
  ),
  timeZone: fc.constantFrom("UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"),
});

const RUNS = 2_000;

function newestReady(cs: RetentionCandidate[], vm: string): RetentionCandidate | undefined {
  return cs
    .filter((c) => c.vm === vm && c.state === "ready")
    .sort(
      (a, b) =>
        (b.time?.getTime() ?? -Infinity) - (a.time?.getTime() ?? -Infinity) ||
        (a.name < b.name ? 1 : -1),
    )[0];
}

describe(`retention: properties (${RUNS} generated cases each)`, () => {
  it("never deletes what it must not: others', unmanaged safety, held, in progress, deleting, undated, the newest ready", () => {
    fc.assert(
      fc.property(candidatesArb, rulesArb, (cs, rules) => {
        const ds = decideRetention(cs, rules, NOW);
        assert.equal(ds.length, cs.length);
        cs.forEach((c, i) => {
          const d = ds[i]!;
          assert.equal(d.name, c.name);
          if (d.action === "keep") return;
          assert.notEqual(c.origin, "other");
          if (c.origin === "safety") assert.ok(rules.safetyMaxAgeMs !== undefined);
          assert.ok(!c.holds?.length);
          assert.ok(c.state === "ready" || c.state === "failed", c.state);
          assert.ok(c.time);
          assert.notEqual(newestReady(cs, c.vm), c);
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("every deletion has a rule behind it: max age, an unselected count, a superseded failure, an expired safety snapshot", () => {
    fc.assert(
      fc.property(candidatesArb, rulesArb, (cs, rules) => {
        const ds = decideRetention(cs, rules, NOW);
        cs.forEach((c, i) => {
          const d = ds[i]!;
          if (d.action === "keep") return;
          const age = NOW.getTime() - c.time!.getTime();
          if (d.reason === "max-age") assert.ok(age > rules.maxAgeMs!);
          else if (d.reason === "safety-expired") assert.ok(age > rules.safetyMaxAgeMs!);
          else if (d.reason === "failed-superseded") assert.equal(c.state, "failed");
          else {
            assert.equal(d.reason, "unselected");
            assert.ok(
              [rules.keepLast, rules.hourly, rules.daily, rules.weekly, rules.monthly].some(
                (v) => v !== undefined,
              ),
            );
          }
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("is stable: after its deletions, a second pass deletes nothing", () => {
    fc.assert(
      fc.property(candidatesArb, rulesArb, (cs, rules) => {
        const ds = decideRetention(cs, rules, NOW);
        const left = cs.filter((_, i) => ds[i]!.action === "keep");
        const again = decideRetention(left, rules, NOW);
        assert.deepEqual(
          again.filter((d) => d.action === "delete").map((d) => d.name),
          [],
        );
      }),
      { numRuns: RUNS },
    );
  });

  it("does not depend on the order of its input", () => {
    fc.assert(
      fc.property(
        candidatesArb.chain((cs) =>
          fc.tuple(fc.constant(cs), fc.shuffledSubarray(cs, { minLength: cs.length })),
        ),
        rulesArb,
        ([cs, shuffled], rules) => {
          const byName = (ds: RetentionDecision[]) =>
            Object.fromEntries(ds.map((d) => [d.name, [d.action, d.reason]]));
          assert.deepEqual(
            byName(decideRetention(shuffled, rules, NOW)),
            byName(decideRetention(cs, rules, NOW)),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("keep-last N keeps at least the N newest ready policy snapshots within max age, per VM", () => {
    fc.assert(
      fc.property(candidatesArb, rulesArb, (cs, rules) => {
        const ds = decideRetention(cs, rules, NOW);
        const keptNames = new Set(ds.filter((d) => d.action === "keep").map((d) => d.name));
        for (const vm of new Set(cs.map((c) => c.vm))) {
          const young = cs
            .filter(
              (c) =>
                c.vm === vm &&
                c.origin === "policy" &&
                c.state === "ready" &&
                c.time &&
                (rules.maxAgeMs === undefined ||
                  NOW.getTime() - c.time.getTime() <= rules.maxAgeMs),
            )
            .sort((a, b) => b.time!.getTime() - a.time!.getTime() || (a.name < b.name ? 1 : -1));
          for (const c of young.slice(0, rules.keepLast ?? 0)) assert.ok(keptNames.has(c.name));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("raising a count never deletes more", () => {
    fc.assert(
      fc.property(
        candidatesArb,
        rulesArb,
        fc.constantFrom(
          "keepLast",
          "hourly",
          "daily",
          "weekly",
          "monthly",
          "keepFailed",
        ) as fc.Arbitrary<"keepLast" | "hourly" | "daily" | "weekly" | "monthly" | "keepFailed">,
        (cs, rules, key) => {
          const before = decideRetention(cs, rules, NOW);
          const more = { ...rules, [key]: (rules[key] ?? 0) + 1 };
          // A count rule appearing where there was none can only add limits when no other
          // existed (no-count-rules keeps everything): compare only when one existed.
          if (rules[key] === undefined && key !== "keepFailed") return;
          const after = decideRetention(cs, more, NOW);
          before.forEach((d, i) => {
            if (d.action === "keep") assert.equal(after[i]!.action, "keep", d.name);
          });
        },
      ),
      { numRuns: RUNS },
    );
  });
});
