// The SnapshotPolicy model (vmsnap.io/v1alpha1), pure: its spec and status, the marks a policy
// puts on the snapshots it makes, their names, how safety snapshots of restores are recognised,
// and the checks a policy passes before the controller acts on it. The CRD
// (crds/vmsnap/snapshotpolicies.vmsnap.io.yaml) validates the same fields structurally; these
// checks are what a CRD cannot express (cron syntax, time zones, durations).
import { createHash } from "node:crypto";
import { labelSelectorProblems, type LabelSelector } from "./labels.js";
import { fitName, NAME_MAX_LENGTH, numberedName, safetySnapshotName, timestamp } from "./names.js";
import { parseDuration } from "./duration.js";
import { scheduleProblem } from "./schedule.js";
import type { RetentionRules } from "./retention.js";

export const POLICY_GROUP = "vmsnap.io";
export const POLICY_VERSION = "v1alpha1";
export const POLICY_API_VERSION = `${POLICY_GROUP}/${POLICY_VERSION}`;
export const POLICY_KIND = "SnapshotPolicy";

export { POLICY_LABEL, SCHEDULED_TIME_ANNOTATION } from "./policy-marks.js";

export interface SnapshotPolicySpec {
  /** Which VMs of the policy's namespace it snapshots. */
  selector: LabelSelector;
  /** Standard 5-field cron expression (or @hourly, @daily, @weekly, @monthly). */
  schedule: string;
  /** IANA time zone of the schedule and of the retention buckets (default UTC). */
  timeZone?: string;
  /** A run later than this after its scheduled time is skipped (CronJob's startingDeadlineSeconds). */
  startingDeadlineSeconds?: number;
  /** No new runs while true; retention still applies. */
  suspend?: boolean;
  /** Platform options of each snapshot (as `vmsnap create` takes them). */
  snapshot?: {
    /** Deckhouse requiredConsistency: required (default) or best-effort. */
    consistency?: "required" | "best-effort";
    /** Deckhouse keepIPAddress. */
    keepIPAddress?: "Always" | "Never";
    /** VM Operator: include the VM's memory. */
    memory?: boolean;
    /** VM Operator quiesce timeout (5m–240m). */
    quiesceTimeout?: string;
    /** VM Operator description. */
    description?: string;
    /** KubeVirt failureDeadline (Go duration). */
    failureDeadline?: string;
  };
  retention?: {
    keepLast?: number;
    hourly?: number;
    daily?: number;
    weekly?: number;
    monthly?: number;
    /** Older policy snapshots are deleted whatever the counts say (e.g. 90d, 12h, 2w). */
    maxAge?: string;
    /** Failed snapshots of the policy kept per VM for diagnosis (default 1). */
    keepFailed?: number;
    /** Also expire the VMs' safety snapshots of restores (`<vm>-pre-restore-<ts>`) older than this. */
    safetySnapshotMaxAge?: string;
  };
}

export type PolicyVmResult = "Pending" | "Ready" | "Failed" | "Skipped";

export interface PolicyVmStatus {
  name: string;
  platform?: string;
  /** The snapshot of the last run (or the name it would have had). */
  lastSnapshot?: string;
  lastScheduleTime?: string;
  result: PolicyVmResult;
  message?: string;
  /** Snapshots of this policy kept for the VM. */
  snapshotsKept?: number;
}

export interface PolicyCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface SnapshotPolicyStatus {
  observedGeneration?: number;
  lastScheduleTime?: string;
  /** The last run in which every VM got a ready snapshot. */
  lastSuccessfulTime?: string;
  /** The last scheduled time that was skipped (starting deadline passed). */
  lastMissedTime?: string;
  nextScheduleTime?: string;
  /** Snapshots made by this policy that exist now. */
  snapshotsKept?: number;
  vms?: PolicyVmStatus[];
  conditions?: PolicyCondition[];
}

/** Durations of retention: Go-style units plus days and weeks ("90d", "2w", "36h", "1d12h"). */
export function parseAge(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(/(\d+)(w|d|h|m|s)/g)) {
    const n = Number(m[1]);
    const unit = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[
      m[2] as "w" | "d" | "h" | "m" | "s"
    ];
    total += n * unit;
    consumed += m[0].length;
  }
  return consumed === text.length && total > 0 ? total : undefined;
}

