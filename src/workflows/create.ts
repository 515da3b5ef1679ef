// create: validate → preflight → plan → dry run → confirm → (stop) → apply → wait → (restart) → report.
import { verifyConfirmation } from "../core/confirmation.js";
import { ErrorCode, VmsnapError, conflict, operationFailed } from "../core/errors.js";
import { defaultSnapshotName, validateName } from "../core/names.js";
import { goDuration, validateQuiesceTimeout } from "../core/duration.js";
import { API_VERSION } from "../core/api-version.js";
import type { Snapshot } from "../core/schema.js";
import type {
  CreateOptions,
  Manifest,
  RunStateChange,
  SnapshotPlatform,
  VmState,
  WaitOptions,
} from "../platforms/types.js";
import { KubeApiError } from "../kube/client.js";
import { mayHaveBeenProcessed } from "../kube/retry.js";
import { validateLabels } from "../core/labels.js";
import {
  dryRun,
  planDigest,
  preview,
  step,
  withMarks,
  withoutGeneratedName,
  type Marks,
} from "./common.js";
import type { Session } from "./session.js";

export const DEFAULT_SNAPSHOT_TIMEOUT_MS = 5 * 60_000;
const DEADLINE_GRACE_MS = 5_000;

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

export async function createSnapshot(session: Session, req: CreateRequest): Promise<CreateResult> {
  const vmName = validateName("VM", req.vm);
  validateQuiesceTimeout(req.quiesceTimeout);
  validateLabels(req.labels);
  validateLabels(req.annotations, "annotation");
  const name = validateName("snapshot", req.name ?? defaultSnapshotName(vmName, session.now()));
  const ns = session.namespace;
  const platform = await step(() => session.platformForVm(ns, vmName));
  const vm = await step(() => platform.getVm(ns, vmName));
  // The same create run again (same --name) changes nothing and reports the snapshot.
  const existing = await step(() => platform.getSnapshot(ns, name));
  if (existing)
    return { snapshot: await adoptExisting(session, platform, existing, vmName, req), preview: "" };
  const pre = await step(() =>
    platform.preflight(ns, vmName, { consistency: req.consistency, stop: req.stop }),
  );
  const stopFirst = Boolean(req.stop && vm.running);
  if (!pre.snapshottable) {
    // Blocked by this very snapshot, created meanwhile by the same create run at the same moment.
    const now = await step(() => platform.getSnapshot(ns, name));
    if (now)
      return { snapshot: await adoptExisting(session, platform, now, vmName, req), preview: "" };
    throw new VmsnapError(
      ErrorCode.PreflightBlocked,
      `VM ${ns}/${vmName} cannot be snapshotted safely:\n${pre.problems.map((p) => `  - ${p.message}${p.fix ? `\n    fix: ${p.fix}` : ""}`).join("\n")}`,
      "run `vmsnap check` for the full analysis",
      { preflight: pre },
    );
  }
  const manifest = withMarks(
    await step(() => platform.snapshotManifest(ns, name, vmName, req, vm)),
    req,
  );
  const facts = [
    `VM ${ns}/${vmName}: ${vm.status}; expected consistency: ${stopFirst ? "consistent (VM stopped)" : pre.expectedConsistency}`,
    `volumes: ${
      pre.volumes
        .filter((v) => v.included)
        .map((v) => v.name)
        .join(", ") || "none"
    }${
      pre.volumes.some((v) => !v.included)
        ? `; not included: ${pre.volumes
            .filter((v) => !v.included)
            .map((v) => `${v.name} (${v.reason})`)
            .join(", ")}`
        : ""
    }`,
    ...pre.warnings.map((w) => `warning: ${w.message}`),
    ...(stopFirst ? [`the VM will be stopped for the snapshot and started again afterwards`] : []),
  ];
  const text = preview([manifest], facts);
  try {
    await dryRun(session, [manifest]);
  } catch (err) {
    // The same create, started at the same moment, created it since the check above.
    const now =
      err instanceof VmsnapError && err.code === ErrorCode.Conflict
        ? await step(() => platform.getSnapshot(ns, name))
        : undefined;
    if (!now) throw err;
    return { snapshot: await adoptExisting(session, platform, now, vmName, req), preview: text };
  }
  if (stopFirst) await step(() => dryRunRunState(session, platform, vm, false));
  if (req.dryRun)
    return { snapshot: plannedSnapshot(manifest, vmName, platform.name, "DryRun"), preview: text };

  const request = {
    kind: "yes-no" as const,
    action: "create" as const,
    title: `Create snapshot ${name} of VM ${ns}/${vmName}?`,
    preview: text,
    planDigest: planDigest({
      manifest: withoutGeneratedName(manifest.body, req.name === undefined),
      facts,
    }),
  };
  verifyConfirmation(request, await session.confirmation.confirm(request));

  if (stopFirst) await stopVm(session, platform, vm);
  try {
    session.progress(`creating snapshot ${name}`);
    const taken = await step(() => createOnce(session, platform, manifest));
    if (taken)
      return {
        snapshot: await adoptExisting(
          session,
          platform,
          taken,
          vmName,
          req,
          `snapshot ${name} was read back after its creation request lost its answer`,
        ),
        preview: text,
      };
    if (req.wait === false) {
      const now = await step(() => platform.getSnapshot(ns, name));
      return {
        snapshot: now ?? plannedSnapshot(manifest, vmName, platform.name, "Pending"),
        preview: text,
      };
    }
    const timeoutMs =
      req.deadlineMs ?? platform.snapshotDeadlineMs(manifest.body) ?? DEFAULT_SNAPSHOT_TIMEOUT_MS;
    const snapshot = await waitForSnapshot(session, platform, ns, name, timeoutMs);
    return { snapshot, preview: text };
  } finally {
    if (stopFirst) await startVm(session, platform, vm);
  }
}

