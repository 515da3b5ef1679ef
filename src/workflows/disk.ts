// Disk snapshots (Deckhouse VirtualDiskSnapshot) and disk restore (a new VirtualDisk from one):
// validate → checks → preview → dry run → yes/no → create → wait → report, as for VMs.
import { verifyConfirmation } from "../core/confirmation.js";
import {
  ErrorCode,
  VmsnapError,
  conflict,
  invalidInput,
  notFound,
  operationFailed,
} from "../core/errors.js";
import { defaultSnapshotName, validateName } from "../core/names.js";
import { quantityBytes } from "../core/quantity.js";
import { API_VERSION } from "../core/api-version.js";
import type { Clone, Snapshot } from "../core/schema.js";
import type { DiskSnapshotSupport, SnapshotPlatform } from "../platforms/types.js";
import { plannedSnapshot, waitForSnapshotWith } from "./create.js";
import { dryRun, planDigest, preview, step, withoutGeneratedName } from "./common.js";
import type { Session } from "./session.js";

export interface DiskSnapshotRequest {
  disk: string;
  name?: string;
  consistency?: "required" | "best-effort";
  dryRun?: boolean;
  wait?: boolean;
  timeoutMs?: number;
}

export interface DiskRestoreRequest {
  snapshot: string;
  /** The new disk's name. */
  target: string;
  /** Size of the new disk (default: the snapshotted disk's size). */
  size?: string;
  dryRun?: boolean;
  wait?: boolean;
  timeoutMs?: number;
}

function diskPlatform(session: Session): SnapshotPlatform & { disks: DiskSnapshotSupport } {
  const p = session.platforms.find((x) => x.disks);
  if (!p?.disks)
    throw invalidInput(
      `disk snapshots are a Deckhouse Virtualization feature; this cluster serves ${session.platforms.map((x) => x.name).join(", ")}`,
      "snapshot the whole VM with `vmsnap create VM`",
    );
  return p as SnapshotPlatform & { disks: DiskSnapshotSupport };
}

export async function createDiskSnapshot(
  session: Session,
  req: DiskSnapshotRequest,
): Promise<{ snapshot: Snapshot; preview: string }> {
  const diskName = validateName("disk", req.disk);
  const name = validateName("snapshot", req.name ?? defaultSnapshotName(diskName, session.now()));
  const ns = session.namespace;
  const platform = diskPlatform(session);
  const disk = await step(() => platform.disks.getDisk(ns, diskName));
  if (!disk)
    throw notFound(
      `VirtualDisk ${ns}/${diskName} not found`,
      "list disks with `kubectl get virtualdisks.virtualization.deckhouse.io`",
    );
  const vm = await step(() => platform.disks.vmOfDisk(ns, diskName));
  const check = platform.disks.diskProblems(disk, vm, { consistency: req.consistency });
  if (check.problems.length)
    throw new VmsnapError(
      ErrorCode.PreflightBlocked,
      `disk ${ns}/${diskName} cannot be snapshotted safely:\n${check.problems.map((p) => `  - ${p.message}${p.fix ? `\n    fix: ${p.fix}` : ""}`).join("\n")}`,
    );
  const manifest = await step(() =>
    platform.disks.snapshotManifest(ns, name, diskName, { consistency: req.consistency }),
  );
  const vmName = vm?.metadata.name ?? "";
  const facts = [
    `disk ${ns}/${diskName}${vmName ? ` (attached to VM ${vmName})` : " (not attached)"}; expected consistency: ${check.consistency}`,
    ...check.warnings.map((w) => `warning: ${w.message}`),
  ];
  const text = preview([manifest], facts);
  await dryRun(session, [manifest]);
  const planned = (phase: string): Snapshot => ({
    ...plannedSnapshot(manifest, vmName, platform.name, phase),
    disk: diskName,
  });
  if (req.dryRun) return { snapshot: planned("DryRun"), preview: text };
  const request = {
    kind: "yes-no" as const,
    action: "create" as const,
    title: `Create snapshot ${name} of disk ${ns}/${diskName}?`,
    preview: text,
    planDigest: planDigest({
      manifest: withoutGeneratedName(manifest.body, req.name === undefined),
      facts,
    }),
  };
  verifyConfirmation(request, await session.confirmation.confirm(request));
  session.progress(`creating disk snapshot ${name}`);
  await step(() => session.guard.create(manifest.type, manifest.body));
  if (req.wait === false) return { snapshot: planned("Pending"), preview: text };
  const snapshot = await waitForSnapshotWith(
    session,
    (o) => platform.disks.waitSnapshot(ns, name, o),
    () => platform.getSnapshot(ns, name),
    ns,
    name,
    req.timeoutMs ?? 5 * 60_000,
  );
  return { snapshot, preview: text };
}

