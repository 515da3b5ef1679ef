// The writing half of a restore: (stop) → safety snapshot → restore → wait → (start). Each step
// records how far it got, so that whatever interrupts it (a lost connection, a concurrent
// restore, a failure) ends in a report of exactly what state the VM is in and what to do next.
import { ErrorCode, VmsnapError, conflict } from "../core/errors.js";
import { KubeApiError } from "../kube/client.js";
import { toVmsnapError } from "../kube/errors.js";
import { mayHaveBeenProcessed } from "../kube/retry.js";
import type { Manifest, RestoreAction, SnapshotPlatform, VmState } from "../platforms/types.js";
import { step } from "./common.js";
import { DEFAULT_SNAPSHOT_TIMEOUT_MS, applyRunState, waitForSnapshot } from "./create.js";
import type { Session } from "./session.js";

export interface RestoreSteps {
  vm: VmState;
  snapshot: string;
  action: RestoreAction;
  safety?: Manifest;
  mustStop: boolean;
  wait: boolean;
  timeoutMs: number;
}

export interface RestoreOutcome {
  stopped: boolean;
  restarted: boolean;
}

type VmStage =
  | "untouched"
  | "stop-sent"
  | "stopping"
  | "stopped"
  | "restarted"
  | "restart-failed"
  | "start-sent";
type SafetyStage = "skipped" | "not-taken" | "sent" | "created" | "ready";
type RestoreStage = "not-created" | "sent" | "created" | "refused" | "complete";

/** How far a restore got; turned into the report when it is interrupted. */
export class RestoreProgress {
  vm: VmStage = "untouched";
  safety: SafetyStage;
  restore: RestoreStage = "not-created";

  constructor(private readonly s: RestoreSteps) {
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
      "restart-failed": `VM ${vm.name}: STOPPED by vmsnap (it was running); starting it again failed`,
      "start-sent": `VM ${vm.name}: the start request was sent but its answer was lost — it may be starting or still stopped`,
    };
    const safetyLine: Record<SafetyStage, string> = {
      skipped: "safety snapshot: none (--no-safety-snapshot)",
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
    };
    return [vmLine[this.vm], safetyLine[this.safety], restoreLine[this.restore]];
  }

  /** What the user does next, from the state. */
  nextSteps(namespace: string, platform: SnapshotPlatform["name"]): string {
    const { vm, snapshot, action, safety } = this.s;
    const rerun = `vmsnap -n ${namespace} restore ${vm.name} ${snapshot} --confirm ${snapshot} --yes${
      vm.running ? " --stop" : ""
    }${safety ? "" : " --no-safety-snapshot"}`;
    const start =
      platform === "kubevirt" ? `\`virtctl start ${vm.name} -n ${namespace}\`` : "its platform";
    const leftStopped = [
      "stop-sent",
      "stopping",
      "stopped",
      "restart-failed",
      "start-sent",
    ].includes(this.vm);
    const startAfter = vm.running && leftStopped ? `; then start the VM again with ${start}` : "";
    switch (this.restore) {
      case "complete":
        return leftStopped ? `only the start is left: start the VM with ${start}` : "nothing";
      case "sent":
      case "created": {
        const kind = action.kind === "create" ? action.manifest.type.plural : "the VM";
        return `check the restore (\`kubectl -n ${namespace} get ${kind} ${action.name}\`): once it is complete${startAfter.replace("; then", ",")}; if it failed or does not exist, re-run \`${rerun}\`${startAfter}`;
      }
      case "refused":
        return `wait for the other restore to complete; it is the one that restores and restarts the VM`;
      case "not-created":
        return `re-run \`${rerun}\` to restore${startAfter}`;
    }
  }
}

export async function runRestoreSteps(
  session: Session,
  platform: SnapshotPlatform,
  s: RestoreSteps,
  progress: RestoreProgress,
): Promise<RestoreOutcome> {
  const ns = s.vm.namespace;
  try {
    return await steps(session, platform, s, progress);
  } catch (raw) {
    let err = toVmsnapError(raw);
    // Nothing was restored: put the VM back as it was, unless another restore is under way
    // (starting the VM would get in its way).
    if (
      progress.restore === "not-created" &&
      (progress.vm === "stopped" || progress.vm === "stopping") &&
      err.code !== ErrorCode.Conflict
    ) {
      progress.vm = await applyRunState(session, s.vm, platform.runStateChange(s.vm, true)).then(
        () => "restarted" as const,
        () => "restart-failed" as const,
      );
    }
    const state = progress.stateLines();
    err = new VmsnapError(
      err.code,
      `${err.message}\nstate of VM ${ns}/${s.vm.name} now:\n${state.map((l) => `  - ${l}`).join("\n")}`,
      `${err.hint ? `${err.hint}; ` : ""}next: ${progress.nextSteps(ns, platform.name)}`,
      { ...err.details, state },
    );
    throw err;
  }
}

