// The writing half of a restore, execute(): (stop) → safety snapshot → restore → wait → (start).
// Each step records how far it got, so that whatever interrupts it (a lost connection, a
// concurrent restore, a failure, an abort signal) ends in a report of exactly what state the VM is
// in and what to do next. The duration counts this half only: not the time spent at prompts.
import { advice, joinAdvice, option, phrase, type Advice, type Words } from "../core/advice.js";
import { ErrorCode, VmsnapError, conflict } from "../core/errors.js";
import { safetySnapshotTime } from "../core/policy.js";
import type { Restore, Snapshot } from "../core/schema.js";
import { KubeApiError } from "../kube/client.js";
import { toVmsnapError } from "../kube/errors.js";
import { mayHaveBeenProcessed } from "../kube/retry.js";
import { ConcurrentRestoreError, OperationInProgressError } from "../platforms/errors.js";
import type { Manifest, RestoreAction, SnapshotPlatform, VmState } from "../platforms/types.js";
import { step } from "./common.js";
import { checkpoint, interrupted, unlessAborted } from "./interrupt.js";
import type { RestorePlan } from "./restore.js";
import { sendStartWhenUnlocked, sendStop, waitOperationsIdle, waitStopped } from "./run-state.js";
import type { Session } from "./session.js";
import { DEFAULT_SNAPSHOT_TIMEOUT_MS, waitForSnapshot } from "./wait.js";

export interface RestoreSteps {
  vm: VmState;
  snapshot: string;
  action: RestoreAction;
  safety?: Manifest;
  /** The VM's snapshots when the restore was planned (see startedMeanwhile). */
  snapshotsAtPlan: ReadonlySet<string>;
  mustStop: boolean;
  wait: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
  /** A second interrupt: stop cleaning up (starting the VM again) and report now. */
  abandon?: AbortSignal;
}

export interface RestoreOutcome {
  stopped: boolean;
  restarted: boolean;
  /** Why the VM vmsnap stopped was not started again (its run setting was put back). */
  notRestarted?: string;
}

type VmStage =
  | "untouched"
  | "stop-sent"
  | "stopping"
  | "stopped"
  | "restarted"
  | "setting-restored"
  | "restart-failed"
  | "restart-abandoned"
  | "start-sent"
  | "cycled";
type SafetyStage = "skipped" | "not-taken" | "sent" | "created" | "ready";
type RestoreStage =
  "not-created" | "sent" | "created" | "refused" | "complete" | "withdrawn" | "still-requested";

/** How far a restore got; turned into the report when it is interrupted. */
export class RestoreProgress {
  vm: VmStage = "untouched";
  safety: SafetyStage;
  restore: RestoreStage = "not-created";
  /** Why a request vmsnap gave up on could not be taken back, and how to clear it. */
  stillRequested?: { why: string; clear: string };

  constructor(
    private readonly s: RestoreSteps,
    private readonly words: Words,
  ) {
    this.safety = s.safety ? "not-taken" : "skipped";
  }