export async function restoreDisk(
  session: Session,
  req: DiskRestoreRequest,
): Promise<{ clone: Clone; preview: string }> {
  const snapName = validateName("snapshot", req.snapshot);
  const target = validateName("disk", req.target);
  const ns = session.namespace;
  const started = Date.now();
  const platform = diskPlatform(session);
  const snapshot = await step(() => platform.getSnapshot(ns, snapName));
  if (!snapshot) throw notFound(`snapshot ${ns}/${snapName} not found`);
  if (snapshot.disk === undefined)
    throw invalidInput(
      `${snapName} is a VM snapshot, not a disk snapshot`,
      `restore the VM with \`vmsnap restore ${snapshot.vm} ${snapName}\`, or create a new VM with \`vmsnap clone ${snapName} --to NEW_VM\``,
    );
  if (snapshot.phase === "Failed")
    throw operationFailed(`snapshot ${snapName} failed and cannot be restored`);
  if (!snapshot.readyToUse)
    throw conflict(`snapshot ${snapName} is not ready yet (phase ${snapshot.phase})`);
  if (await step(() => platform.disks.getDisk(ns, target)))
    throw conflict(
      `VirtualDisk ${ns}/${target} already exists`,
      "a disk is restored as a new disk: choose another --to name",
    );
  const source = await step(() => platform.disks.getDisk(ns, snapshot.disk!));
  const sourceSize =
    (source?.status?.capacity as string | undefined) ??
    ((source?.spec?.persistentVolumeClaim as { size?: string } | undefined)?.size || undefined);
  const size = req.size ?? sourceSize;
  if (!size)
    throw invalidInput(
      `the size of disk ${snapshot.disk} is unknown (the disk no longer exists)`,
      "give the new disk's size with --size (at least the original size)",
    );
  const wanted = quantityBytes(size);
  if (wanted === null) throw invalidInput(`invalid --size ${JSON.stringify(size)}`, "e.g. 10Gi");
  const original = quantityBytes(sourceSize);
  if (original !== null && wanted < original)
    throw invalidInput(
      `--size ${size} is smaller than the snapshotted disk (${sourceSize})`,
      "a disk restored from a snapshot must be at least as large as the original",
    );
  const manifest = platform.disks.restoreManifest(ns, target, snapName, source, size);
  const text = preview(
    [manifest],
    [
      `new VirtualDisk ${ns}/${target} with the data of snapshot ${snapName} (disk ${snapshot.disk}, taken ${snapshot.creationTime ?? "unknown"}); the original disk is not changed`,
    ],
  );
  await dryRun(session, [manifest]);
  const result = (phase: string): Clone => ({
    apiVersion: API_VERSION,
    kind: "Clone",
    namespace: ns,
    snapshot: snapName,
    target,
    targetKind: "VirtualDisk",
    phase,
    cloneName: target,
    durationMs: phase === "DryRun" ? null : Date.now() - started,
  });
  if (req.dryRun) return { clone: result("DryRun"), preview: text };
  const request = {
    kind: "yes-no" as const,
    action: "clone" as const,
    title: `Create disk ${ns}/${target} from snapshot ${snapName}?`,
    preview: text,
    planDigest: planDigest({ manifest: manifest.body }),
  };
  verifyConfirmation(request, await session.confirmation.confirm(request));
  session.progress(`restoring ${snapName} into new disk ${target}`);
  await step(() => session.guard.create(manifest.type, manifest.body));
  if (req.wait === false) return { clone: result("Pending"), preview: text };
  const phase = await step(() =>
    platform.disks.waitDisk(ns, target, {
      timeoutMs: req.timeoutMs ?? 10 * 60_000,
      onProgress: session.progress,
    }),
  );
  if (phase === "Failed")
    throw operationFailed(
      `disk ${target} failed to restore from ${snapName}`,
      "see its conditions: kubectl describe virtualdisks.virtualization.deckhouse.io",
    );
  return { clone: result(phase), preview: text };
}
