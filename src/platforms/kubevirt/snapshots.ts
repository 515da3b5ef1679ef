// KubeVirt VirtualMachineSnapshot → the neutral Snapshot, with a diagnosis of failures and stalls.
import { consistencyFrom } from "../../core/consistency.js";
import { API_VERSION } from "../../core/api-version.js";
import type { Snapshot } from "../../core/schema.js";
import type { KubeObject } from "../../kube/resources.js";
import { arr, obj, snapshotStatusOf, sourceVmOf, str, volumesOf } from "./model.js";

export interface SnapshotDetails {
  content?: KubeObject;
  volumeSnapshots?: KubeObject[];
}

export function toSnapshot(s: KubeObject, details: SnapshotDetails = {}): Snapshot {
  const st = snapshotStatusOf(s);
  const done = st.phase === "Succeeded";
  const report = consistencyFrom(st.indications);
  return {
    apiVersion: API_VERSION,
    kind: "Snapshot",
    name: s.metadata.name,
    namespace: s.metadata.namespace ?? "",
    platform: "kubevirt",
    vm: sourceVmOf(s),
    phase: st.phase,
    readyToUse: st.readyToUse,
    createdAt: s.metadata.creationTimestamp ?? null,
    creationTime: st.creationTime,
    // Indications are final only once the data is cut.
    consistency: done ? report.consistency : "unknown",
    indications: st.indications,
    notes: report.notes,
    includedVolumes: st.included,
    excludedVolumes: st.excluded,
    contentName: st.contentName,
    error: st.error,
    conditions: st.conditions,
    diagnosis: diagnose(s, details),
  };
}

/** Known causes (reference §7) matched against what the snapshot, content and volume snapshots say. */
export function diagnose(s: KubeObject, details: SnapshotDetails = {}): string[] {
  const st = snapshotStatusOf(s);
  const out: string[] = [];
  const progressing = st.conditions.find((c) => c.type === "Progressing")?.reason ?? "";
  const failure =
    st.conditions.find((c) => c.type === "Failure" && c.status === "True")?.reason ?? "";
  const errorText = [
    st.error ?? "",
    str(obj(obj(details.content?.status).error).message) ?? "",
  ].join(" ");

  if (/deadline exceeded/i.test(failure)) {
    const deadline = str(obj(s.spec).failureDeadline) ?? "5m (default)";
    out.push(
      `the snapshot did not complete within its failureDeadline (${deadline}) and was marked Failed`,
    );
  }
  if (/freez/i.test(errorText)) {
    out.push(
      "the guest agent could not freeze the filesystems (kubevirt#9998): check qemu-guest-agent in the guest, or stop the VM and take an offline snapshot",
    );
  }
  for (const vs of details.volumeSnapshots ?? []) {
    const e = str(obj(obj(vs.status).error).message);
    if (e) out.push(`volume snapshot ${vs.metadata.name} failed in the storage driver: ${e}`);
    else if (
      obj(vs.status).readyToUse !== true &&
      !obj(vs.status).creationTime &&
      st.phase !== "Succeeded"
    ) {
      out.push(
        `volume snapshot ${vs.metadata.name} has not been cut yet: check the CSI driver and its VolumeSnapshotClass`,
      );
    }
  }
  const vsError = /VolumeSnapshot (\S+) error: (.*)/.exec(errorText);
  if (vsError && !out.some((l) => l.includes(vsError[1]!))) {
    out.push(`volume snapshot ${vsError[1]} failed in the storage driver: ${vsError[2]!.trim()}`);
  }
  if (
    /deadline/i.test(failure) &&
    !errorText.trim() &&
    (details.volumeSnapshots ?? []).length === 0
  ) {
    out.push(
      "no error was reported: the volume snapshots never became ready (a stuck CSI driver or snapshot controller), or the VM could not be locked",
    );
  }
  const notLocked = /^Source not locked: (.*)$/.exec(progressing);
  if (notLocked) {
    const why = notLocked[1] ?? "";
    out.push(`KubeVirt cannot lock the VM: ${why}`);
    if (/RerunOnFailure/.test(why))
      out.push(
        "a stopped VM with runStrategy RerunOnFailure cannot be snapshotted (kubevirt#12515): set runStrategy Halted while it is stopped",
      );
  }
  if (progressing === "Source does not exist") out.push(`the VM ${sourceVmOf(s)} does not exist`);
  // Only excluded disks with data matter (cloud-init and containerDisk volumes are never in snapshots).
  const storedVm = obj(obj(obj(details.content?.spec).source).virtualMachine);
  const dataDisks = new Set(
    volumesOf({ metadata: { name: "" }, spec: obj(storedVm.spec) })
      .filter((v) => v.claimName)
      .map((v) => v.name),
  );
  const lostData = st.excluded.filter((v) => dataDisks.has(v));
  if (lostData.length && st.phase === "Succeeded") {
    out.push(
      `disks ${lostData.join(", ")} are not in this snapshot: restoring it will not bring their data back (kubevirt#10071)`,
    );
  }
  if (st.indications.includes("QuiesceTimeout"))
    out.push(
      "the Windows VSS freeze timed out (10 s limit): the snapshot is crash-consistent at best",
    );
  if (st.phase === "InProgress" && st.error && !/freez/i.test(st.error))
    out.push(`in error state: ${st.error}`);
  return out;
}

export function volumeSnapshotNames(content: KubeObject | undefined): string[] {
  return arr(obj(content?.spec).volumeBackups)
    .map((b) => str(b.volumeSnapshotName))
    .filter((n): n is string => Boolean(n));
}