  /** The state of the VM, one line per object, as far as vmsnap knows it. */
  stateLines(): string[] {
    const { vm, safety, action } = this.s;
    const safetyName = safety?.body.metadata.name ?? "";
    const vmLine: Record<VmStage, string> = {
      untouched: `VM ${vm.name}: ${vm.running ? "running" : "stopped"}, as before (vmsnap did not change its run state)`,
      "stop-sent": `VM ${vm.name}: the stop request was sent but its answer was lost — it may be stopping or stopped`,
      stopping: `VM ${vm.name}: stop requested (run strategy set to stopped); not confirmed stopped yet`,
      stopped: `VM ${vm.name}: STOPPED by vmsnap (it was running)`,
      restarted: `VM ${vm.name}: started again by vmsnap, as before the restore`,
      "setting-restored": `VM ${vm.name}: STOPPED by vmsnap (it was running); its run setting is put back, which does not start it`,
      "restart-failed": `VM ${vm.name}: STOPPED by vmsnap (it was running); starting it again failed`,
      "restart-abandoned": `VM ${vm.name}: STOPPED by vmsnap (it was running); starting it again was interrupted — it may be starting or still stopped`,
      "start-sent": `VM ${vm.name}: the start request was sent but its answer was lost — it may be starting or still stopped`,
      cycled: `VM ${vm.name}: not stopped by vmsnap (its run policy does not let a stop apply); the restore itself stops it and brings its power state back`,
    };
    const safetyLine: Record<SafetyStage, string> = {
      skipped: phrase(
        advice`safety snapshot: none (${option("safetySnapshot", false)})`,
        this.words,
      ),
      "not-taken": "safety snapshot: not taken",
      sent: `safety snapshot ${safetyName}: creation requested, answer lost — it may exist`,
      created: `safety snapshot ${safetyName}: created, not confirmed ready`,
      ready: `safety snapshot ${safetyName}: ready — it holds the disks as they were before the restore`,
    };
    const restoreLine: Record<RestoreStage, string> = {
      "not-created": "restore: NOT created — the VM's disks are unchanged",
      sent: `restore ${action.name}: creation requested, answer lost — it may be in progress`,
      created: `restore ${action.name}: created, not confirmed complete — it may still be in progress`,
      refused: `restore ${action.name}: refused by the platform — it changes nothing`,
      complete: `restore ${action.name}: complete — the disks hold snapshot ${this.s.snapshot}'s data`,
      withdrawn: `restore ${action.name}: the request was taken back (spec.currentSnapshotName cleared), so the platform does not try it again; a revert it had already begun may still complete`,
      "still-requested": `restore ${action.name}: STILL REQUESTED — spec.currentSnapshotName on VM ${vm.name} still names ${this.s.snapshot} and the platform keeps retrying the revert (taking it back failed: ${this.stillRequested?.why ?? "unknown"}); clear it with: ${this.stillRequested?.clear ?? ""}`,
    };
    return [vmLine[this.vm], safetyLine[this.safety], restoreLine[this.restore]];
  }

  /** What the user does next, from the state. */
  nextSteps(platform: SnapshotPlatform): Advice {
    const { vm, snapshot, action, safety } = this.s;
    const namespace = vm.namespace;
    // The same restore again: it asks the human again (no way around the confirmation).
    const rerun: Advice = [
      {
        do: "restore",
        namespace,
        vm: vm.name,
        snapshot,
        ...(vm.running ? { stop: true } : {}),
        ...(safety ? {} : { safetySnapshot: false }),
      },
    ];
    const start = platform.manualStart(vm);
    const leftStopped = [
      "setting-restored",
      "stop-sent",
      "stopping",
      "stopped",
      "restart-failed",
      "restart-abandoned",
      "start-sent",
    ].includes(this.vm);
    const startAfter = vm.running && leftStopped ? `; then start the VM again with ${start}` : "";
    switch (this.restore) {
      case "complete":
        return [leftStopped ? `only the start is left: start the VM with ${start}` : "nothing"];
      case "sent":
      case "created": {
        const kind = action.kind === "create" ? action.manifest.type.plural : "the VM";
        return advice`check the restore (\`kubectl -n ${namespace} get ${kind} ${action.name}\`): once it is complete${startAfter.replace("; then", ",")}; if it failed or does not exist, re-run ${rerun[0]!}${startAfter}`;
      }
      case "refused":
        return [
          "wait for the other restore to complete; it is the one that restores and restarts the VM",
        ];
      case "not-created":
      case "withdrawn":
        return advice`re-run ${rerun[0]!} to restore${startAfter}`;
      case "still-requested":
        return advice`clear the revert request first (${this.stillRequested?.clear ?? ""}); then re-run ${rerun[0]!} to restore${startAfter}`;
    }
  }
}

