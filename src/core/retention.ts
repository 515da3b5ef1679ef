// The retention decision (pure): for every snapshot of the VMs a policy looks after, keep or
// delete, and why. Deletion needs every one of these; any protection keeps the snapshot:
//
//   protections (always kept)           the policy's rules (for its own snapshots)
//   - not made by the policy            - keep-last N: the N newest ready ones
//   - a safety snapshot, unless the     - hourly/daily/weekly/monthly N: the newest ready one of
//     policy expires them                 each of the N most recent hours/days/weeks/months
//   - being deleted already               that have one (in the policy's time zone)
//   - held: a restore or clone uses     - maxAge: older ones go, whatever the counts say
//     it, or it is the VM's current     - no count rule at all: keep what maxAge keeps
//     snapshot (VM Operator)            - failed ones: the newest keepFailed (default 1) stay
//   - the newest ready snapshot of      - safety snapshots (when the policy opts in): those
//     the VM, whoever made it             older than safetySnapshotMaxAge go
//   - still in progress, or of unknown time
//
// The buckets follow restic's `forget` (internal/restic/snapshot_policy.go): snapshots newest
// first; a bucket rule keeps a snapshot when its period differs from the last one it kept and
// it has keeps left. The decision is stable: applied once, a second pass deletes nothing.

export type SnapshotOrigin = "policy" | "safety" | "other";
export type SnapshotState = "ready" | "in-progress" | "failed" | "deleting";

export interface RetentionCandidate {
  name: string;
  vm: string;
  /** policy: carries the policy's label; safety: a restore's safety snapshot of the VM. */
  origin: SnapshotOrigin;
  state: SnapshotState;
  /** The time it stands for (scheduled time, data cut or creation); null when unknown. */
  time: Date | null;
  /** Why something else needs it now (a restore or clone in progress, the VM's current one). */
  holds?: string[];
}

export interface RetentionRules {
  keepLast?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  maxAgeMs?: number;
  /** Only snapshots older than this may be deleted (`vmsnap prune --older-than`). */
  minAgeMs?: number;
  /** Failed policy snapshots kept per VM (default 1). */
  keepFailed?: number;
  /** Safety snapshots older than this are deleted; undefined: the policy never touches them. */
  safetyMaxAgeMs?: number;
  /** Time zone of the buckets (default UTC). */
  timeZone?: string;
}

export type RetentionReason =
  // kept
  | "not-ours"
  | "safety-not-managed"
  | "deleting"
  | "held"
  | "newest-ready"
  | "in-progress"
  | "time-unknown"
  | "selected"
  | "no-count-rules"
  | "failed-recent"
  | "safety-recent"
  | "too-recent"
  // deleted
  | "max-age"
  | "unselected"
  | "failed-superseded"
  | "safety-expired";

export interface RetentionDecision {
  name: string;
  vm: string;
  origin: SnapshotOrigin;
  action: "keep" | "delete";
  reason: RetentionReason;
  /** The reason in words, for previews, events and status. */
  detail: string;
}

export type BucketPeriod = "hourly" | "daily" | "weekly" | "monthly";
const PERIODS: BucketPeriod[] = ["hourly", "daily", "weekly", "monthly"];

