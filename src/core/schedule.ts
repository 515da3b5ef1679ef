// Cron schedules in a time zone (croner computes the times; nothing here reads a clock) and the
// decision a CronJob controller makes at each wake-up: which scheduled time is due now, which one
// was missed, and when to wake up next. The decision follows Kubernetes' CronJob controller
// (pkg/controller/cronjob/cronjob_controllerv2.go syncCronJob, utils.go mostRecentScheduleTime):
// only the most recent unmet time runs; earlier missed ones are skipped; with a starting
// deadline, a time later than the deadline is skipped too and reported as missed.
import { Cron } from "croner";

export interface Schedule {
  readonly expression: string;
  readonly timeZone: string;
  /** The first scheduled time strictly after `after`, or null when there is none. */
  next(after: Date): Date | null;
  /** The last scheduled time at or before `at`, or null. */
  latest(at: Date): Date | null;
}

/** Whether the runtime knows the IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Why the schedule cannot be used, if it cannot. */
export function scheduleProblem(
  expression: string | undefined,
  timeZone: string,
): string | undefined {
  if (!expression?.trim()) return "schedule is empty";
  if (/^\s*(CRON_)?TZ=/.test(expression))
    return "schedule must not carry TZ= or CRON_TZ=: use spec.timeZone";
  if (!isTimeZone(timeZone)) return `unknown time zone ${JSON.stringify(timeZone)}`;
  try {
    const s = parseSchedule(expression, timeZone);
    if (!s.next(new Date(0)))
      return `schedule ${JSON.stringify(expression)} never fires (no date matches it)`;
  } catch (err) {
    return `invalid schedule ${JSON.stringify(expression)}: ${(err as Error).message}`;
  }
  return undefined;
}

/** A 5-field cron schedule (minute precision) in a time zone. Throws on invalid input. */
export function parseSchedule(expression: string, timeZone = "UTC"): Schedule {
  const cron = new Cron(expression.trim(), { timezone: timeZone, mode: "5-part", paused: true });
  return {
    expression,
    timeZone,
    next: (after) => cron.nextRun(after),
    // croner's previous runs exclude a run at exactly the reference instant; scheduled times
    // are whole minutes, so a reference 1 ms later includes it.
    latest: (at) => cron.previousRuns(1, new Date(at.getTime() + 1))[0] ?? null,
  };
}

export interface DueRunInput {
  /** status.lastScheduleTime, else the policy's creation (as CronJob). */
  lastScheduleTime?: Date;
  /** status.lastMissedTime: a skipped time is not reconsidered (the upstream TODO in syncCronJob). */
  lastMissedTime?: Date;
  createdAt: Date;
  now: Date;
  startingDeadlineSeconds?: number;
}

export interface DueRun {
  /** The scheduled time to run now. */
  run?: Date;
  /** The most recent unmet time, skipped because its starting deadline has passed. */
  missed?: Date;
  /** Unmet times before the one run or missed (skipped without a run, as CronJob does). */
  skipped: number;
  /** When to look again: the next scheduled time after now (null: never). */
  next: Date | null;
}

const MAX_COUNTED_MISSES = 100;

export function dueRun(schedule: Schedule, input: DueRunInput): DueRun {
  const { now } = input;
  let earliest = input.lastScheduleTime ?? input.createdAt;
  if (input.lastMissedTime && input.lastMissedTime > earliest) earliest = input.lastMissedTime;
  const next = schedule.next(now);
  const latest = schedule.latest(now);
  if (!latest || latest <= earliest) return { skipped: 0, next };
  // Unmet times between the last one handled and the most recent one: counted, not run.
  let skipped = 0;
  for (let t = schedule.next(earliest); t && t < latest; t = schedule.next(t)) {
    if (++skipped >= MAX_COUNTED_MISSES) break;
  }
  const deadline = input.startingDeadlineSeconds;
  if (deadline !== undefined && latest.getTime() + deadline * 1000 < now.getTime())
    return { missed: latest, skipped, next };
  return { run: latest, skipped, next };
}
