// restore. Plan: validate → refusals (SPEC §3.5) → what will be lost → dry runs (no writes).
// Execute (./restore-run.ts), after the typed name, the final yes and, for a running VM, the
// stop choice: (stop) → safety snapshot → restore → wait → (restart) → report.
import { advice, option, phrase } from "../core/advice.js";
import {
  ErrorCode,
  VmsnapError,
  conflict,
  invalidInput,
  nameNotFound,
  operationFailed,
} from "../core/errors.js";
import {
  fitName,
  numberedName,
  safetySnapshotName,
  timestamp,
  validateName,
} from "../core/names.js";
import { safetySnapshotTime } from "../core/policy.js";
import { makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import { API_VERSION } from "../core/api-version.js";
import type { Restore } from "../core/schema.js";
import { stringify } from "yaml";
import type { Manifest, RestoreAction, SnapshotPlatform, VmState } from "../platforms/types.js";
import { ageText, dryRun, preview, step } from "./common.js";
import { dryRunStop } from "./run-state.js";
import type { Session } from "./session.js";

export const DEFAULT_RESTORE_TIMEOUT_MS = 10 * 60_000;

export interface RestoreRequest {
  vm: string;
  snapshot: string;
  /**
   * For a dry run: report the restore as if stop-and-restore were chosen (CLI --stop). The
   * choice itself is part of the confirmation's answer (ConfirmationAnswer.stopVm), its only route.
   */
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

export interface RestorePlan extends PlanBase<Restore, "restore"> {
  readonly platform: SnapshotPlatform;
  readonly vm: VmState;
  readonly action: RestoreAction;
  /** The safety snapshot taken first, unless the user chose to go without. */
  readonly safety?: Manifest;
  /**
   * The VM's snapshots when the plan was made: a safety snapshot not among them (nor this plan's
   * own) found right before the restore is another restore begun meanwhile.
   */
  readonly snapshotsAtPlan: ReadonlySet<string>;
  readonly wait: boolean;
  readonly timeoutMs: number;
}

export async function planRestore(
  session: Session,
  req: RestoreRequest,
  pins?: Pins,
): Promise<RestorePlan> {
  const vmName = validateName("VM", req.vm);
  const snapName = validateName("snapshot", req.snapshot);
  const ns = session.namespace;
  const platform = await step(() => session.platformForVm(ns, vmName));
  const vm = await step(() => platform.getVm(ns, vmName));
  const snapshot = await step(() => platform.getSnapshot(ns, snapName));

  // Refusals: nothing is written past any of these.
  if (!snapshot)
    throw nameNotFound(
      { kind: "snapshot", namespace: ns, name: snapName },
      `snapshot ${ns}/${snapName} not found`,
      advice`list the VM's snapshots with ${{ do: "list-snapshots", namespace: ns, vm: vmName }}`,
    );
  if (snapshot.vm !== vmName) {
    throw invalidInput(
      `snapshot ${snapName} belongs to VM ${snapshot.vm}, not to ${vmName}`,
      advice`restore it onto its own VM (${{ do: "restore", namespace: ns, vm: snapshot.vm, snapshot: snapName }}), or create a new VM from it (${{ do: "clone", namespace: ns, snapshot: snapName }})`,
    );
  }
  if (snapshot.phase === "Failed") {
    throw operationFailed(
      `snapshot ${snapName} failed and cannot be restored${snapshot.error ? `: ${snapshot.error}` : ""}`,
      advice`pick another snapshot (${{ do: "list-snapshots", namespace: ns, vm: vmName }})`,
    );
  }
  if (!snapshot.readyToUse)
    throw conflict(
      `snapshot ${snapName} is not ready yet (phase ${snapshot.phase})`,
      advice`wait until it is ready (${{ do: "describe", namespace: ns, snapshot: snapName }})`,
    );
  // A restore object the platform will not let another pass (failed ones included), named with
  // how to clear it. Checked before anything is stopped or written.
  const blocking = await step(async () => platform.unfinishedRestore?.(vm));
  if (blocking) {
    const { name, resource } = blocking;
    const why = blocking.reason ? `: ${blocking.reason}` : "";
    const again = { do: "restore" as const, namespace: ns, vm: vmName, snapshot: snapName };
    throw conflict(
      blocking.failed
        ? `restore ${name} of VM ${vmName} failed${why}; it is not complete, and the platform refuses another restore of the VM while it exists`
        : `a restore of VM ${vmName} is already in progress (${name}${why})`,
      blocking.failed
        ? advice`see why it failed, then delete it (in namespace ${ns}: \`kubectl delete ${resource} ${name}\`) and run ${again} again`
        : advice`wait for it to complete (in namespace ${ns}: \`kubectl get ${resource} ${name}\`); if it is stuck, delete it (\`kubectl delete ${resource} ${name}\`) and run ${again} again`,
    );
  }
  // A platform that names unfinished restores has answered this already (one list, not two).
  const inProgress = platform.unfinishedRestore
    ? undefined
    : await step(() => platform.restoreInProgress(vm));
  if (inProgress)
    throw conflict(
      `a restore of VM ${vmName} is already in progress (${inProgress})`,
      "wait for it to complete",
    );
  // Another vmsnap restore of this VM that is still taking its safety snapshot has no restore
  // object yet: its safety snapshot in progress says it is under way.
  const vmSnapshots = await step(() => platform.listSnapshots({ namespace: ns, vm: vmName }));
  const taking = vmSnapshots.find(
    (s) =>
      safetySnapshotTime(s.name, vmName) !== undefined && !s.readyToUse && s.phase !== "Failed",
  );
  if (taking)
    throw conflict(
      `a restore of VM ${vmName} is already in progress (its safety snapshot ${taking.name} is being taken)`,
      "wait for it to complete",
    );

  const now = pins ? new Date(pins.at) : session.now();
  // A restore finished within the same second (e.g. undoing one at once) left a safety snapshot
  // with this second's name: the next one gets a counter, for its restore object too. Planned
  // again with pins (a later call confirming this plan), the names are the ones shown.
  const taken = new Set(vmSnapshots.map((s) => s.name));
  let attempt = pins?.attempt ?? 1;
  if (!pins) while (taken.has(numberedName(safetySnapshotName(vmName, now), attempt))) attempt++;
  const restoreName = numberedName(fitName(vmName, `-restore-${timestamp(now)}`), attempt);
  const action = await step(() => platform.restoreAction(ns, restoreName, vm, snapName));
  const takeSafety = req.safetySnapshot !== false;
  const safetyName = numberedName(safetySnapshotName(vmName, now), attempt);
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

  const notStarted = platform.startNotByRunSetting?.(vm);
  const lost = [
    `VM ${ns}/${vmName} is ${vm.status}; it will be restored to snapshot ${snapName}, taken ${ageText(what.snapshotAgeSeconds)} ago (${snapshot.creationTime ?? "unknown time"}).`,
    `Everything written to its disks since then is lost${takeSafety ? `, except in the safety snapshot ${safetyName} taken first` : phrase(advice` (no safety snapshot: ${option("safetySnapshot", false)})`, session.words)}.`,
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
      ? [
          vm.restoreCyclesPower
            ? `The VM is running, and its run policy (${vm.runStrategy}) does not let vmsnap stop it: the restore itself stops it and starts it again afterwards.`
            : notStarted
              ? `The VM is running: it must be stopped for the restore, and is NOT started again afterwards: ${notStarted}.`
              : "The VM is running: it must be stopped for the restore, and is started again afterwards.",
        ]
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
  // A dry run reports what would happen: the VM would be stopped (and restarted) if chosen.
  const wouldStop = vm.running && req.stop === true;
  // The stop chosen up front is validated too: a platform holding the VM (KubeVirt's lock while a
  // snapshot is taken, a Deckhouse operation not finished) refuses it before anything is written.
  if (wouldStop) await dryRunStop(session, platform, vm);
  const subject = {
    vm: vm.uid,
    snapshot: snapName,
    snapshotCreationTime: snapshot.creationTime,
    running: vm.running,
    specChanges: what.specChanges,
    volumesNotInSnapshot: what.volumesNotInSnapshot,
    notes: what.notes,
    safetySnapshot: safety?.body ?? null,
    action: action.kind === "create" ? action.manifest.body : action.patch,
  };
  return makePlan(
    {
      operation: "restore",
      title: `Restore VM ${ns}/${vmName} to snapshot ${snapName}?`,
      preview: text,
      facts: patchText ? [patchText] : [],
      lost,
      needs: {
        kind: "restore",
        action: "restore",
        expectedName: snapName,
        vmRunning: vm.running,
      },
      subject,
      pins: pinsAt(now, attempt),
      planned: {
        apiVersion: API_VERSION,
        kind: "Restore",
        namespace: ns,
        vm: vmName,
        snapshot: snapName,
        phase: "DryRun",
        safetySnapshot: takeSafety ? safetyName : null,
        stoppedVm: wouldStop,
        restartedVm: wouldStop && !notStarted,
        ...(wouldStop && notStarted ? { notRestarted: notStarted } : {}),
        restoreName,
        snapshotAgeSeconds: what.snapshotAgeSeconds,
        specChanges: what.specChanges,
        volumesNotInSnapshot: what.volumesNotInSnapshot,
        durationMs: null,
      },
    },
    {
      platform,
      vm,
      action,
      ...(safety ? { safety } : {}),
      snapshotsAtPlan: taken,
      wait: req.wait !== false,
      timeoutMs: req.timeoutMs ?? DEFAULT_RESTORE_TIMEOUT_MS,
    },
    [...creates, ...(action.kind === "patch" ? [action] : [])],
  );
}