/**
 * Creates the snapshot; undefined when this request created it. When another request got there
 * first (409: the same create run twice at once) or the answer to this one was lost, the
 * snapshot is read back instead of being created again: the existing one is returned.
 */
async function createOnce(
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
    if (now) return now;
    if (raced) throw err;
    // Never processed: creating it now cannot make a second one (the name is fixed).
    await session.guard.create(manifest.type, manifest.body);
    return undefined;
  }
}

/**
 * A snapshot with the requested name exists already: the same VM's, ready or progressing, is
 * the result (waited for like a new one); another VM's, or a failed one, is a conflict.
 */
async function adoptExisting(
  session: Session,
  platform: SnapshotPlatform,
  existing: Snapshot,
  vmName: string,
  req: CreateRequest,
  note = `snapshot ${existing.name} of VM ${vmName} already existed: nothing was created`,
): Promise<Snapshot> {
  const ns = existing.namespace;
  if (existing.vm !== vmName)
    throw conflict(
      `snapshot ${ns}/${existing.name} already exists and belongs to VM ${existing.vm}, not to ${vmName}`,
      "choose another --name",
    );
  if (existing.phase === "Failed")
    throw conflict(
      `snapshot ${ns}/${existing.name} already exists and failed${existing.error ? `: ${existing.error}` : ""}`,
      `delete it (\`vmsnap delete ${existing.name}\`) or choose another --name`,
    );
  session.progress(note);
  if (req.dryRun || req.wait === false || existing.readyToUse)
    return { ...existing, notes: [...existing.notes, note] };
  const timeoutMs = req.deadlineMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS;
  const ready = await waitForSnapshot(session, platform, ns, existing.name, timeoutMs);
  return { ...ready, notes: [...ready.notes, note] };
}

/** Waits for a snapshot to be ready; a failed one is an error carrying its diagnosis. */
export function waitForSnapshot(
  session: Session,
  platform: SnapshotPlatform,
  ns: string,
  name: string,
  timeoutMs: number,
): Promise<Snapshot> {
  return waitForSnapshotWith(
    session,
    (options) => platform.waitSnapshot(ns, name, options),
    () => platform.getSnapshot(ns, name),
    ns,
    name,
    timeoutMs,
  );
}

/** waitForSnapshot with the platform's wait and read of this kind of snapshot. */
export async function waitForSnapshotWith(
  session: Session,
  wait: (options: WaitOptions) => Promise<Snapshot>,
  read: () => Promise<Snapshot | undefined>,
  ns: string,
  name: string,
  timeoutMs: number,
): Promise<Snapshot> {
  // The platform enforces the snapshot's own deadline; a short grace lets its verdict (with the
  // reasons) arrive before the client gives up.
  const snapshot = await step(() =>
    wait({ timeoutMs: timeoutMs + DEADLINE_GRACE_MS, onProgress: session.progress }),
  ).catch(async (err: unknown) => {
    if (!(err instanceof VmsnapError && err.code === ErrorCode.DeadlineExceeded)) throw err;
    const now = await step(read).catch(() => undefined);
    const why = [
      `did not complete within its failureDeadline (${goDuration(timeoutMs)})`,
      ...(now?.diagnosis ?? []),
    ];
    throw new VmsnapError(
      ErrorCode.DeadlineExceeded,
      `snapshot ${ns}/${name} (phase ${now?.phase ?? "unknown"}) ${why[0]}${
        why.length > 1
          ? `\n${why
              .slice(1)
              .map((d) => `  - ${d}`)
              .join("\n")}`
          : ""
      }`,
      "see `vmsnap describe` for the causes",
      { snapshot: now },
    );
  });
  if (snapshot.phase === "Failed") {
    const deadline = snapshot.conditions.some(
      (c) => c.type === "Failure" && /deadline/i.test(c.reason ?? ""),
    );
    const why = snapshot.diagnosis.length
      ? `\n${snapshot.diagnosis.map((d) => `  - ${d}`).join("\n")}`
      : "";
    const message = `snapshot ${ns}/${name} failed${snapshot.error ? `: ${snapshot.error}` : ""}${why}`;
    if (deadline)
      throw new VmsnapError(
        ErrorCode.DeadlineExceeded,
        message,
        "see `vmsnap describe` for the causes",
        { snapshot },
      );
    throw operationFailed(message, "see `vmsnap describe` for the causes", { snapshot });
  }
  return snapshot;
}

async function dryRunRunState(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
  running: boolean,
): Promise<void> {
  await applyRunState(session, vm, platform.runStateChange(vm, running), true);
}

/** Stops a VM (the user chose it) and waits until it is stopped. */
export async function stopVm(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
): Promise<void> {
  session.progress(`stopping VM ${vm.name}`);
  await step(() => applyRunState(session, vm, platform.runStateChange(vm, false)));
  await step(() =>
    platform.waitVmStopped(vm, { timeoutMs: 5 * 60_000, onProgress: session.progress }),
  );
}

/** Puts the VM's run setting back after a stop vmsnap made. */
export async function startVm(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
): Promise<void> {
  session.progress(`starting VM ${vm.name} again`);
  await step(() => applyRunState(session, vm, platform.runStateChange(vm, true)));
}

/** Sends a run-state change: a patch of the VM, or an operation object (Deckhouse). */
export async function applyRunState(
  session: Session,
  vm: VmState,
  change: RunStateChange,
  dryRun = false,
): Promise<void> {
  if (change.kind === "patch")
    await session.guard.patch(change.type, vm.name, vm.namespace, change.patch, { dryRun });
  else await session.guard.create(change.manifest.type, change.manifest.body, { dryRun });
}
