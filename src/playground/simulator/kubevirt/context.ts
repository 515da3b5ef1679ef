// Shared state of the KubeVirt simulator: informers and small helpers over real-shaped objects.
import type { KubeClient } from "../../../kube/client.js";
import type { KubeObject } from "../../../kube/resources.js";
import type { Informer } from "../../../kube/watch.js";
import { jsonEqual, type Runtime } from "../runtime.js";
import { IS_DEFAULT_VSC } from "../../../kube/resources.js";
import { asObj, type StorageInformers } from "../storage.js";

export { jsonEqual };

export interface KubeVirtInformers extends StorageInformers {
  vms: Informer;
  vmis: Informer;
  snapshots: Informer;
  contents: Informer;
  restores: Informer;
  clones: Informer;
  storageProfiles: Informer;
}

export interface KvContext {
  rt: Runtime;
  client: KubeClient;
  inf: KubeVirtInformers;
}

export interface VolumeRef {
  /** Volume name in spec.template.spec.volumes. */
  name: string;
  /** PVC claim name, for persistentVolumeClaim and dataVolume volumes. */
  claimName?: string;
  kind: "persistentVolumeClaim" | "dataVolume" | string;
  hotpluggable: boolean;
}

export const SNAPSHOT_FINALIZER = "snapshot.kubevirt.io/vmsnapshot-protection";
export const CONTENT_FINALIZER = "snapshot.kubevirt.io/vmsnapshotcontent-protection";
export const SOURCE_FINALIZER = "snapshot.kubevirt.io/snapshot-source-protection";
export const RESTORE_FINALIZER = "snapshot.kubevirt.io/vmrestore-protection";

/** The VM's volumes as snapshots see them (from the VM spec, persisted hot-plugs included). */
export function vmVolumes(vm: KubeObject): VolumeRef[] {
  const volumes = (asObj(vm).spec.template?.spec?.volumes ?? []) as Record<
    string,
    Record<string, unknown>
  >[];
  return volumes.map((v) => {
    const name = v.name as unknown as string;
    if (v.persistentVolumeClaim) {
      return {
        name,
        kind: "persistentVolumeClaim",
        claimName: v.persistentVolumeClaim.claimName as string,
        hotpluggable: v.persistentVolumeClaim.hotpluggable === true,
      };
    }
    if (v.dataVolume) {
      return {
        name,
        kind: "dataVolume",
        claimName: v.dataVolume.name as string,
        hotpluggable: v.dataVolume.hotpluggable === true,
      };
    }
    const kind = Object.keys(v).find((k) => k !== "name") ?? "unknown";
    return { name, kind, hotpluggable: false };
  });
}

export function runStrategy(vm: KubeObject): string {
  const spec = asObj(vm).spec;
  if (typeof spec.runStrategy === "string") return spec.runStrategy;
  if (spec.running === true) return "Always";
  return "Halted";
}

/** Whether the VM controller wants a VMI for this VM. */
export function wantsRunning(vm: KubeObject, hasVmi: boolean): boolean {
  switch (runStrategy(vm)) {
    case "Always":
      return true;
    case "RerunOnFailure":
      // Started once; a VM that is stopped (e.g. shut down from the guest) stays stopped.
      return hasVmi || !asObj(vm).status?.printableStatus;
    case "Once":
      return hasVmi || !asObj(vm).status?.created;
    case "Manual":
      return hasVmi;
    default:
      return false;
  }
}

export type SnapshotClassResult = { className: string } | { error: string };

/**
 * KubeVirt's choice of VolumeSnapshotClass for a claim, after kubevirt/kubevirt v1.9.0
 * pkg/storage/snapshot/snapshot.go (getSnapshotPVC, getVolumeSnapshotClassName): the claim must be
 * Bound and name a StorageClass itself (no default-class fallback), and the class must exist; a
 * CDI StorageProfile's status.snapshotClass is used if that VolumeSnapshotClass exists, and
 * nothing else is tried when it does not; otherwise the classes whose driver is the provisioner:
 * one, or among several the first carrying the default annotation (its key; any value).
 */
export function snapshotClassFor(
  ctx: KvContext,
  namespace: string,
  vol: VolumeRef,
): SnapshotClassResult {
  if (!vol.claimName)
    return { error: `Snapshot is not supported for this volumeSource type [${vol.name}]` };
  const pvc = ctx.inf.pvcs.get(vol.claimName, namespace);
  if (!pvc) return { error: `PersistentVolumeClaim "${vol.claimName}" not found` };
  const scName = asObj(pvc).spec.storageClassName as string | undefined;
  if (!scName) return { error: `No storage class for PVC ${namespace}/${vol.claimName}` };
  const sc = ctx.inf.storageClasses.get(scName) as
    (KubeObject & { provisioner?: string }) | undefined;
  const notConfigured = {
    error: `No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [${scName}] [${vol.name}]`,
  };
  if (!sc) return notConfigured;
  const profile = ctx.inf.storageProfiles.get(sc.metadata.name);
  const profileClass = asObj(profile ?? { metadata: { name: "" } }).status?.snapshotClass as
    string | undefined;
  if (profileClass)
    return ctx.inf.volumeSnapshotClasses.get(profileClass)
      ? { className: profileClass }
      : notConfigured;
  const candidates = ctx.inf.volumeSnapshotClasses
    .list()
    .filter((c) => (c as { driver?: string }).driver === sc.provisioner);
  if (candidates.length === 0) return notConfigured;
  if (candidates.length === 1) return { className: candidates[0]!.metadata.name };
  const chosen = candidates.find((c) => IS_DEFAULT_VSC in (c.metadata.annotations ?? {}));
  if (!chosen)
    return { error: `${candidates.length} matching VolumeSnapshotClasses for ${scName}` };
  return { className: chosen.metadata.name };
}

export function condition(
  type: string,
  status: boolean,
  reason = "",
  message = "",
): Record<string, unknown> {
  // No null fields: the API server prunes nulls, and status comparisons must round-trip.
  return {
    type,
    status: status ? "True" : "False",
    reason,
    message,
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

/** Keeps lastTransitionTime of conditions whose status did not change, so patches stay idempotent. */
export function mergeConditions(
  old: unknown,
  next: Record<string, unknown>[],
): Record<string, unknown>[] {
  const prev = (Array.isArray(old) ? old : []) as Record<string, unknown>[];
  return next.map((c) => {
    const p = prev.find((x) => x.type === c.type);
    return p && p.status === c.status ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
  });
}

/** Deep equality for JSON values (status comparisons before patching). */
