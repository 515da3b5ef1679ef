// Disk snapshots (Deckhouse VirtualDiskSnapshot) and disk restore (a new VirtualDisk from one),
// planned and executed as for VMs: validate → checks → preview → dry run (the plan); create →
// wait → report (execute, after the human's yes).
import { advice, option } from "../core/advice.js";
import {
  ErrorCode,
  VmsnapError,
  conflict,
  invalidInput,
  nameNotFound,
  notFound,
  operationFailed,
} from "../core/errors.js";
import { defaultSnapshotName, validateName } from "../core/names.js";
import { makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import { quantityBytes } from "../core/quantity.js";
import { API_VERSION } from "../core/api-version.js";
import type { Clone, Snapshot } from "../core/schema.js";
import type { DiskSnapshotSupport, Manifest, SnapshotPlatform } from "../platforms/types.js";
import { plannedSnapshot } from "./create.js";
import { createAndWait, dryRun, preview, step } from "./common.js";
import type { Session } from "./session.js";
import { DEFAULT_SNAPSHOT_TIMEOUT_MS, waitForSnapshotWith } from "./wait.js";

export const DEFAULT_DISK_TIMEOUT_MS = 10 * 60_000;

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

type DiskPlatform = SnapshotPlatform & { disks: DiskSnapshotSupport };

export interface DiskSnapshotPlan extends PlanBase<Snapshot, "create-disk"> {
  readonly platform: DiskPlatform;
  readonly manifest: Manifest;
  readonly wait: boolean;
  readonly timeoutMs: number;
}

export interface DiskRestorePlan extends PlanBase<Clone, "restore-disk"> {
  readonly platform: DiskPlatform;
  readonly manifest: Manifest;
  readonly wait: boolean;
  readonly timeoutMs: number;
}

function diskPlatform(session: Session): DiskPlatform {
  const p = session.platforms.find((x) => x.disks);
  if (!p?.disks)
    throw invalidInput(
      `disk snapshots are a Deckhouse Virtualization feature; this cluster serves ${session.platforms.map((x) => x.name).join(", ")}`,
      advice`snapshot the whole VM: ${{ do: "create", namespace: session.namespace }}`,
    );
  return p as DiskPlatform;
}

export async function planDiskSnapshot(
  session: Session,
  req: DiskSnapshotRequest,
  pins?: Pins,
): Promise<DiskSnapshotPlan> {
  const diskName = validateName("disk", req.disk);
  const at = pins ? new Date(pins.at) : session.now();
  const name = validateName("snapshot", req.name ?? defaultSnapshotName(diskName, at));
  const ns = session.namespace;
  const platform = diskPlatform(session);
  const disk = await step(() => platform.disks.getDisk(ns, diskName));
  if (!disk)
    throw notFound(
      `VirtualDisk ${ns}/${diskName} not found`,
      `list the disks with \`kubectl get -n ${ns} ${platform.disks.diskType.plural}.${platform.disks.diskType.group}\``,
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
  return makePlan(
    {
      operation: "create-disk",
      title: `Create snapshot ${name} of disk ${ns}/${diskName}?`,
      preview: text,
      facts,
      needs: { kind: "yes-no", action: "create" },
      subject: { manifest: manifest.body, facts },
      pins: pinsAt(at),
      planned: { ...plannedSnapshot(manifest, vmName, platform.name, "DryRun"), disk: diskName },
    },
    {
      platform,
      manifest,
      wait: req.wait !== false,
      timeoutMs: req.timeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
    },
    [manifest],
  );
}

export async function executeDiskSnapshot(
  session: Session,
  plan: DiskSnapshotPlan,
  o: { signal?: AbortSignal } = {},
): Promise<Snapshot> {
  const { platform, manifest } = plan;
  const { name, namespace: ns = session.namespace } = manifest.body.metadata;
  session.progress(`creating disk snapshot ${name}`);
  await step(() => session.guard.create(manifest.type, manifest.body));
  if (!plan.wait) return { ...plan.planned, phase: "Pending" };
  return waitForSnapshotWith(
    session,
    {
      wait: (options) => platform.disks.waitSnapshot(ns, name, options),
      read: () => platform.getSnapshot(ns, name),
      failedByDeadline: () => false,
    },
    ns,
    name,
    plan.timeoutMs,
    o.signal,
  );
}

export async function planDiskRestore(
  session: Session,
  req: DiskRestoreRequest,
  pins?: Pins,
): Promise<DiskRestorePlan> {
  const snapName = validateName("snapshot", req.snapshot);
  const target = validateName("disk", req.target);
  const ns = session.namespace;
  const platform = diskPlatform(session);
  const snapshot = await step(() => platform.getSnapshot(ns, snapName));
  if (!snapshot)
    throw nameNotFound(
      { kind: "snapshot", namespace: ns, name: snapName },
      `snapshot ${ns}/${snapName} not found`,
    );
  if (snapshot.disk === undefined)
    throw invalidInput(
      `${snapName} is a VM snapshot, not a disk snapshot`,
      advice`restore the VM with ${{ do: "restore", namespace: ns, vm: snapshot.vm, snapshot: snapName }}, or create a new VM with ${{ do: "clone", namespace: ns, snapshot: snapName }}`,
    );
  if (snapshot.phase === "Failed")
    throw operationFailed(`snapshot ${snapName} failed and cannot be restored`);
  if (!snapshot.readyToUse)
    throw conflict(`snapshot ${snapName} is not ready yet (phase ${snapshot.phase})`);
  if (await step(() => platform.disks.getDisk(ns, target)))
    throw conflict(
      `VirtualDisk ${ns}/${target} already exists`,
      advice`a disk is restored as a new disk: choose another name (${option("target")})`,
    );
  const source = await step(() => platform.disks.getDisk(ns, snapshot.disk!));
  const sourceSize =
    (source?.status?.capacity as string | undefined) ??
    ((source?.spec?.persistentVolumeClaim as { size?: string } | undefined)?.size || undefined);
  const size = req.size ?? sourceSize;
  if (!size)
    throw invalidInput(
      `the size of disk ${snapshot.disk} is unknown (the disk no longer exists)`,
      advice`give the new disk's size (${option("size")}), at least the original size`,
    );
  const wanted = quantityBytes(size);
  if (wanted === null) throw invalidInput(`invalid disk size ${JSON.stringify(size)}`, "e.g. 10Gi");
  const original = quantityBytes(sourceSize);
  if (original !== null && wanted < original)
    throw invalidInput(
      `the new disk's size ${size} is smaller than the snapshotted disk (${sourceSize})`,
      "a disk restored from a snapshot must be at least as large as the original",
    );
  const manifest = platform.disks.restoreManifest(ns, target, snapName, source, size);
  const facts = [
    `new VirtualDisk ${ns}/${target} with the data of snapshot ${snapName} (disk ${snapshot.disk}, taken ${snapshot.creationTime ?? "unknown"}); the original disk is not changed`,
  ];
  const text = preview([manifest], facts);
  await dryRun(session, [manifest]);
  return makePlan(
    {
      operation: "restore-disk",
      title: `Create disk ${ns}/${target} from snapshot ${snapName}?`,
      preview: text,
      facts,
      needs: { kind: "yes-no", action: "clone" },
      subject: { manifest: manifest.body },
      pins: pinsAt(pins ? new Date(pins.at) : session.now()),
      planned: {
        apiVersion: API_VERSION,
        kind: "Clone",
        namespace: ns,
        snapshot: snapName,
        target,
        targetKind: "VirtualDisk",
        phase: "DryRun",
        cloneName: target,
        durationMs: null,
      },
    },
    {
      platform,
      manifest,
      wait: req.wait !== false,
      timeoutMs: req.timeoutMs ?? DEFAULT_DISK_TIMEOUT_MS,
    },
    [manifest],
  );
}

export async function executeDiskRestore(
  session: Session,
  plan: DiskRestorePlan,
  o: { signal?: AbortSignal } = {},
): Promise<Clone> {
  const { platform } = plan;
  const { namespace, snapshot, target } = plan.planned;
  const result = await createAndWait(session, {
    planned: plan.planned,
    manifest: plan.manifest,
    progress: `restoring ${snapshot} into new disk ${target}`,
    wait: plan.wait
      ? () =>
          platform.disks.waitDisk(namespace, target, {
            timeoutMs: plan.timeoutMs,
            onProgress: session.progress,
            signal: o.signal,
          })
      : undefined,
  });
  if (result.phase === "Failed")
    throw operationFailed(
      `disk ${target} failed to restore from ${snapshot}`,
      `see its conditions: \`kubectl describe -n ${namespace} ${platform.disks.diskType.plural}.${platform.disks.diskType.group} ${target}\``,
    );
  return result;
}
