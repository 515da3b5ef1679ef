import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dueRun, parseSchedule, scheduleProblem } from "./schedule.js";

const at = (iso: string) => new Date(iso);

describe("schedule", () => {
  it("computes times in the time zone, across daylight-saving changes", () => {
    const s = parseSchedule("30 2 * * *", "Europe/Berlin");
    assert.deepEqual(s.next(at("2026-03-27T12:00:00Z")), at("2026-03-28T01:30:00Z"));
    // 02:30 does not exist on 29 March in Berlin: it runs at the first time after the gap.
    assert.deepEqual(s.next(at("2026-03-28T12:00:00Z")), at("2026-03-29T01:00:00Z"));
    // 02:30 happens twice on 25 October: it runs once.
    assert.deepEqual(s.next(at("2026-10-24T12:00:00Z")), at("2026-10-25T00:30:00Z"));
    assert.deepEqual(s.next(at("2026-10-25T00:30:00Z")), at("2026-10-26T01:30:00Z"));
  });

  it("latest() includes a time exactly at the instant; next() is strictly after", () => {
    const s = parseSchedule("0 * * * *");
    assert.deepEqual(s.latest(at("2026-03-30T05:00:00Z")), at("2026-03-30T05:00:00Z"));
    assert.deepEqual(s.latest(at("2026-03-30T05:59:59Z")), at("2026-03-30T05:00:00Z"));
    assert.deepEqual(s.next(at("2026-03-30T05:00:00Z")), at("2026-03-30T06:00:00Z"));
  });

  it("refuses what it cannot run, saying why", () => {
    assert.equal(scheduleProblem("@daily", "UTC"), undefined);
    assert.equal(scheduleProblem("*/15 * * * *", "Asia/Kolkata"), undefined);
    assert.match(scheduleProblem("", "UTC")!, /empty/);
    assert.match(scheduleProblem("* * * * * *", "UTC")!, /invalid schedule/);
    assert.match(scheduleProblem("bad", "UTC")!, /invalid schedule/);
    assert.match(scheduleProblem("0 0 31 2 *", "UTC")!, /never fires/);
    assert.match(scheduleProblem("0 2 * * *", "Mars/Olympus")!, /unknown time zone/);
    assert.match(scheduleProblem("CRON_TZ=UTC 0 2 * * *", "UTC")!, /spec.timeZone/);
  });
});

describe("dueRun (CronJob's rules)", () => {
  const hourly = parseSchedule("0 * * * *");
  const created = at("2026-01-01T00:30:00Z");

  it("nothing before the first time; the first time runs at the time", () => {
    assert.deepEqual(dueRun(hourly, { createdAt: created, now: at("2026-01-01T00:59:59Z") }), {
      skipped: 0,
      next: at("2026-01-01T01:00:00Z"),
    });
    assert.deepEqual(dueRun(hourly, { createdAt: created, now: at("2026-01-01T01:00:00Z") }), {
      run: at("2026-01-01T01:00:00Z"),
      skipped: 0,
      next: at("2026-01-01T02:00:00Z"),
    });
  });

  it("a time already run is not run again", () => {
    const d = dueRun(hourly, {
      createdAt: created,
      lastScheduleTime: at("2026-01-01T01:00:00Z"),
      now: at("2026-01-01T01:40:00Z"),
    });
    assert.equal(d.run, undefined);
  });

  it("after a gap, only the most recent missed time runs, however late, without a deadline", () => {
    const d = dueRun(hourly, {
      createdAt: created,
      lastScheduleTime: at("2026-01-01T01:00:00Z"),
      now: at("2026-01-01T05:59:00Z"),
    });
    assert.deepEqual(d.run, at("2026-01-01T05:00:00Z"));
    assert.equal(d.skipped, 3); // 02:00, 03:00, 04:00
  });

  it("with a starting deadline, a time later than the deadline is missed, not run", () => {
    const input = {
      createdAt: created,
      lastScheduleTime: at("2026-01-01T01:00:00Z"),
      startingDeadlineSeconds: 600,
    };
    assert.deepEqual(
      dueRun(hourly, { ...input, now: at("2026-01-01T02:10:00Z") }).run,
      at("2026-01-01T02:00:00Z"),
    );
    const late = dueRun(hourly, { ...input, now: at("2026-01-01T02:10:01Z") });
    assert.equal(late.run, undefined);
    assert.deepEqual(late.missed, at("2026-01-01T02:00:00Z"));
    // Once recorded as missed, it is not reported again.
    const again = dueRun(hourly, {
      ...input,
      lastMissedTime: at("2026-01-01T02:00:00Z"),
      now: at("2026-01-01T02:30:00Z"),
    });
    assert.deepEqual(again, { skipped: 0, next: at("2026-01-01T03:00:00Z") });
  });

  it("counts at most 100 skipped times (a clock far off must not cost unbounded work)", () => {
    const d = dueRun(parseSchedule("* * * * *"), {
      createdAt: at("2026-01-01T00:00:00Z"),
      now: at("2026-01-10T00:00:00Z"),
    });
    assert.deepEqual(d.run, at("2026-01-10T00:00:00Z"));
    assert.equal(d.skipped, 100);
  });
});
