// restore: validate → refusals (SPEC §3.5) → preview of what will be lost → dry run → typed
// confirmation + final yes → (stop) → safety snapshot → restore → wait → (restart) → report.
import { verifyConfirmation } from "../core/confirmation.js";
import {
  ErrorCode,
  VmsnapError,
  conflict,
  invalidInput,
  notFound,
  operationFailed,
} from "../core/errors.js";
import { fitName, safetySnapshotName, timestamp, validateName } from "../core/names.js";
import { API_VERSION } from "../core/api-version.js";
import type { Restore } from "../core/schema.js";
import { stringify } from "yaml";
import { ageText, dryRun, planDigest, preview, step, withoutGeneratedName } from "./common.js";
import { RestoreProgress, runRestoreSteps } from "./restore-run.js";
import type { Session } from "./session.js";

export const DEFAULT_RESTORE_TIMEOUT_MS = 10 * 60_000;

export interface RestoreRequest {
  vm: string;
  snapshot: string;
  /** The user chose to stop a running VM (CLI --stop); the port may also choose it interactively. */
  stop?: boolean;
  /** Take `<vm>-pre-restore-<ts>` first (default true). */
  safetySnapshot?: boolean;
  dryRun?: boolean;
  wait?: boolean;
  timeoutMs?: number;
}

export interface RestoreResult {
  restore: Restore;
  preview: string;
}