export function hasCountRules(rules: RetentionRules): boolean {
  return rules.keepLast !== undefined || PERIODS.some((p) => rules[p] !== undefined);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(time: Date, timeZone: string): { y: number; m: number; d: number; h: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(time))
    if (part.type !== "literal") p[part.type] = Number(part.value);
  return { y: p.year!, m: p.month!, d: p.day!, h: p.hour! };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** The period a time falls in, in the time zone (ISO weeks, starting on Monday). */
export function bucketOf(time: Date, period: BucketPeriod, timeZone = "UTC"): string {
  const { y, m, d, h } = localParts(time, timeZone);
  if (period === "hourly") return `${y}-${pad(m)}-${pad(d)}T${pad(h)}`;
  if (period === "daily") return `${y}-${pad(m)}-${pad(d)}`;
  if (period === "monthly") return `${y}-${pad(m)}`;
  // ISO 8601 week: the week (Monday–Sunday) belongs to the year of its Thursday.
  const date = new Date(Date.UTC(y, m - 1, d));
  const weekday = (date.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  date.setUTCDate(date.getUTCDate() - weekday + 3);
  const weekYear = date.getUTCFullYear();
  const firstThursday = new Date(Date.UTC(weekYear, 0, 4));
  firstThursday.setUTCDate(firstThursday.getUTCDate() - ((firstThursday.getUTCDay() + 6) % 7) + 3);
  const week = 1 + Math.round((date.getTime() - firstThursday.getTime()) / 604_800_000);
  return `${weekYear}-W${pad(week)}`;
}

const newestFirst = (a: RetentionCandidate, b: RetentionCandidate) =>
  (b.time?.getTime() ?? -Infinity) - (a.time?.getTime() ?? -Infinity) ||
  (a.name < b.name ? 1 : a.name > b.name ? -1 : 0);

function ageText(ms: number): string {
  const d = Math.floor(ms / 86_400_000);
  const h = Math.floor((ms % 86_400_000) / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return d ? `${d}d${h ? `${h}h` : ""}` : h ? `${h}h${m ? `${m}m` : ""}` : `${m}m`;
}

/** Keep or delete, with the reason, for every candidate (in the candidates' order). */
export function decideRetention(
  candidates: RetentionCandidate[],
  rules: RetentionRules,
  now: Date,
): RetentionDecision[] {
  const tz = rules.timeZone ?? "UTC";
  const decided = new Map<RetentionCandidate, RetentionDecision>();
  const byVm = new Map<string, RetentionCandidate[]>();
  for (const c of candidates) byVm.set(c.vm, [...(byVm.get(c.vm) ?? []), c]);
  const keep = (c: RetentionCandidate, reason: RetentionReason, detail: string) =>
    decided.set(c, { name: c.name, vm: c.vm, origin: c.origin, action: "keep", reason, detail });
  const drop = (c: RetentionCandidate, reason: RetentionReason, detail: string) =>
    decided.set(c, { name: c.name, vm: c.vm, origin: c.origin, action: "delete", reason, detail });
  const age = (c: RetentionCandidate) => now.getTime() - (c.time?.getTime() ?? now.getTime());

  for (const [vm, all] of byVm) {
    const sorted = [...all].sort(newestFirst);
    const newestReady = sorted.find((c) => c.state === "ready");
    const open: RetentionCandidate[] = [];
    for (const c of sorted) {
      if (c.origin === "other") keep(c, "not-ours", "not made by this policy");
      else if (c.origin === "safety" && rules.safetyMaxAgeMs === undefined)
        keep(
          c,
          "safety-not-managed",
          "safety snapshot of a restore: the policy does not expire them",
        );
      else if (c.state === "deleting") keep(c, "deleting", "already being deleted");
      else if (c.holds?.length) keep(c, "held", c.holds.join("; "));
      else if (c === newestReady) keep(c, "newest-ready", `the newest ready snapshot of VM ${vm}`);
      else if (c.state === "in-progress") keep(c, "in-progress", "still in progress");
      else if (!c.time) keep(c, "time-unknown", "its time is unknown");
      else if (rules.minAgeMs !== undefined && age(c) <= rules.minAgeMs)
        keep(c, "too-recent", `younger than ${ageText(rules.minAgeMs)}`);
      else open.push(c);
    }

    // Safety snapshots the policy expires.
    for (const c of open.filter((o) => o.origin === "safety")) {
      if (age(c) > rules.safetyMaxAgeMs!)
        drop(c, "safety-expired", `safety snapshot older than ${ageText(rules.safetyMaxAgeMs!)}`);
      else
        keep(c, "safety-recent", `safety snapshot younger than ${ageText(rules.safetyMaxAgeMs!)}`);
    }

    // Failed policy snapshots: the newest keepFailed stay for diagnosis (within maxAge).
    const keepFailed = rules.keepFailed ?? 1;
    let failedKept = 0;
    for (const c of open.filter((o) => o.origin === "policy" && o.state === "failed")) {
      if (rules.maxAgeMs !== undefined && age(c) > rules.maxAgeMs)
        drop(c, "max-age", `failed, and older than the max age ${ageText(rules.maxAgeMs)}`);
      else if (failedKept < keepFailed) {
        failedKept++;
        keep(c, "failed-recent", `failed; kept for diagnosis (the newest ${keepFailed} failed)`);
      } else drop(c, "failed-superseded", `failed; only the newest ${keepFailed} failed are kept`);
    }

    // Ready policy snapshots: maxAge, then the count rules. Protected ready ones (the newest,
    // held ones) count towards the rules like any other: they are kept anyway.
    const ready = sorted.filter(
      (c) =>
        c.origin === "policy" &&
        c.state === "ready" &&
        c.time !== null &&
        (rules.maxAgeMs === undefined || age(c) <= rules.maxAgeMs),
    );
    const selectedBy = new Map<RetentionCandidate, string[]>();
    const select = (c: RetentionCandidate, why: string) =>
      selectedBy.set(c, [...(selectedBy.get(c) ?? []), why]);
    ready
      .slice(0, rules.keepLast ?? 0)
      .forEach((c, i) => select(c, `keep-last ${i + 1}/${rules.keepLast}`));
    for (const period of PERIODS) {
      let left = rules[period] ?? 0;
      let last: string | undefined;
      for (const c of ready) {
        if (left <= 0) break;
        const bucket = bucketOf(c.time!, period, tz);
        if (bucket === last) continue;
        last = bucket;
        left--;
        select(c, `${period} ${bucket}`);
      }
    }
    for (const c of open.filter((o) => o.origin === "policy" && o.state === "ready")) {
      if (rules.maxAgeMs !== undefined && age(c) > rules.maxAgeMs)
        drop(c, "max-age", `older than the max age ${ageText(rules.maxAgeMs)}`);
      else if (!hasCountRules(rules)) keep(c, "no-count-rules", "no count rule limits the policy");
      else if (selectedBy.has(c)) keep(c, "selected", selectedBy.get(c)!.join(", "));
      else drop(c, "unselected", "not selected by any rule of the policy");
    }
  }
  return candidates.map((c) => decided.get(c)!);
}

/**
 * When the decision can next change by time alone (a kept snapshot passing maxAge or
 * safetySnapshotMaxAge), or undefined when it cannot: the controller wakes up then.
 */
export function nextExpiry(
  candidates: RetentionCandidate[],
  rules: RetentionRules,
  now: Date,
): Date | undefined {
  let soonest: number | undefined;
  for (const c of candidates) {
    if (!c.time) continue;
    const limit =
      c.origin === "policy"
        ? rules.maxAgeMs
        : c.origin === "safety"
          ? rules.safetyMaxAgeMs
          : undefined;
    if (limit === undefined) continue;
    const at = c.time.getTime() + limit + 1;
    if (at > now.getTime() && (soonest === undefined || at < soonest)) soonest = at;
  }
  return soonest === undefined ? undefined : new Date(soonest);
}
