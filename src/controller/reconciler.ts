// One policy's reconcile, level-triggered from the watched caches: is a scheduled time due (the
// CronJob rules of core/schedule) → take the snapshots (through the library); which snapshots to
// delete (the pure decision of core/retention) → delete them (through the library); the status
// from what the caches show now; a timer for the next scheduled time or expiry. Nothing here
// polls: watches bring every change, the clock brings the schedule.
import {
  POLICY_LABEL,
  SCHEDULED_TIME_ANNOTATION,
  policySnapshotName,
  policySpecProblems,
  retentionRulesOf,
  safetySnapshotTime,
  type PolicyCondition,
  type PolicyVmStatus,
  type SnapshotPolicySpec,
  type SnapshotPolicyStatus,
} from "../core/policy.js";
import { selectorMatches, selectorString } from "../core/labels.js";
import {
  decideRetention,
  nextExpiry,
  type RetentionCandidate,
  type RetentionDecision,
} from "../core/retention.js";
import { dueRun, parseSchedule } from "../core/schedule.js";
import { parseDuration } from "../core/duration.js";
import { KubeApiError } from "../kube/client.js";
import type { PlatformName } from "../kube/discovery.js";
import { Vmsnap, type KubeObject } from "../kube/resources.js";
import type { WriteGuard } from "../kube/write-guard.js";
import type { Clock } from "./clock.js";
import type { EventRecorder } from "./events.js";
import {
  deleteSnapshots,
  takeSnapshots,
  type LibraryConnection,
  type SnapshotRunItem,
} from "./library.js";
import type { ControllerMetrics } from "./metrics.js";
import type { WorkResult } from "./queue.js";
import { holdsIn, snapshotsIn, vmsIn, type CachedSnapshot, type Sources } from "./sources.js";

