// clone: validate → snapshot ready, target free → dry run → yes/no → create → wait → report.
import { verifyConfirmation } from "../core/confirmation.js";
import { conflict, notFound, operationFailed } from "../core/errors.js";
import { fitName, timestamp, validateName } from "../core/names.js";
import { API_VERSION, type Clone } from "../core/schema.js";
import { dryRun, planDigest, preview, step, withoutGeneratedName } from "./common.js";
import { restoreDisk } from "./disk.js";
import type { Session } from "./session.js";

export interface CloneRequest {
  snapshot: string;
  target: string;
  /** Disk snapshots only: the new disk's size. */
  size?: string;
  dryRun?: boolean;
  wait?: boolean;
  timeoutMs?: number;
}

export async function cloneFromSnapshot(
  session: Session,
  req: CloneRequest,
): Promise<{ clone: Clone; preview: string }> {
  const snapName = validateName("snapshot", req.snapshot);
  const target = validateName("clone target", req.target);
  const ns = session.namespace;
  const started = Date.now();
  const platform = await step(() => session.platformForSnapshot(ns, snapName));
  const snapshot = await step(() => platform.getSnapshot(ns, snapName));
  if (!snapshot) throw notFound(`snapshot ${ns}/${snapName} not found`);
  // A disk snapshot (Deckhouse) clones into a new disk.
  if (snapshot.disk !== undefined)
    return restoreDisk(session, {
      snapshot: snapName,
      target,
      size: req.size,
      dryRun: req.dryRun,
      wait: req.wait,
      timeoutMs: req.timeoutMs,
    });
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
  if (exists) throw conflict(`VM ${ns}/${target} already exists`, "choose another --to name");
  const cloneName = fitName(target, `-clone-${timestamp(session.now())}`);
  const manifest = await step(() => platform.cloneManifest(ns, cloneName, snapName, target));
  const text = preview(
    [manifest],
    [
      `new VM ${ns}/${target} from snapshot ${snapName} of VM ${snapshot.vm}`,
      ...platform.cloneNotes,
    ],
  );
  await dryRun(session, [manifest]);
  const result = (phase: string): Clone => ({
    apiVersion: API_VERSION,
    kind: "Clone",
    namespace: ns,
    snapshot: snapName,
    target,
    phase,
    cloneName,
    durationMs: phase === "DryRun" ? null : Date.now() - started,
  });
  if (req.dryRun) return { clone: result("DryRun"), preview: text };

  const request = {
    kind: "yes-no" as const,
    action: "clone" as const,
    title: `Create VM ${ns}/${target} from snapshot ${snapName}?`,
    preview: text,
    planDigest: planDigest({ manifest: withoutGeneratedName(manifest.body, true) }),
  };
  verifyConfirmation(request, await session.confirmation.confirm(request));
  session.progress(`cloning ${snapName} into ${target}`);
  await step(() => session.guard.create(manifest.type, manifest.body));
  if (req.wait === false) return { clone: result("Pending"), preview: text };
  const done = await platform
    .waitClone(ns, cloneName, {
      timeoutMs: req.timeoutMs ?? 10 * 60_000,
      onProgress: session.progress,
    })
    .catch((err: unknown) => {
      if ((err as { cloneFailed?: boolean }).cloneFailed)
        throw operationFailed((err as Error).message);
      return step(() => Promise.reject(err));
    });
  return { clone: result(done.phase), preview: text };
}