/** Carries out a confirmed restore plan; the duration counts from here. */
export async function executeRestore(
  session: Session,
  plan: RestorePlan,
  o: { stopVm: boolean; signal?: AbortSignal; abandon?: AbortSignal },
): Promise<Restore> {
  const started = Date.now();
  const steps: RestoreSteps = {
    vm: plan.vm,
    snapshot: plan.planned.snapshot,
    action: plan.action,
    safety: plan.safety,
    snapshotsAtPlan: plan.snapshotsAtPlan,
    mustStop: o.stopVm,
    wait: plan.wait,
    timeoutMs: plan.timeoutMs,
    signal: o.signal,
    abandon: o.abandon,
  };
  const { stopped, restarted, notRestarted } = await runRestoreSteps(
    session,
    plan.platform,
    steps,
    new RestoreProgress(steps, session.words),
  );
  const claimsReplaced = plan.wait ? await replacedClaims(plan.platform, plan.vm) : undefined;
  return {
    ...plan.planned,
    phase: "Succeeded",
    stoppedVm: stopped,
    restartedVm: restarted,
    ...(notRestarted ? { notRestarted } : { notRestarted: undefined }),
    ...(claimsReplaced ? { claimsReplaced } : {}),
    durationMs: Date.now() - started,
  };
}

/**
 * Another restore of the VM begun since this one was planned, described; undefined if none. The
 * VM's lock or an unfinished restore object; else another restore's safety snapshot, not there
 * when this one was planned and created before this one's own (that restore may have begun and
 * even finished while this one took its safety snapshot); else the VM's volumes no longer on the
 * claims the preview was made from (a finished KubeVirt restore replaces them). Restoring on top
 * of any of these would apply a plan made for a VM that is no longer there.
 *
 * Two restores that began together both take their safety snapshot before this check, and each
 * sees the other's: the one whose safety snapshot the API server created first goes on (the name
 * breaks a tie within the second), the other steps back — exactly one restores. A restore
 * without a safety snapshot steps back from any.
 */
async function startedMeanwhile(
  platform: SnapshotPlatform,
  s: RestoreSteps,
): Promise<string | undefined> {
  const { vm } = s;
  const inProgress = await step(() => platform.restoreInProgress(vm));
  if (inProgress) return inProgress;
  const snapshots = await step(() =>
    platform.listSnapshots({ namespace: vm.namespace, vm: vm.name }),
  );
  const ours = snapshots.find((x) => x.name === s.safety?.body.metadata.name);
  const createdFirst = (x: Snapshot) =>
    !ours ||
    (x.createdAt ?? "") < (ours.createdAt ?? "") ||
    (x.createdAt === ours.createdAt && x.name < ours.name);
  const otherSafety = snapshots.find(
    (x) =>
      x !== ours &&
      !s.snapshotsAtPlan.has(x.name) &&
      safetySnapshotTime(x.name, vm.name) !== undefined &&
      createdFirst(x),
  );
  if (otherSafety)
    return `its safety snapshot ${otherSafety.name} was taken since this restore was planned`;
  if (!platform.volumeClaims) return undefined;
  const now = await step(() => platform.getVm(vm.namespace, vm.name, { fresh: true }));
  const moved = changedClaims(platform.volumeClaims(vm), platform.volumeClaims(now));
  return moved.length
    ? `the VM's volumes changed since this restore was planned: ${moved
        .map((v) => `${v.volume} ${v.before} → ${v.after}`)
        .join(", ")}`
    : undefined;
}

function changedClaims(
  before: { volume: string; claim: string }[],
  after: { volume: string; claim: string }[],
): { volume: string; before: string; after: string }[] {
  const was = new Map(before.map((v) => [v.volume, v.claim]));
  return after
    .filter((v) => was.has(v.volume) && was.get(v.volume) !== v.claim)
    .map((v) => ({ volume: v.volume, before: was.get(v.volume)!, after: v.claim }));
}

/**
 * The volumes whose claim the restore replaced (the VM read again, compared with the VM as
 * planned). A failed read leaves the report without them: the restore itself is done.
 */
async function replacedClaims(
  platform: SnapshotPlatform,
  before: VmState,
): Promise<{ volume: string; before: string; after: string }[] | undefined> {
  if (!platform.volumeClaims) return undefined;
  const after = await platform
    .getVm(before.namespace, before.name, { fresh: true })
    .catch(() => undefined);
  if (!after) return undefined;
  return changedClaims(platform.volumeClaims(before), platform.volumeClaims(after));
}