export interface ReconcilerDeps {
  sources: Sources;
  guard: WriteGuard;
  events: EventRecorder;
  metrics?: ControllerMetrics;
  clock: Clock;
  library: LibraryConnection;
  /** VMs snapshotted at once in a run. */
  parallel?: number;
  log: (line: string) => void;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

function time(text: unknown): Date | undefined {
  if (typeof text !== "string") return undefined;
  const t = new Date(text);
  return Number.isNaN(t.getTime()) ? undefined : t;
}

/** "a, b, c and 4 more" */
function listed(items: string[], max = 8): string {
  return items.length <= max
    ? items.join(", ")
    : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

export class PolicyReconciler {
  private readonly timers = new Map<string, { at: number; cancel: () => void }>();
  /** Deletions requested recently (platform/namespace/name → when): not requested again. */
  private readonly deleting = new Map<string, number>();
  /**
   * The status this leader last wrote, per policy: the base of the next reconcile. The watched
   * copy can lag behind a write by a moment; reading it then would run a scheduled time twice
   * or write an older status back. Only the leader writes a policy's status.
   */
  private readonly written = new Map<string, { uid?: string; status: SnapshotPolicyStatus }>();

  constructor(
    private readonly d: ReconcilerDeps,
    private readonly requeue: (key: string) => void,
  ) {}

  /** Cancels every timer (the replica stops leading). */
  stop(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  async reconcile(key: string): Promise<WorkResult> {
    const slash = key.indexOf("/");
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const policy = this.d.sources.policies.informer.get(name, ns);
    if (!policy || policy.metadata.deletionTimestamp) {
      this.timers.get(key)?.cancel();
      this.timers.delete(key);
      this.written.delete(key);
      this.d.metrics?.forget(ns, name);
      return;
    }
    const spec = policy.spec as unknown as SnapshotPolicySpec;
    const memo = this.written.get(key);
    const old =
      memo && memo.uid === policy.metadata.uid
        ? memo.status
        : ((policy.status ?? {}) as SnapshotPolicyStatus);
    const next: SnapshotPolicyStatus = structuredClone(old);
    next.observedGeneration = policy.metadata.generation;
    const now = this.d.clock.now();
    const labels = { namespace: ns, policy: name };

    const problems = policySpecProblems(spec);
    if (problems.length) {
      const message = problems.join("; ");
      this.setCondition(next, "Ready", "False", "InvalidSpec", message, now);
      this.setCondition(next, "Scheduled", "False", "InvalidSpec", message, now);
      delete next.nextScheduleTime;
      await this.d.events.record(policy, "Warning", "InvalidSpec", message);
      await this.writeStatus(policy, old, next);
      this.setTimer(key, undefined);
      return;
    }

    const schedule = parseSchedule(spec.schedule, spec.timeZone ?? "UTC");
    let retry = false;
    let runError: string | undefined;
    let due: ReturnType<typeof dueRun> | undefined;
    if (!spec.suspend) {
      due = dueRun(schedule, {
        lastScheduleTime: time(old.lastScheduleTime),
        lastMissedTime: time(old.lastMissedTime),
        createdAt: time(policy.metadata.creationTimestamp) ?? now,
        now,
        startingDeadlineSeconds: spec.startingDeadlineSeconds,
      });
      const missedCount = due.skipped + (due.missed ? 1 : 0);
      if (missedCount) this.d.metrics?.missed.inc(labels, missedCount);
      if (due.missed) {
        next.lastMissedTime = iso(due.missed);
        await this.d.events.record(
          policy,
          "Warning",
          "MissedSchedule",
          `missed the scheduled time ${iso(due.missed)}: its starting deadline of ${spec.startingDeadlineSeconds}s passed${due.skipped ? ` (${due.skipped} earlier times were missed too)` : ""}`,
        );
      } else if (due.run && due.skipped)
        await this.d.events.record(
          policy,
          "Warning",
          "MissedSchedule",
          `${due.skipped} scheduled times before ${iso(due.run)} were missed (was the controller down?); only the most recent one runs`,
        );
      if (due.run) {
        try {
          next.vms = await this.run(policy, spec, due.run);
          next.lastScheduleTime = iso(due.run);
        } catch (err) {
          retry = true;
          runError = (err as Error).message;
          this.d.metrics?.runs.inc({ ...labels, result: "failed" });
          await this.d.events.record(
            policy,
            "Warning",
            "RunFailed",
            `the run for ${iso(due.run)} failed: ${runError}`,
          );
        }
      }
    }

    const retention = await this.retain(policy, spec, now);
    this.refreshVms(next, name, retention.snapshots);
    next.snapshotsKept = retention.kept;
    if (
      next.lastScheduleTime &&
      next.vms?.length &&
      next.vms.every((v) => v.lastScheduleTime !== next.lastScheduleTime || v.result === "Ready")
    )
      next.lastSuccessfulTime = next.lastScheduleTime;
    next.nextScheduleTime = due?.next ? iso(due.next) : undefined;
    this.conditions(next, spec, now, runError, retention.errors);
    this.d.metrics?.kept.set(labels, retention.kept);
    if (next.lastScheduleTime)
      this.d.metrics?.lastSchedule.set(labels, Date.parse(next.lastScheduleTime) / 1000);
    if (due?.next) this.d.metrics?.nextSchedule.set(labels, due.next.getTime() / 1000);
    else this.d.metrics?.nextSchedule.remove(labels);
    await this.writeStatus(policy, old, next);

    const wake = [due?.next?.getTime(), retention.expiry?.getTime()].filter(
      (t): t is number => t !== undefined,
    );
    this.setTimer(key, wake.length ? new Date(Math.min(...wake)) : undefined);
    return retry || retention.errors.length ? { retry: true } : undefined;
  }

  // ---- the run ---------------------------------------------------------------------------------

  private async run(
    policy: KubeObject,
    spec: SnapshotPolicySpec,
    slot: Date,
  ): Promise<PolicyVmStatus[]> {
    const ns = policy.metadata.namespace!;
    const name = policy.metadata.name;
    const labels = { namespace: ns, policy: name };
    const s = spec.snapshot ?? {};
    this.d.log(`${ns}/${name}: snapshots for ${iso(slot)}`);
    const { items, noMatch } = await takeSnapshots(this.d.library, {
      namespace: ns,
      selector: selectorString(spec.selector),
      nameFor: (vm) => policySnapshotName(vm.name, name, slot),
      labels: { [POLICY_LABEL]: name },
      annotations: { [SCHEDULED_TIME_ANNOTATION]: iso(slot) },
      consistency: s.consistency,
      keepIp:
        s.keepIPAddress === "Never" ? "never" : s.keepIPAddress === "Always" ? "always" : undefined,
      memory: s.memory,
      quiesceTimeout: s.quiesceTimeout,
      description: s.description,
      deadlineMs: parseDuration(s.failureDeadline),
      parallel: this.d.parallel,
    });
    if (noMatch) {
      this.d.metrics?.runs.inc({ ...labels, result: "no_vms" });
      await this.d.events.record(
        policy,
        "Warning",
        "NoMatchingVMs",
        `no VM in namespace ${ns} matches ${selectorString(spec.selector)}: nothing was snapshotted for ${iso(slot)}`,
      );
      return [];
    }
    // A snapshot of this time that exists already (an earlier attempt of the same run, by this
    // replica or another) counts as taken: the names are deterministic.
    const existing = new Set(
      snapshotsIn(this.d.sources, ns)
        .filter(
          (c) =>
            c.raw.metadata.labels?.[POLICY_LABEL] === name &&
            c.raw.metadata.annotations?.[SCHEDULED_TIME_ANNOTATION] === iso(slot),
        )
        .map((c) => `${c.platform}/${c.snapshot.name}`),
    );
    const taken = (i: SnapshotRunItem) =>
      i.result === "Created" || existing.has(`${i.platform}/${i.snapshot}`);
    const vms: PolicyVmStatus[] = items.map((i) => ({
      name: i.vm,
      platform: i.platform,
      lastSnapshot: i.snapshot,
      lastScheduleTime: iso(slot),
      result: taken(i) ? "Pending" : i.result === "Skipped" ? "Skipped" : "Failed",
      ...(!taken(i) && i.message ? { message: i.message } : {}),
    }));
    const created = items.filter((i) => i.result === "Created");
    const notTaken = items.filter((i) => !taken(i));
    if (created.length) this.d.metrics?.created.inc(labels, created.length);
    if (notTaken.length) this.d.metrics?.createFailures.inc(labels, notTaken.length);
    this.d.metrics?.runs.inc({
      ...labels,
      result:
        notTaken.length === 0 ? "succeeded" : notTaken.length < items.length ? "partial" : "failed",
    });
    if (created.length)
      await this.d.events.record(
        policy,
        "Normal",
        "SnapshotsCreated",
        `created ${created.length} snapshot${created.length === 1 ? "" : "s"} for ${iso(slot)}: ${listed(created.map((i) => i.snapshot))}`,
      );
    if (notTaken.length)
      await this.d.events.record(
        policy,
        "Warning",
        "SnapshotsNotTaken",
        `${notTaken.length} VM${notTaken.length === 1 ? "" : "s"} not snapshotted for ${iso(slot)}: ${listed(
          notTaken.map((i) => `${i.vm} (${i.message ?? i.result})`),
          4,
        )}`,
      );
    return vms;
  }

  // ---- retention -------------------------------------------------------------------------------

  private async retain(
    policy: KubeObject,
    spec: SnapshotPolicySpec,
    now: Date,
  ): Promise<{
    kept: number;
    errors: string[];
    expiry?: Date;
    snapshots: CachedSnapshot[];
  }> {
    const ns = policy.metadata.namespace!;
    const name = policy.metadata.name;
    const rules = retentionRulesOf(spec);
    const snapshots = snapshotsIn(this.d.sources, ns);
    const holds = holdsIn(this.d.sources, ns);
    const selected = new Set(
      vmsIn(this.d.sources, ns)
        .filter((v) => selectorMatches(spec.selector, v.vm.metadata.labels))
        .map((v) => `${v.platform}/${v.vm.metadata.name}`),
    );
    const ours = (c: CachedSnapshot) => c.raw.metadata.labels?.[POLICY_LABEL] === name;
    const vmOf = (c: CachedSnapshot) => `${c.platform}/${c.snapshot.vm}`;
    // The VMs this policy looks after: those it has snapshots of, and (to expire their safety
    // snapshots) those it selects. Every snapshot of them is a candidate, so that the newest
    // ready one of each VM is known whoever made it.
    const scope = new Set(snapshots.filter(ours).map(vmOf));
    if (rules.safetyMaxAgeMs !== undefined) for (const vm of selected) scope.add(vm);
    const inScope = snapshots.filter((c) => scope.has(vmOf(c)));
    const candidates: RetentionCandidate[] = inScope.map((c) => {
      const safety = safetySnapshotTime(c.snapshot.name, c.snapshot.vm);
      const origin = ours(c) ? "policy" : safety && selected.has(vmOf(c)) ? "safety" : "other";
      const dataTime = time(c.snapshot.creationTime) ?? time(c.snapshot.createdAt) ?? null;
      return {
        name: `${c.platform}/${c.snapshot.name}`,
        vm: vmOf(c),
        origin,
        state: c.raw.metadata.deletionTimestamp
          ? "deleting"
          : c.snapshot.phase === "Failed"
            ? "failed"
            : c.snapshot.readyToUse
              ? "ready"
              : "in-progress",
        time:
          origin === "policy"
            ? (time(c.raw.metadata.annotations?.[SCHEDULED_TIME_ANNOTATION]) ?? dataTime)
            : origin === "safety"
              ? safety!
              : dataTime,
        holds: holds.get(`${c.platform}/${c.snapshot.name}`),
      };
    });
    const decisions = decideRetention(candidates, rules, now);
    const toDelete = decisions.filter(
      (d) => d.action === "delete" && !this.recentlyDeleted(`${d.name}@${ns}`),
    );
    const errors: string[] = [];
    const deleted: RetentionDecision[] = [];
    const byPlatform = new Map<PlatformName, RetentionDecision[]>();
    for (const d of toDelete) {
      const platform = d.name.slice(0, d.name.indexOf("/")) as PlatformName;
      byPlatform.set(platform, [...(byPlatform.get(platform) ?? []), d]);
    }
    for (const [platform, ds] of byPlatform) {
      const names = ds.map((d) => d.name.slice(platform.length + 1));
      const outcomes = await deleteSnapshots(this.d.library, platform, ns, names);
      outcomes.forEach((o, i) => {
        if (o.deleted || o.gone) {
          this.deleting.set(`${ds[i]!.name}@${ns}`, Date.now());
          if (o.deleted) deleted.push(ds[i]!);
        } else errors.push(`${o.name}: ${o.message ?? "not deleted"}`);
      });
    }
    const labels = { namespace: ns, policy: name };
    if (deleted.length) {
      this.d.metrics?.deleted.inc(labels, deleted.length);
      this.d.log(`${ns}/${name}: deleted ${deleted.map((d) => d.name).join(", ")}`);
      await this.d.events.record(
        policy,
        "Normal",
        "SnapshotsDeleted",
        `retention deleted ${deleted.length} snapshot${deleted.length === 1 ? "" : "s"}: ${listed(
          deleted.map((d) => `${d.name.slice(d.name.indexOf("/") + 1)} (${d.detail})`),
          6,
        )}`,
      );
    }
    if (errors.length) {
      this.d.metrics?.deleteFailures.inc(labels, errors.length);
      await this.d.events.record(
        policy,
        "Warning",
        "DeleteFailed",
        `retention could not delete ${listed(errors, 4)}`,
      );
    }
    const gone = new Set(deleted.map((d) => d.name));
    const remaining = candidates.filter((c) => !gone.has(c.name));
    return {
      kept: remaining.filter((c) => c.origin === "policy" && c.state !== "deleting").length,
      errors,
      expiry: nextExpiry(remaining, rules, now),
      snapshots: snapshots.filter((c) => !gone.has(`${c.platform}/${c.snapshot.name}`)),
    };
  }

  private recentlyDeleted(key: string): boolean {
    const at = this.deleting.get(key);
    if (at === undefined) return false;
    if (Date.now() - at < 60_000) return true;
    this.deleting.delete(key);
    return false;
  }

  // ---- status ------------------------------------------------------------------------------------

  /** The last run's VMs, with their snapshots' state as the caches show it now. */
  private refreshVms(
    status: SnapshotPolicyStatus,
    policy: string,
    snapshots: CachedSnapshot[],
  ): void {
    const byName = new Map(snapshots.map((c) => [`${c.platform}/${c.snapshot.name}`, c]));
    const keptPerVm = new Map<string, number>();
    for (const c of snapshots)
      if (c.raw.metadata.labels?.[POLICY_LABEL] === policy && !c.raw.metadata.deletionTimestamp) {
        const k = `${c.platform}/${c.snapshot.vm}`;
        keptPerVm.set(k, (keptPerVm.get(k) ?? 0) + 1);
      }
    status.vms = (status.vms ?? []).map((v) => {
      const out: PolicyVmStatus = {
        ...v,
        snapshotsKept: keptPerVm.get(`${v.platform}/${v.name}`) ?? 0,
      };
      const c = v.lastSnapshot ? byName.get(`${v.platform}/${v.lastSnapshot}`) : undefined;
      if (!c || v.result === "Skipped") return out;
      if (c.snapshot.phase === "Failed") {
        out.result = "Failed";
        out.message = c.snapshot.error ?? "the snapshot failed";
      } else if (c.snapshot.readyToUse) {
        out.result = "Ready";
        delete out.message;
      } else out.result = "Pending";
      return out;
    });
  }

  private conditions(
    status: SnapshotPolicyStatus,
    spec: SnapshotPolicySpec,
    now: Date,
    runError: string | undefined,
    deleteErrors: string[],
  ): void {
    if (spec.suspend)
      this.setCondition(
        status,
        "Scheduled",
        "False",
        "Suspended",
        "spec.suspend is true: no new snapshots",
        now,
      );
    else
      this.setCondition(
        status,
        "Scheduled",
        status.nextScheduleTime ? "True" : "False",
        status.nextScheduleTime ? "Scheduled" : "NeverFires",
        status.nextScheduleTime
          ? `next run at ${status.nextScheduleTime}`
          : "the schedule has no further time",
        now,
      );
    const vms = (status.vms ?? []).filter((v) => v.lastScheduleTime === status.lastScheduleTime);
    const failed = vms.filter((v) => v.result === "Failed" || v.result === "Skipped");
    const pending = vms.filter((v) => v.result === "Pending");
    let snapshots: [PolicyCondition["status"], string, string];
    if (runError) snapshots = ["False", "RunFailed", runError];
    else if (!status.lastScheduleTime)
      snapshots = ["Unknown", "NotRunYet", "no scheduled time has come yet"];
    else if (vms.length === 0)
      snapshots = [
        "False",
        "NoMatchingVMs",
        `no VM matched the selector at ${status.lastScheduleTime}`,
      ];
    else if (failed.length)
      snapshots = [
        "False",
        "SnapshotsFailed",
        `${failed.length} of ${vms.length} VMs have no snapshot for ${status.lastScheduleTime}: ${listed(
          failed.map((v) => `${v.name} (${v.message ?? v.result})`),
          4,
        )}`,
      ];
    else if (pending.length)
      snapshots = [
        "Unknown",
        "SnapshotsInProgress",
        `${pending.length} of ${vms.length} snapshots in progress`,
      ];
    else
      snapshots = [
        "True",
        "SnapshotsReady",
        `${vms.length} VMs snapshotted at ${status.lastScheduleTime}`,
      ];
    this.setCondition(status, "SnapshotsReady", ...snapshots, now);
    this.setCondition(
      status,
      "RetentionApplied",
      deleteErrors.length ? "False" : "True",
      deleteErrors.length ? "DeleteFailed" : "Applied",
      deleteErrors.length
        ? `could not delete ${listed(deleteErrors, 4)}`
        : `${status.snapshotsKept ?? 0} snapshots of this policy kept`,
      now,
    );
    const ready: [PolicyCondition["status"], string, string] =
      snapshots[0] === "False"
        ? snapshots
        : deleteErrors.length
          ? ["False", "DeleteFailed", `could not delete ${listed(deleteErrors, 4)}`]
          : snapshots[0] === "Unknown" && snapshots[1] === "SnapshotsInProgress"
            ? snapshots
            : [
                "True",
                "Ready",
                spec.suspend ? "suspended" : `next run at ${status.nextScheduleTime ?? "never"}`,
              ];
    this.setCondition(status, "Ready", ...ready, now);
  }

  private setCondition(
    status: SnapshotPolicyStatus,
    type: string,
    value: PolicyCondition["status"],
    reason: string,
    message: string,
    now: Date,
  ): void {
    const conditions = status.conditions ?? [];
    const prev = conditions.find((c) => c.type === type);
    const next: PolicyCondition = {
      type,
      status: value,
      reason,
      message,
      lastTransitionTime: prev && prev.status === value ? prev.lastTransitionTime : iso(now),
      ...(status.observedGeneration !== undefined
        ? { observedGeneration: status.observedGeneration }
        : {}),
    };
    status.conditions = [...conditions.filter((c) => c.type !== type), next].sort((a, b) =>
      a.type.localeCompare(b.type),
    );
  }

  private async writeStatus(
    policy: KubeObject,
    old: SnapshotPolicyStatus,
    next: SnapshotPolicyStatus,
  ): Promise<void> {
    if (canonical(old) === canonical(next)) return;
    // A merge patch of the whole status; fields that went away are sent as null.
    const patch: Record<string, unknown> = { ...next };
    for (const k of Object.keys(old))
      if ((next as Record<string, unknown>)[k] === undefined) patch[k] = null;
    try {
      await this.d.guard.patch(
        Vmsnap.snapshotPolicies,
        policy.metadata.name,
        policy.metadata.namespace!,
        { status: patch },
        { subresource: "status" },
      );
      this.written.set(`${policy.metadata.namespace}/${policy.metadata.name}`, {
        uid: policy.metadata.uid,
        status: next,
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return; // deleted meanwhile
      throw err;
    }
  }

  private setTimer(key: string, at: Date | undefined): void {
    const prev = this.timers.get(key);
    if (prev && at && prev.at === at.getTime()) return;
    prev?.cancel();
    this.timers.delete(key);
    if (!at) return;
    this.timers.set(key, {
      at: at.getTime(),
      cancel: this.d.clock.at(at, () => {
        this.timers.delete(key);
        this.requeue(key);
      }),
    });
  }
}