/** Every problem that keeps the controller from acting on the spec (empty: valid). */
export function policySpecProblems(spec: SnapshotPolicySpec | undefined): string[] {
  if (!spec) return ["the policy has no spec"];
  const problems = labelSelectorProblems(spec.selector).map((p) => `selector: ${p}`);
  const schedule = scheduleProblem(spec.schedule, spec.timeZone ?? "UTC");
  if (schedule) problems.push(schedule);
  const d = spec.startingDeadlineSeconds;
  if (d !== undefined && (!Number.isInteger(d) || d < 0))
    problems.push("startingDeadlineSeconds must be a whole number of seconds ≥ 0");
  const r = spec.retention ?? {};
  for (const k of ["keepLast", "hourly", "daily", "weekly", "monthly", "keepFailed"] as const) {
    const v = r[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0))
      problems.push(`retention.${k} must be a whole number ≥ 0`);
  }
  for (const k of ["maxAge", "safetySnapshotMaxAge"] as const)
    if (r[k] !== undefined && parseAge(r[k]) === undefined)
      problems.push(
        `retention.${k} ${JSON.stringify(r[k])} is not a duration (use e.g. 90d, 2w, 36h)`,
      );
  const s = spec.snapshot ?? {};
  for (const k of ["quiesceTimeout", "failureDeadline"] as const) {
    const ms = parseDuration(s[k]);
    if (s[k] !== undefined && (ms === undefined || ms <= 0))
      problems.push(`snapshot.${k} ${JSON.stringify(s[k])} is not a duration (use e.g. 10m)`);
  }
  if (s.quiesceTimeout !== undefined) {
    const ms = parseDuration(s.quiesceTimeout) ?? 0;
    if (ms > 0 && (ms < 5 * 60_000 || ms > 240 * 60_000))
      problems.push("snapshot.quiesceTimeout must be 5 to 240 minutes (VM Operator)");
  }
  return problems;
}

/** The retention rules of a valid spec. */
export function retentionRulesOf(spec: SnapshotPolicySpec): RetentionRules {
  const r = spec.retention ?? {};
  return {
    keepLast: r.keepLast,
    hourly: r.hourly,
    daily: r.daily,
    weekly: r.weekly,
    monthly: r.monthly,
    keepFailed: r.keepFailed,
    maxAgeMs: parseAge(r.maxAge),
    safetyMaxAgeMs: parseAge(r.safetySnapshotMaxAge),
    timeZone: spec.timeZone ?? "UTC",
  };
}

/**
 * The name of the snapshot a policy takes of a VM for a scheduled time:
 * `<vm>-<policy>-<YYYYMMDD-HHMMSS>` (UTC), shortened to 63 characters. The same policy, VM and
 * time always give the same name, so a run repeated (after a restart or by another replica)
 * finds its snapshot instead of taking a second one. A long policy name is cut and given a
 * short hash, so two policies never share names.
 */
export function policySnapshotName(vm: string, policy: string, scheduled: Date): string {
  const tag =
    policy.length <= 20
      ? policy
      : `${policy.slice(0, 14).replace(/[.-]+$/, "")}-${createHash("sha256").update(policy).digest("hex").slice(0, 5)}`;
  return fitName(vm, `-${tag}-${timestamp(scheduled)}`, NAME_MAX_LENGTH);
}

const SAFETY_PATTERN = /-pre-restore-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-(\d+))?$/;

/**
 * The time a safety snapshot of a restore of `vm` was taken, read from its name
 * (`<vm>-pre-restore-<YYYYMMDD-HHMMSS>`, with `-<n>` for the n-th of the same second, as
 * workflows/restore.ts names them), or undefined when `name` is not one.
 */
export function safetySnapshotTime(name: string, vm: string): Date | undefined {
  const m = SAFETY_PATTERN.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, n] = m;
  const time = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!));
  if (Number.isNaN(time.getTime()) || timestamp(time) !== `${y}${mo}${d}-${h}${mi}${s}`)
    return undefined;
  const base = safetySnapshotName(vm, time);
  if (n === undefined) return name === base ? time : undefined;
  return Number(n) >= 2 && name === numberedName(base, Number(n)) ? time : undefined;
}
