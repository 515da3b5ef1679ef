// create. Plan: validate → preflight → manifest → server-side dry run (no writes). Execute, after
// the human's yes: (stop) → create → wait → (restart). A snapshot that exists under the name is a
// conflict (exit 7) that says how old it is; only this run's own lost answer is read back.
import { advice, option } from "../core/advice.js";
import { ErrorCode, VmsnapError, conflict } from "../core/errors.js";
import { defaultSnapshotName, validateName } from "../core/names.js";
import { validateQuiesceTimeout } from "../core/duration.js";
import { API_VERSION } from "../core/api-version.js";
import { makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import type { Preflight, Snapshot } from "../core/schema.js";
import { KubeApiError } from "../kube/client.js";
import { mayHaveBeenProcessed } from "../kube/retry.js";
import { OperationSupersededError } from "../platforms/errors.js";
import type { CreateOptions, Manifest, SnapshotPlatform, VmState } from "../platforms/types.js";
import { validateLabels } from "../core/labels.js";
import { ageText, dryRun, preview, step, withMarks, type Marks } from "./common.js";
import { checkpoint, interrupted, unlessAborted } from "./interrupt.js";
import { dryRunStop, sendStop, startVm, waitOperationsIdle, waitStopped } from "./run-state.js";
import type { Session } from "./session.js";
import { DEFAULT_SNAPSHOT_TIMEOUT_MS, waitForSnapshot } from "./wait.js";

export { DEFAULT_SNAPSHOT_TIMEOUT_MS };

export interface CreateRequest extends CreateOptions, Marks {
  vm: string;
  name?: string;
  /** Stop a running VM for an offline snapshot, and start it again afterwards. */
  stop?: boolean;
  dryRun?: boolean;
  /** false: return right after creation (--no-wait). */
  wait?: boolean;
}

export interface CreateResult {
  snapshot: Snapshot;
  preview: string;
}

/** One VM's snapshot as planned: shared by create and bulk create. */
export interface CreateDraft {
  readonly platform: SnapshotPlatform;
  readonly vm: VmState;
  readonly preflight: Preflight;
  readonly name: string;
  readonly manifest: Manifest;
  /** The user chose to stop the running VM for an offline snapshot. */
  readonly stopFirst: boolean;
  /**
   * Why the VM vmsnap stops is not started again by putting its run setting back (KubeVirt
   * runStrategy Manual), and how to start it; undefined when it is started again.
   */
  readonly notStarted?: string;
  readonly consistency: string;
  readonly facts: readonly string[];
}

export interface CreatePlan extends PlanBase<Snapshot, "create"> {
  readonly platform: SnapshotPlatform;
  readonly draft: CreateDraft;
  readonly wait: boolean;
  readonly timeoutMs?: number;
}

export function plannedSnapshot(
  m: Manifest,
  vm: string,
  platform: SnapshotPlatform["name"],
  phase: string,
): Snapshot {
  return {
    apiVersion: API_VERSION,
    kind: "Snapshot",
    name: m.body.metadata.name,
    namespace: m.body.metadata.namespace ?? "",
    platform,
    vm,
    phase,
    readyToUse: false,
    createdAt: null,
    creationTime: null,
    consistency: "unknown",
    indications: [],
    notes: [],
    includedVolumes: [],
    excludedVolumes: [],
    contentName: null,
    error: null,
    conditions: [],
    diagnosis: [],
  };
}

export async function planCreate(
  session: Session,
  req: CreateRequest,
  pins?: Pins,
): Promise<CreatePlan> {
  const vmName = validateName("VM", req.vm);
  validateQuiesceTimeout(req.quiesceTimeout);
  validateLabels(req.labels);
  validateLabels(req.annotations, "annotation");
  const at = pins ? new Date(pins.at) : session.now();
  const name = validateName("snapshot", req.name ?? defaultSnapshotName(vmName, at));
  const ns = session.namespace;
  const platform = await step(() => session.platformForVm(ns, vmName));
  const vm = await step(() => platform.getVm(ns, vmName));
  // A snapshot under the requested name is a conflict, even the same VM's: it is not this
  // invocation's (only its own lost-answer retry, in createOnce, reads one back as its result).
  const refuseExisting = async () => {
    const now = await step(() => platform.getSnapshot(ns, name));
    if (now) throw existingSnapshot(now, vmName, session.now());
  };
  await refuseExisting();
  const pre = await step(() =>
    platform.preflight(ns, vmName, { consistency: req.consistency, stop: req.stop }),
  );
  if (!pre.snapshottable) {
    // Blocked by a snapshot of this name created meanwhile: that is the conflict to report.
    await refuseExisting();
    throw new VmsnapError(
      ErrorCode.PreflightBlocked,
      `VM ${ns}/${vmName} cannot be snapshotted safely:\n${pre.problems.map((p) => `  - ${p.message}${p.fix ? `\n    fix: ${p.fix}` : ""}`).join("\n")}`,
      advice`run ${{ do: "check", namespace: ns, vm: vmName }} for the full analysis`,
      { preflight: pre },
    );
  }
  const draft = await draftCreate(session, platform, vm, pre, name, req);
  const text = preview([draft.manifest], draft.facts);
  try {
    await validateCreate(session, draft);
  } catch (err) {
    // Created since the check above (another create at the same moment): say whose and when.
    if (err instanceof VmsnapError && err.code === ErrorCode.Conflict) await refuseExisting();
    throw err;
  }
  const title = `Create snapshot ${name} of VM ${ns}/${vmName}?`;
  return makePlan(
    {
      operation: "create",
      title,
      preview: text,
      facts: draft.facts,
      needs: { kind: "yes-no", action: "create" },
      subject: { manifest: draft.manifest.body, facts: draft.facts },
      pins: pinsAt(at),
      planned: withNotStarted(
        plannedSnapshot(draft.manifest, vmName, platform.name, "DryRun"),
        draft,
        "will be",
      ),
    },
    { platform, draft, wait: req.wait !== false, timeoutMs: req.deadlineMs },
    [draft.manifest],
  );
}

/** The manifest and the facts for one VM whose preflight passed (reads only). */
export async function draftCreate(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
  pre: Preflight,
  name: string,
  options: CreateOptions & Marks & { stop?: boolean },
): Promise<CreateDraft> {
  const ns = vm.namespace;
  const stopFirst = Boolean(options.stop && vm.running);
  const notStarted = stopFirst ? platform.startNotByRunSetting?.(vm) : undefined;
  const manifest = withMarks(
    await step(() => platform.snapshotManifest(ns, name, vm.name, options, vm)),
    options,
  );
  const consistency = stopFirst ? "consistent (VM stopped)" : pre.expectedConsistency;
  const included = pre.volumes.filter((v) => v.included).map((v) => v.name);
  const excluded = pre.volumes.filter((v) => !v.included);
  const facts = [
    `VM ${ns}/${vm.name}: ${vm.status}; expected consistency: ${consistency}`,
    `volumes: ${included.join(", ") || "none"}${
      excluded.length
        ? `; not included: ${excluded.map((v) => `${v.name} (${v.reason})`).join(", ")}`
        : ""
    }`,
    ...pre.warnings.map((w) => `warning: ${w.message}`),
    ...(stopFirst
      ? [
          notStarted
            ? `the VM will be stopped for the snapshot and NOT started again afterwards: ${notStarted}`
            : `the VM will be stopped for the snapshot and started again afterwards`,
        ]
      : []),
  ];
  return {
    platform,
    vm,
    preflight: pre,
    name,
    manifest,
    stopFirst,
    ...(notStarted ? { notStarted } : {}),
    consistency,
    facts,
  };
}

/**
 * The snapshot with a note that the VM vmsnap stops (stopped) for it is not started again, where
 * putting its run setting back does not start it (KubeVirt runStrategy Manual).
 */
function withNotStarted(s: Snapshot, d: CreateDraft, tense: "will be" | "was"): Snapshot {
  if (!d.notStarted) return s;
  const note = `VM ${d.vm.name} ${tense} stopped for the snapshot and ${tense === "was" ? "is NOT" : "will NOT be"} started again: ${d.notStarted}`;
  return { ...s, notes: [...s.notes, note] };
}

/** The API server validates the manifest (and the stop) with dry runs. */
export async function validateCreate(session: Session, d: CreateDraft): Promise<void> {
  await dryRun(session, [d.manifest]);
  if (d.stopFirst) await dryRunStop(session, d.platform, d.vm);
}

/**
 * A snapshot with the requested name exists already (not created by this invocation): a
 * conflict that says whose it is and how old; another VM's, or a failed one, said so.
 */
export function existingSnapshot(existing: Snapshot, vmName: string, now: Date): VmsnapError {
  notAnotherVms(existing, vmName);
  const ns = existing.namespace;
  const created = existing.createdAt ? Date.parse(existing.createdAt) : NaN;
  const age = Number.isFinite(created)
    ? `created ${ageText(Math.max(0, Math.round((now.getTime() - created) / 1000)))} ago (${existing.createdAt})`
    : "of unknown age";
  const state = existing.readyToUse ? "ready" : `phase ${existing.phase}`;
  return conflict(
    `snapshot ${ns}/${existing.name} of VM ${vmName} already exists, ${age}, ${state}: nothing was created`,
    advice`see it with ${{ do: "describe", namespace: ns, snapshot: existing.name }}, or choose another name (${option("name")})`,
  );
}

/** Another VM's snapshot, or a failed one, under the requested name is a conflict. */
function notAnotherVms(existing: Snapshot, vmName: string): void {
  const ns = existing.namespace;
  if (existing.vm !== vmName)
    throw conflict(
      `snapshot ${ns}/${existing.name} already exists and belongs to VM ${existing.vm}, not to ${vmName}`,
      advice`choose another name (${option("name")})`,
    );
  if (existing.phase === "Failed")
    throw conflict(
      `snapshot ${ns}/${existing.name} already exists and failed${existing.error ? `: ${existing.error}` : ""}`,
      advice`delete it (${{ do: "delete", namespace: ns, snapshot: existing.name }}) or choose another name (${option("name")})`,
    );
}

export interface CreateExecution {
  signal?: AbortSignal;
  /** A second interrupt: stop cleaning up (starting the VM again) and report now. */
  abandon?: AbortSignal;
}

export async function executeCreate(
  session: Session,
  plan: CreatePlan,
  options: CreateExecution = {},
): Promise<Snapshot> {
  const d = plan.draft;
  return runCreate(session, d, { wait: plan.wait, timeoutMs: plan.timeoutMs, ...options });
}

/** One VM's create: (stop) → create → wait → (restart). Bulk create runs it for stopped VMs. */
export async function runCreate(
  session: Session,
  d: CreateDraft,
  o: CreateExecution & { wait: boolean; timeoutMs?: number; onCreated?: () => void },
): Promise<Snapshot> {
  return withNotStarted(await createSteps(session, d, o), d, "was");
}

async function createSteps(
  session: Session,
  d: CreateDraft,
  o: CreateExecution & { wait: boolean; timeoutMs?: number; onCreated?: () => void },
): Promise<Snapshot> {
  const ns = d.vm.namespace;
  // How far it got, for the report of an interruption.
  let stopSent = false;
  let snapshot: "not-created" | "sent" | "created" = "not-created";
  let restart: "restarted" | "failed" | "abandoned" | undefined;
  // Another client's operation took the VM over from vmsnap's stop, or the VM was deleted: it
  // is not started again.
  let takenOver = false;
  try {
    if (d.stopFirst) {
      await waitOperationsIdle(session, d.platform, d.vm, o.signal);
      stopSent = true;
      await sendStop(session, d.platform, d.vm, o.signal);
      checkpoint(o.signal, "no snapshot was created");
      await waitStopped(session, d.platform, d.vm, o.signal);
    }
    checkpoint(o.signal, "no snapshot was created");
    session.progress(`creating snapshot ${d.name}`);
    snapshot = "sent";
    const taken = await step(() => createOnce(session, d.platform, d.manifest));
    snapshot = "created";
    o.onCreated?.();
    if (taken) {
      notAnotherVms(taken, d.vm.name);
      const note = `snapshot ${d.name} was read back after its creation request lost its answer`;
      session.progress(note);
      return await waitExisting(session, d.platform, taken, note, o);
    }
    if (!o.wait) {
      const now = await step(() => d.platform.getSnapshot(ns, d.name));
      return now ?? plannedSnapshot(d.manifest, d.vm.name, d.platform.name, "Pending");
    }
    const timeoutMs =
      o.timeoutMs ?? d.platform.snapshotDeadlineMs(d.manifest.body) ?? DEFAULT_SNAPSHOT_TIMEOUT_MS;
    const ready = await waitForSnapshot(session, d.platform, ns, d.name, timeoutMs, o.signal);
    checkpoint(o.signal, `snapshot ${ns}/${d.name} is ready`);
    return ready;
  } catch (err) {
    // The VM deleted while vmsnap waited for its stop: nothing to start again either.
    if (err instanceof OperationSupersededError || (err as VmsnapError).details?.vmGone === true)
      takenOver = true;
    if (!o.signal?.aborted) throw err;
    if (stopSent && !takenOver) restart = await restartAfterInterrupt(session, d, o.abandon);
    throw createInterrupted(session, d, o.signal, snapshot, restart);
  } finally {
    if (stopSent && restart === undefined && !takenOver) await startVm(session, d.platform, d.vm);
  }
}

/** Starts the VM vmsnap stopped, unless a second interrupt abandons it. */
async function restartAfterInterrupt(
  session: Session,
  d: CreateDraft,
  abandon: AbortSignal | undefined,
): Promise<"restarted" | "failed" | "abandoned"> {
  return unlessAborted(startVm(session, d.platform, d.vm), abandon, () => "abandoned").then(
    () => "restarted" as const,
    (e: unknown) => (e === "abandoned" ? ("abandoned" as const) : ("failed" as const)),
  );
}

/** The report of an interrupted create: the snapshot (if it exists, how to follow it) and the VM. */
function createInterrupted(
  session: Session,
  d: CreateDraft,
  signal: AbortSignal,
  snapshot: "not-created" | "sent" | "created",
  restart: "restarted" | "failed" | "abandoned" | undefined,
): VmsnapError {
  const ns = d.vm.namespace;
  const follow = { do: "describe" as const, namespace: ns, snapshot: d.name };
  const lines = [
    {
      "not-created": `snapshot ${d.name}: NOT created`,
      sent: `snapshot ${d.name}: creation requested, not confirmed — it may exist`,
      created: `snapshot ${d.name}: created; it is being taken in the cluster (vmsnap stopped waiting, not the snapshot)`,
    }[snapshot],
  ];
  const start = d.platform.manualStart(d.vm);
  if (restart)
    lines.push(
      {
        restarted: d.notStarted
          ? `VM ${d.vm.name}: STOPPED by vmsnap (it was running); its run setting is put back, which does not start it — ${d.notStarted}`
          : `VM ${d.vm.name}: started again by vmsnap, as before`,
        failed: `VM ${d.vm.name}: STOPPED by vmsnap (it was running); starting it again failed — start it with ${start}`,
        abandoned: `VM ${d.vm.name}: STOPPED by vmsnap (it was running); starting it again was interrupted — it may be starting or still stopped; start it with ${start}`,
      }[restart],
    );
  const hint =
    snapshot === "not-created"
      ? undefined
      : advice`follow the snapshot with ${follow} until it is ready (or failed)`;
  return interrupted(
    signal,
    `create of snapshot ${ns}/${d.name} of VM ${d.vm.name} stopped\nstate now:\n${lines.map((l) => `  - ${l}`).join("\n")}`,
    hint,
    { state: lines },
  );
}

/** An existing snapshot as the result: waited for unless ready (or not to be waited for). */
async function waitExisting(
  session: Session,
  platform: SnapshotPlatform,
  existing: Snapshot,
  note: string,
  o: { wait: boolean; timeoutMs?: number; signal?: AbortSignal },
): Promise<Snapshot> {
  if (!o.wait || existing.readyToUse) return { ...existing, notes: [...existing.notes, note] };
  const ready = await waitForSnapshot(
    session,
    platform,
    existing.namespace,
    existing.name,
    o.timeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
    o.signal,
  );
  return { ...ready, notes: [...ready.notes, note] };
}

/**
 * Creates the snapshot; undefined when this request created it. When another request got there
 * first (409: the same create run twice at once) or the answer to this one was lost, the
 * snapshot is read back instead of being created again: the existing one is returned.
 */
export async function createOnce(
  session: Session,
  platform: SnapshotPlatform,
  manifest: Manifest,
): Promise<Snapshot | undefined> {
  const { name } = manifest.body.metadata;
  const ns = manifest.body.metadata.namespace ?? session.namespace;
  try {
    await session.guard.create(manifest.type, manifest.body);
    return undefined;
  } catch (err) {
    const raced = err instanceof KubeApiError && err.code === 409;
    if (!raced && !mayHaveBeenProcessed(err)) throw err;
    session.progress(
      raced
        ? `snapshot ${name} was created meanwhile; reading it`
        : `the answer to creating snapshot ${name} was lost; reading it back before anything else`,
    );
    const now = await platform.getSnapshot(ns, name);
    // 409: another request created it, not this one; a lost answer: this one's own, read back.
    if (now && raced) throw existingSnapshot(now, now.vm, session.now());
    if (now) return now;
    if (raced) throw err;
    // Never processed: creating it now cannot make a second one (the name is fixed).
    await session.guard.create(manifest.type, manifest.body);
    return undefined;
  }
}
