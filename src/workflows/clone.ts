// clone. Plan: validate → snapshot ready, target free → manifest → dry run. Execute, after the
// human's yes: create → wait → report. A disk snapshot (Deckhouse) clones into a new disk.
import { advice, option } from "../core/advice.js";
import { conflict, nameNotFound, operationFailed } from "../core/errors.js";
import { fitName, timestamp, validateName } from "../core/names.js";
import { makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import { API_VERSION } from "../core/api-version.js";
import type { Clone } from "../core/schema.js";
import type { Manifest, SnapshotPlatform } from "../platforms/types.js";
import { createAndWait, dryRun, preview, step } from "./common.js";
import { planDiskRestore, type DiskRestorePlan } from "./disk.js";
import type { Session } from "./session.js";

export const DEFAULT_CLONE_TIMEOUT_MS = 10 * 60_000;

export interface CloneRequest {
  snapshot: string;
  target: string;
  /** Disk snapshots only: the new disk's size. */
  size?: string;
  dryRun?: boolean;
  wait?: boolean;
  timeoutMs?: number;
}

export interface ClonePlan extends PlanBase<Clone, "clone"> {
  readonly platform: SnapshotPlatform;
  readonly manifest: Manifest;
  readonly wait: boolean;
  readonly timeoutMs: number;
}

export async function planClone(
  session: Session,
  req: CloneRequest,
  pins?: Pins,
): Promise<ClonePlan | DiskRestorePlan> {
  const snapName = validateName("snapshot", req.snapshot);
  const target = validateName("clone target", req.target);
  const ns = session.namespace;
  const platform = await step(() => session.platformForSnapshot(ns, snapName));
  const snapshot = await step(() => platform.getSnapshot(ns, snapName));
  if (!snapshot)
    throw nameNotFound(
      { kind: "snapshot", namespace: ns, name: snapName },
      `snapshot ${ns}/${snapName} not found`,
    );
  // A disk snapshot (Deckhouse) clones into a new disk.
  if (snapshot.disk !== undefined)
    return planDiskRestore(
      session,
      {
        snapshot: snapName,
        target,
        size: req.size,
        wait: req.wait,
        timeoutMs: req.timeoutMs,
      },
      pins,
    );
  if (snapshot.phase === "Failed")
    throw operationFailed(`snapshot ${snapName} failed and cannot be cloned`);
  if (!snapshot.readyToUse)
    throw conflict(`snapshot ${snapName} is not ready yet (phase ${snapshot.phase})`);
  const exists = await step(() =>
    platform.getVm(ns, target).then(
      () => true,
      (e: { code?: string }) => (e.code === "NotFound" ? false : Promise.reject(e)),
    ),
  );
  if (exists)
    throw conflict(
      `VM ${ns}/${target} already exists`,
      advice`choose another name for the new VM (${option("target")})`,
    );
  const at = pins ? new Date(pins.at) : session.now();
  const cloneName = fitName(target, `-clone-${timestamp(at)}`);
  const manifest = await step(() => platform.cloneManifest(ns, cloneName, snapName, target));
  const facts = [
    `new VM ${ns}/${target} from snapshot ${snapName} of VM ${snapshot.vm}`,
    ...platform.cloneNotes,
  ];
  const text = preview([manifest], facts);
  await dryRun(session, [manifest]);
  return makePlan(
    {
      operation: "clone",
      title: `Create VM ${ns}/${target} from snapshot ${snapName}?`,
      preview: text,
      facts,
      needs: { kind: "yes-no", action: "clone" },
      subject: { manifest: manifest.body },
      pins: pinsAt(at),
      planned: {
        apiVersion: API_VERSION,
        kind: "Clone",
        namespace: ns,
        snapshot: snapName,
        target,
        phase: "DryRun",
        cloneName,
        durationMs: null,
      },
    },
    {
      platform,
      manifest,
      wait: req.wait !== false,
      timeoutMs: req.timeoutMs ?? DEFAULT_CLONE_TIMEOUT_MS,
    },
    [manifest],
  );
}

export function executeClone(
  session: Session,
  plan: ClonePlan,
  o: { signal?: AbortSignal } = {},
): Promise<Clone> {
  const { namespace, snapshot, target, cloneName } = plan.planned;
  return createAndWait(session, {
    planned: plan.planned,
    manifest: plan.manifest,
    progress: `cloning ${snapshot} into ${target}`,
    wait: plan.wait
      ? async () =>
          (
            await plan.platform.waitClone(namespace, cloneName, {
              timeoutMs: plan.timeoutMs,
              onProgress: session.progress,
              signal: o.signal,
            })
          ).phase
      : undefined,
  });
}