async function steps(
  session: Session,
  platform: SnapshotPlatform,
  s: RestoreSteps,
  progress: RestoreProgress,
): Promise<RestoreOutcome> {
  const { vm, action, safety } = s;
  const ns = vm.namespace;
  if (s.mustStop) {
    session.progress(`stopping VM ${vm.name}`);
    progress.vm = "stop-sent";
    await step(() => applyRunState(session, vm, platform.runStateChange(vm, false)));
    progress.vm = "stopping";
    await step(() =>
      platform.waitVmStopped(vm, { timeoutMs: 5 * 60_000, onProgress: session.progress }),
    );
    progress.vm = "stopped";
  }
  if (safety) {
    const name = safety.body.metadata.name;
    session.progress(`taking safety snapshot ${name}`);
    progress.safety = "sent";
    await createOrReadBack(session, safety, "safety snapshot");
    progress.safety = "created";
    await waitForSnapshot(session, platform, ns, name, DEFAULT_SNAPSHOT_TIMEOUT_MS).catch(
      (err: unknown) => {
        throw new VmsnapError(
          toVmsnapError(err).code,
          `the safety snapshot ${name} did not complete, so the restore was not started: ${(err as Error).message}`,
          "fix the snapshot problem (vmsnap describe), or restore with --no-safety-snapshot",
        );
      },
    );
    progress.safety = "ready";
  }
  // Checked again right before the restore: another one may have started since the first check.
  const other = await step(() => platform.restoreInProgress(vm));
  if (other)
    throw conflict(
      `a restore of VM ${vm.name} started meanwhile (${other}); this one was not started`,
    );

  session.progress(`restoring ${vm.name} from ${s.snapshot}`);
  progress.restore = "sent";
  if (action.kind === "create") await createOrReadBack(session, action.manifest, "restore");
  else await step(() => session.guard.patch(action.type, action.vm, ns, action.patch));
  progress.restore = "created";
  if (!s.wait) return { stopped: progress.vm === "stopped", restarted: false };

  await step(() =>
    platform.waitRestore(ns, action, { timeoutMs: s.timeoutMs, onProgress: session.progress }),
  ).catch((err: unknown) => {
    // Two restores of one VM started at the same moment: the platform applies one of them.
    if (/VirtualMachineRestore "[^"]+" in progress/.test(err instanceof Error ? err.message : "")) {
      progress.restore = "refused";
      throw conflict(
        `another restore of VM ${vm.name} is in progress: ${(err as Error).message}`,
        undefined,
      );
    }
    throw err;
  });
  progress.restore = "complete";
  if (progress.vm !== "stopped") return { stopped: false, restarted: false };
  session.progress(`starting VM ${vm.name} again`);
  progress.vm = "start-sent";
  await step(() => applyRunState(session, vm, platform.runStateChange(vm, true)));
  progress.vm = "restarted";
  return { stopped: true, restarted: true };
}

/**
 * Creates an object. When its answer was lost, it is read back before anything else, and
 * created again only if it does not exist (the name is fixed: never a duplicate). A name taken
 * already (409) or a platform refusing a second restore is a conflict with another restore.
 */
async function createOrReadBack(session: Session, m: Manifest, what: string): Promise<void> {
  const { name, namespace } = m.body.metadata;
  try {
    await session.guard.create(m.type, m.body);
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 409)
      throw conflict(
        `${what} ${name} already exists: a restore of this VM started at the same moment`,
        "wait for it to complete",
      );
    if (err instanceof KubeApiError && err.code === 422 && /in progress/i.test(err.message))
      throw conflict(`${what} ${name} refused: ${err.message}`, "wait for it to complete");
    if (!mayHaveBeenProcessed(err)) throw toVmsnapError(err);
    session.progress(`the answer to creating ${what} ${name} was lost; reading it back`);
    const now = await step(() => session.client.getIfExists(m.type, name, namespace));
    if (!now) await step(() => session.guard.create(m.type, m.body));
  }
}