export async function runRestoreSteps(
  session: Session,
  platform: SnapshotPlatform,
  s: RestoreSteps,
  progress: RestoreProgress,
): Promise<RestoreOutcome> {
  const ns = s.vm.namespace;
  try {
    const outcome = await steps(session, platform, s, progress);
    // Interrupted during the last step (it was let finish): done, but reported as interrupted.
    checkpoint(s.signal, "the restore had completed");
    return outcome;
  } catch (raw) {
    // An interrupt ends a wait with whatever error; it is the interrupt that is reported.
    const err = s.signal?.aborted
      ? raw instanceof VmsnapError && raw.details?.interrupted
        ? raw
        : interrupted(s.signal, `the restore of VM ${ns}/${s.vm.name} was stopped`)
      : toVmsnapError(raw);
    // A restore request the platform would keep retrying is taken back (VM Operator revert).
    if (
      platform.withdrawRestore &&
      (progress.restore === "sent" || progress.restore === "created")
    ) {
      session.progress(`taking back the restore request ${s.action.name}`);
      const outcome = await unlessAborted(
        platform.withdrawRestore(s.vm, s.action),
        s.abandon,
        () => "abandoned",
      ).catch(() => ({
        state: "still-requested" as const,
        why: "interrupted before it was done",
        clear: platform.withdrawCommand?.(s.vm) ?? "",
      }));
      if (outcome.state === "still-requested") {
        progress.restore = "still-requested";
        progress.stillRequested = { why: outcome.why, clear: outcome.clear };
      } else progress.restore = "withdrawn";
    }
    // Nothing was restored: put the VM back as it was, unless another restore is under way
    // (starting the VM would get in its way).
    let why = "";
    if (
      (progress.restore === "not-created" || progress.restore === "withdrawn") &&
      (progress.vm === "stopped" || progress.vm === "stopping") &&
      // Another restore under way: starting the VM would get in its way. Another operation
      // holding the VM (a webhook's refusal): the start is tried; the state says if it worked.
      (err.code !== ErrorCode.Conflict || err instanceof OperationInProgressError)
    ) {
      session.progress(`starting VM ${s.vm.name} again (vmsnap stopped it)`);
      progress.vm = await unlessAborted(
        waitOperationsIdle(session, platform, s.vm, s.abandon)
          .catch((e: unknown) => {
            if (s.abandon?.aborted) throw e;
          })
          // A safety snapshot cut short by the interrupt still holds the VM's lock until it is
          // done (KubeVirt refuses the start until then); a second interrupt abandons the wait.
          .then(() => sendStartWhenUnlocked(session, platform, s.vm, s.abandon)),
        s.abandon,
        () => "abandoned",
      ).then(
        () => "restarted" as const,
        (e: unknown) => (e === "abandoned" ? "restart-abandoned" : "restart-failed"),
      );
    } else if (
      s.signal?.aborted &&
      (progress.restore === "sent" || progress.restore === "created") &&
      progress.vm !== "untouched"
    )
      why = `\nthe VM was not started again: restore ${s.action.name} may still be in progress, and starting the VM would get in its way`;
    const state = progress.stateLines();
    throw new VmsnapError(
      err.code,
      `${err.message}${why}\nstate of VM ${ns}/${s.vm.name} now:\n${state.map((l) => `  - ${l}`).join("\n")}`,
      joinAdvice([err.advice, ["next: ", ...progress.nextSteps(platform)]]),
      { ...err.details, state },
    );
  }
}

