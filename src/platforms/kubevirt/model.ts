// Reading KubeVirt objects (kubevirt.io/v1, snapshot.kubevirt.io/v1beta1): narrow accessors over
// the raw JSON, so the rest of the platform never digs into untyped objects.
import type { KubeObject } from "../../kube/resources.js";
import { arr, obj, str, type Json } from "../json.js";

export interface KvVolume {
  name: string;
  /** persistentVolumeClaim, dataVolume, containerDisk, cloudInitNoCloud, … */
  type: string;
  claimName?: string;
  hotpluggable: boolean;
}

export function volumesOf(vm: KubeObject): KvVolume[] {
  const vols = arr(obj(obj(obj(vm.spec).template).spec).volumes);
  return vols.map((v) => {
    const name = str(v.name) ?? "";
    if (v.persistentVolumeClaim) {
      const p = obj(v.persistentVolumeClaim);
      return {
        name,
        type: "persistentVolumeClaim",
        claimName: str(p.claimName),
        hotpluggable: p.hotpluggable === true,
      };
    }
    if (v.dataVolume) {
      const d = obj(v.dataVolume);
      return {
        name,
        type: "dataVolume",
        claimName: str(d.name),
        hotpluggable: d.hotpluggable === true,
      };
    }
    return {
      name,
      type: Object.keys(v).find((k) => k !== "name") ?? "unknown",
      hotpluggable: false,
    };
  });
}

export function runStrategyOf(vm: KubeObject): string {
  const spec = obj(vm.spec);
  if (typeof spec.runStrategy === "string") return spec.runStrategy;
  return spec.running === true ? "Always" : "Halted";
}

export function conditionOf(o: KubeObject | undefined, type: string): Json | undefined {
  return arr(obj(o?.status).conditions).find((c) => c.type === type);
}

export function isTrue(o: KubeObject | undefined, type: string): boolean {
  return conditionOf(o, type)?.status === "True";
}

export function vmStatus(vm: KubeObject): Json {
  return obj(vm.status);
}

/** Hot-plugged volumes that exist only on the running VMI (not persisted in the VM spec). */
export function vmiOnlyHotplugs(
  vm: KubeObject,
  vmi: KubeObject | undefined,
): { name: string; claimName?: string }[] {
  if (!vmi) return [];
  const inSpec = new Set(volumesOf(vm).map((v) => v.name));
  return arr(obj(vmi.status).volumeStatus)
    .filter((s) => s.hotplugVolume && !inSpec.has(str(s.name) ?? ""))
    .map((s) => ({
      name: str(s.name) ?? "",
      claimName: str(obj(s.persistentVolumeClaimInfo).claimName),
    }));
}

export function guestOsOf(vmi: KubeObject | undefined): { id?: string; name?: string } {
  const g = obj(obj(vmi?.status).guestOSInfo);
  return { id: str(g.id), name: str(g.prettyName) ?? str(g.name) };
}

export function isWindows(vmi: KubeObject | undefined): boolean {
  const g = guestOsOf(vmi);
  return g.id === "mswindows" || /windows/i.test(g.name ?? "");
}

export interface KvSnapshotStatus {
  phase: string;
  readyToUse: boolean;
  creationTime: string | null;
  sourceUID?: string;
  contentName: string | null;
  indications: string[];
  included: string[];
  excluded: string[];
  error: string | null;
  conditions: { type: string; status: string; reason?: string; message?: string }[];
}

export function snapshotStatusOf(s: KubeObject): KvSnapshotStatus {
  const st = obj(s.status);
  const volumes = obj(st.snapshotVolumes);
  const source = arr(st.sourceIndications)
    .map((i) => str(i.indication))
    .filter((x): x is string => Boolean(x));
  const indications = arr(st.indications).length ? (st.indications as string[]) : source;
  return {
    phase: str(st.phase) || "Pending",
    readyToUse: st.readyToUse === true,
    creationTime: str(st.creationTime) ?? null,
    sourceUID: str(st.sourceUID),
    contentName: str(st.virtualMachineSnapshotContentName) ?? null,
    indications,
    included: (volumes.includedVolumes as string[] | undefined) ?? [],
    excluded: (volumes.excludedVolumes as string[] | undefined) ?? [],
    error: str(obj(st.error).message) ?? null,
    conditions: arr(st.conditions).map((c) => ({
      type: str(c.type) ?? "",
      status: str(c.status) ?? "",
      ...(str(c.reason) ? { reason: str(c.reason) } : {}),
      ...(str(c.message) ? { message: str(c.message) } : {}),
    })),
  };
}

export function sourceVmOf(s: KubeObject): string {
  return str(obj(obj(s.spec).source).name) ?? "";
}

export { obj, arr, str };