export async function restoreSnapshot(
  session: Session,
  req: RestoreRequest,
): Promise<RestoreResult> {
  const vmName = validateName("VM", req.vm);
  const snapName = validateName("snapshot", req.snapshot);
  const ns = session.namespace;
  const started = Date.now();
  const platform = await step(() => session.platformForVm(ns, vmName));
  const vm = await step(() => platform.getVm(ns, vmName));
  const snapshot = await step(() => platform.getSnapshot(ns, snapName));

  // Refusals: nothing is written past any of these.
  if (!snapshot)
    throw notFound(
      `snapshot ${ns}/${snapName} not found`,
      `list the VM's snapshots with \`vmsnap list ${vmName}\``,
    );
  if (snapshot.vm !== vmName) {
    throw invalidInput(
      `snapshot ${snapName} belongs to VM ${snapshot.vm}, not to ${vmName}`,
      `restore it onto ${snapshot.vm}, or use \`vmsnap clone ${snapName} --to NEW_VM\``,
    );
  }
  if (snapshot.phase === "Failed") {
    throw operationFailed(
      `snapshot ${snapName} failed and cannot be restored${snapshot.error ? `: ${snapshot.error}` : ""}`,
      "pick another snapshot (`vmsnap list`)",
    );
  }
  if (!snapshot.readyToUse)
    throw conflict(
      `snapshot ${snapName} is not ready yet (phase ${snapshot.phase})`,
      "wait until it is ready (`vmsnap describe`)",
    );
  const inProgress = await step(() => platform.restoreInProgress(vm));
  if (inProgress)
    throw conflict(
      `a restore of VM ${vmName} is already in progress (${inProgress})`,
      "wait for it to complete",
    );
  // Another vmsnap restore of this VM that is still taking its safety snapshot has no restore
  // object yet: its safety snapshot in progress says it is under way.
  const safetyPrefix = safetySnapshotName(vmName, new Date(0)).replace(/\d{8}-\d{6}$/, "");
  const vmSnapshots = await step(() => platform.listSnapshots({ namespace: ns, vm: vmName }));
  const taking = vmSnapshots.find(
    (s) => s.name.startsWith(safetyPrefix) && !s.readyToUse && s.phase !== "Failed",
  );
  if (taking)
    throw conflict(
      `a restore of VM ${vmName} is already in progress (its safety snapshot ${taking.name} is being taken)`,
      "wait for it to complete",
    );

  const now = session.now();
  // A restore finished within the same second (e.g. undoing one at once) left a safety snapshot
  // with this second's name: the next one gets a counter, for its restore object too.
  const taken = new Set(vmSnapshots.map((s) => s.name));
  let attempt = 1;
  while (taken.has(uniqueName(safetySnapshotName(vmName, now), attempt))) attempt++;
  const restoreName = uniqueName(fitName(vmName, `-restore-${timestamp(now)}`), attempt);
  const action = await step(() => platform.restoreAction(ns, restoreName, vm, snapName));
  const takeSafety = req.safetySnapshot !== false;
  const safetyName = uniqueName(safetySnapshotName(vmName, now), attempt);
  const safety = takeSafety
    ? await step(() => platform.snapshotManifest(ns, safetyName, vmName, {}, vm))
    : undefined;
  const what = await step(() => platform.restorePreview(vm, snapshot));
  if (what.blockers.length) {
    throw conflict(
      `restore of ${vmName} to ${snapName} cannot work now: ${what.blockers.map((b) => b.message).join("; ")}`,
      what.blockers
        .map((b) => b.fix)
        .filter(Boolean)
        .join("; ") || undefined,
    );
  }

  const lost = [
    `VM ${ns}/${vmName} is ${vm.status}; it will be restored to snapshot ${snapName}, taken ${ageText(what.snapshotAgeSeconds)} ago (${snapshot.creationTime ?? "unknown time"}).`,
    `Everything written to its disks since then is lost${takeSafety ? `, except in the safety snapshot ${safetyName} taken first` : " (no safety snapshot: --no-safety-snapshot)"}.`,
    what.specChanges.length
      ? `VM configuration that changes back (current → snapshot):\n${what.specChanges.map((l) => `  ${l}`).join("\n")}`
      : "VM configuration: unchanged.",
    ...(what.volumesNotInSnapshot.length
      ? [
          `Volumes NOT in the snapshot (their data is not restored): ${what.volumesNotInSnapshot.join(", ")}`,
        ]
      : []),
    ...(snapshot.excludedVolumes.length
      ? [`Volumes excluded from the snapshot: ${snapshot.excludedVolumes.join(", ")}`]
      : []),
    ...what.notes,
    ...(vm.running
      ? ["The VM is running: it must be stopped for the restore, and is started again afterwards."]
      : []),
  ];
  const creates = [
    ...(safety ? [safety] : []),
    ...(action.kind === "create" ? [action.manifest] : []),
  ];
  const patchText =
    action.kind === "patch"
      ? [
          `# then: patch ${action.type.kind} ${ns}/${action.vm}`,
          stringify(action.patch).trimEnd(),
        ].join("\n")
      : "";
  const text = preview(creates, [...(patchText ? [patchText, ""] : []), ...lost]);
  await dryRun(session, creates).catch((err: unknown) => {
    // The names carry the second: another restore of this VM started in the same one.
    if (err instanceof VmsnapError && err.code === ErrorCode.Conflict)
      throw conflict(
        `${err.message}: a restore of this VM started at the same moment`,
        "wait for it to complete",
      );
    throw err;
  });
  if (action.kind === "patch") {
    await step(() =>
      session.guard.patch(action.type, action.vm, ns, action.patch, { dryRun: true }),
    );
  }
  const report = (phase: Restore["phase"], stoppedVm: boolean, restartedVm: boolean): Restore => ({
    apiVersion: API_VERSION,
    kind: "Restore",
    namespace: ns,
    vm: vmName,
    snapshot: snapName,
    phase,
    safetySnapshot: takeSafety ? safetyName : null,
    stoppedVm,
    restartedVm,
    restoreName,
    snapshotAgeSeconds: what.snapshotAgeSeconds,
    specChanges: what.specChanges,
    volumesNotInSnapshot: what.volumesNotInSnapshot,
    durationMs: phase === "DryRun" ? null : Date.now() - started,
  });
  // A dry run reports what would happen: the VM would be stopped (and restarted) if chosen.
  const wouldStop = vm.running && req.stop === true;
  if (req.dryRun) return { restore: report("DryRun", wouldStop, wouldStop), preview: text };

  const request = {
    kind: "restore" as const,
    action: "restore" as const,
    title: `Restore VM ${ns}/${vmName} to snapshot ${snapName}?`,
    preview: text,
    expectedName: snapName,
    warnings: lost,
    vmRunning: vm.running,
    planDigest: planDigest({
      vm: vm.uid,
      snapshot: snapName,
      snapshotCreationTime: snapshot.creationTime,
      running: vm.running,
      specChanges: what.specChanges,
      volumesNotInSnapshot: what.volumesNotInSnapshot,
      notes: what.notes,
      safetySnapshot: takeSafety,
      action:
        action.kind === "create" ? withoutGeneratedName(action.manifest.body, true) : action.patch,
    }),
  };
  const answer = await session.confirmation.confirm(request);
  if (vm.running && req.stop === true && answer.stopVm === undefined) answer.stopVm = true;
  const { stopVm: mustStop } = verifyConfirmation(request, answer);

  const steps = {
    vm,
    snapshot: snapName,
    action,
    safety,
    mustStop,
    wait: req.wait !== false,
    timeoutMs: req.timeoutMs ?? DEFAULT_RESTORE_TIMEOUT_MS,
  };
  const { stopped, restarted } = await runRestoreSteps(
    session,
    platform,
    steps,
    new RestoreProgress(steps),
  );
  return { restore: report("Succeeded", stopped, restarted), preview: text };
}

/** `name`, or `name-<n>` (shortened to stay a valid name) for the n-th of the same second. */
function uniqueName(name: string, n: number): string {
  if (n === 1) return name;
  const suffix = `-${n}`;
  return `${name.slice(0, 63 - suffix.length).replace(/[.-]+$/, "")}${suffix}`;
}