async function steps(
  session: Session,
  platform: SnapshotPlatform,
  s: RestoreSteps,
  progress: RestoreProgress,
): Promise<RestoreOutcome> {
  const { vm, action, safety, signal } = s;
  const ns = vm.namespace;
  const stopHere = () => checkpoint(signal, `the restore of VM ${ns}/${vm.name} was stopped`);
  stopHere();
  if (s.mustStop && vm.restoreCyclesPower) progress.vm = "cycled";
  else if (s.mustStop) {
    await waitOperationsIdle(session, platform, vm, signal);
    progress.vm = "stop-sent";
    await sendStop(session, platform, vm, signal);
    progress.vm = "stopping";
    stopHere();
    await waitStopped(session, platform, vm, signal);
    progress.vm = "stopped";
  }
  if (safety) {
    const name = safety.body.metadata.name;
    stopHere();
    session.progress(`taking safety snapshot ${name}`);
    progress.safety = "sent";
    await createOrReadBack(session, platform, safety, "safety snapshot");
    progress.safety = "created";
    stopHere();
    await waitForSnapshot(session, platform, ns, name, DEFAULT_SNAPSHOT_TIMEOUT_MS, signal).catch(
      (err: unknown) => {
        if (signal?.aborted) throw err;
        throw new VmsnapError(
          toVmsnapError(err).code,
          `the safety snapshot ${name} did not complete, so the restore was not started: ${(err as Error).message}`,
          advice`fix the snapshot problem (${{ do: "describe", namespace: ns, snapshot: name }}), or restore without a safety snapshot (${option("safetySnapshot", false)})`,
        );
      },
    );
    progress.safety = "ready";
  }
  // Checked again right before the restore: another one may have started since the first check.
  const other = await startedMeanwhile(platform, s);
  if (other)
    throw conflict(
      `a restore of VM ${vm.name} started meanwhile (${other}); this one was not started`,
    );

  await waitOperationsIdle(session, platform, vm, signal);
  stopHere();
  session.progress(`restoring ${vm.name} from ${s.snapshot}`);
  progress.restore = "sent";
  if (action.kind === "create")
    await createOrReadBack(session, platform, action.manifest, "restore");
  else await step(() => session.guard.patch(action.type, action.vm, ns, action.patch));
  progress.restore = "created";
  stopHere();
  if (!s.wait) return { stopped: progress.vm === "stopped", restarted: false };

  await step(() =>
    platform.waitRestore(ns, action, {
      timeoutMs: s.timeoutMs,
      onProgress: session.progress,
      signal,
    }),
  ).catch((err: unknown) => {
    // Two restores of one VM started at the same moment: the platform applies one of them.
    if (err instanceof ConcurrentRestoreError) progress.restore = "refused";
    throw err;
  });
  // From here the start is the cleanup: an interrupt lets it finish, then reports.
  progress.restore = "complete";
  // The restore stopped the VM and brought its power state back itself.
  if (progress.vm === "cycled") return { stopped: true, restarted: true };
  if (progress.vm !== "stopped") return { stopped: false, restarted: false };
  await waitOperationsIdle(session, platform, vm);
  const notStarted = platform.startNotByRunSetting?.(vm);
  session.progress(
    notStarted ? `putting back the run setting of VM ${vm.name}` : `starting VM ${vm.name} again`,
  );
  progress.vm = "start-sent";
  // The restore's lock on the VM may outlive its completion by a moment (see startVm).
  await step(() => sendStartWhenUnlocked(session, platform, vm, signal));
  if (notStarted) {
    progress.vm = "setting-restored";
    return { stopped: true, restarted: false, notRestarted: notStarted };
  }
  progress.vm = "restarted";
  return { stopped: true, restarted: true };
}

/**
 * Creates an object. When its answer was lost, it is read back before anything else, and
 * created again only if it does not exist (the name is fixed: never a duplicate). A name taken
 * already (409) or the platform refusing a second restore is a conflict with another restore.
 */
async function createOrReadBack(
  session: Session,
  platform: SnapshotPlatform,
  m: Manifest,
  what: string,
): Promise<void> {
  const { name, namespace } = m.body.metadata;
  try {
    await session.guard.create(m.type, m.body);
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 409)
      throw conflict(
        `${what} ${name} already exists: a restore of this VM started at the same moment`,
        "wait for it to complete",
      );
    const refusal = platform.explainRefusal(err);
    if (refusal instanceof ConcurrentRestoreError)
      throw conflict(
        `${what} ${name} refused: ${(err as Error).message}`,
        "wait for it to complete",
      );
    if (refusal) throw refusal;
    if (!mayHaveBeenProcessed(err)) throw toVmsnapError(err);
    session.progress(`the answer to creating ${what} ${name} was lost; reading it back`);
    const now = await step(() => session.client.getIfExists(m.type, name, namespace));
    if (!now) await step(() => session.guard.create(m.type, m.body));
  }
}
