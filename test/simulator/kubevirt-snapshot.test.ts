// The simulated KubeVirt snapshot controller against the real API server.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, Csi, KubeVirt } from "../../src/kube/resources.js";
import {
  STORAGE,
  ensureSimStorage,
  pvcManifest,
  vmManifest,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { cond, waitFor, waitGone } from "../helpers/kube.js";

let c: KubeClient;
let ns: string;

function snapshotManifest(name: string, vm: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm }, ...extra },
  };
}

async function vmWithDisk(
  name: string,
  opts: {
    run?: boolean;
    annotations?: Record<string, string>;
    data?: string;
    sc?: string;
    containerDisk?: boolean;
  } = {},
) {
  await c.create(
    Core.pvcs,
    pvcManifest({
      name: `${name}-root`,
      namespace: ns,
      data: opts.data ?? `${name}-v1`,
      storageClassName: opts.sc,
    }),
  );
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy: opts.run === false ? "Halted" : "Always",
      annotations: opts.annotations,
      containerDisk: opts.containerDisk,
      disks: [{ name: "rootdisk", claimName: `${name}-root` }],
    }),
  );
  return waitFor(
    c,
    KubeVirt.vms,
    name,
    ns,
    (vm) => vm.status?.printableStatus === (opts.run === false ? "Stopped" : "Running"),
  );
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "sim-snap");
});

describe("KubeVirt snapshot controller", () => {
  it("snapshots a running VM with a guest agent: Succeeded, ready, GuestAgent indication", async () => {
    const vm = await vmWithDisk("web", { annotations: { [SIM.guestAgent]: "true" } });
    await c.create(KubeVirt.snapshots, snapshotManifest("web-snap", "web"));
    const snap = await waitFor(
      c,
      KubeVirt.snapshots,
      "web-snap",
      ns,
      (s) => s.status?.readyToUse === true,
    );
    assert.equal(snap.status.phase, "Succeeded");
    assert.deepEqual(snap.status.indications, ["Online", "GuestAgent"]);
    assert.equal(snap.status.sourceUID, vm.metadata.uid);
    assert.equal(
      snap.status.virtualMachineSnapshotContentName,
      `vmsnapshot-content-${snap.metadata.uid}`,
    );
    assert.deepEqual(snap.status.snapshotVolumes, {
      includedVolumes: ["rootdisk"],
      excludedVolumes: [],
    });
    assert.ok(snap.metadata.finalizers?.includes("snapshot.kubevirt.io/vmsnapshot-protection"));
    assert.equal(cond(snap, "Ready")?.status, "True");
    assert.equal(cond(snap, "Progressing")?.reason, "Operation complete");

    const content = await c.get(
      KubeVirt.snapshotContents,
      `vmsnapshot-content-${snap.metadata.uid}`,
      ns,
    );
    const contentSpec = content.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(contentSpec.virtualMachineSnapshotName, "web-snap");
    assert.equal(
      contentSpec.volumeBackups[0].volumeSnapshotName,
      `vmsnapshot-${snap.metadata.uid}-volume-rootdisk`,
    );
    assert.ok(
      content.metadata.finalizers?.includes("snapshot.kubevirt.io/vmsnapshotcontent-protection"),
    );

    const vs = await c.get(
      Csi.volumeSnapshots,
      `vmsnapshot-${snap.metadata.uid}-volume-rootdisk`,
      ns,
    );
    assert.equal(vs.metadata.labels?.["snapshot.kubevirt.io/source-vm-name"], "web");
    assert.equal(
      vs.metadata.annotations?.[SIM.data],
      "web-v1",
      "the volume snapshot captured the disk's data",
    );
    assert.equal(
      (vs.spec as { volumeSnapshotClassName?: string }).volumeSnapshotClassName,
      "sim-csi-snapclass",
    );

    // The lock is released once the snapshot is done.
    const after = await waitFor(c, KubeVirt.vms, "web", ns, (v) => !v.status?.snapshotInProgress);
    assert.ok(
      !after.metadata.finalizers?.includes("snapshot.kubevirt.io/snapshot-source-protection"),
    );
  });

  it("a running VM without agent is crash-consistent (NoGuestAgent); a stopped VM has no indications", async () => {
    await vmWithDisk("noagent");
    await vmWithDisk("stopped", { run: false });
    await c.create(KubeVirt.snapshots, snapshotManifest("noagent-snap", "noagent"));
    await c.create(KubeVirt.snapshots, snapshotManifest("stopped-snap", "stopped"));
    const a = await waitFor(
      c,
      KubeVirt.snapshots,
      "noagent-snap",
      ns,
      (s) => s.status?.readyToUse === true,
    );
    assert.deepEqual(a.status.indications, ["Online", "NoGuestAgent"]);
    const b = await waitFor(
      c,
      KubeVirt.snapshots,
      "stopped-snap",
      ns,
      (s) => s.status?.readyToUse === true,
    );
    assert.deepEqual(b.status.indications ?? [], []);
  });

  it("excludes a containerDisk and marks the snapshot partial", async () => {
    await vmWithDisk("mixed", { containerDisk: true, sc: STORAGE.noSnapshot });
    const vm = await waitFor(
      c,
      KubeVirt.vms,
      "mixed",
      ns,
      (v) => (v.status?.volumeSnapshotStatuses ?? []).length === 2,
    );
    const statuses = vm.status.volumeSnapshotStatuses as {
      name: string;
      enabled: boolean;
      reason?: string;
    }[];
    assert.match(
      statuses.find((s) => s.name === "containerdisk")!.reason!,
      /Snapshot is not supported for this volumeSource type \[containerdisk\]/,
    );
    assert.match(
      statuses.find((s) => s.name === "rootdisk")!.reason!,
      /No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass \[sim-nfs\] \[rootdisk\]/,
    );
    await c.create(KubeVirt.snapshots, snapshotManifest("mixed-snap", "mixed"));
    const snap = await waitFor(
      c,
      KubeVirt.snapshots,
      "mixed-snap",
      ns,
      (s) => s.status?.phase === "Succeeded",
    );
    assert.deepEqual(snap.status.snapshotVolumes.excludedVolumes.sort(), [
      "containerdisk",
      "rootdisk",
    ]);
    assert.ok(snap.status.indications.includes("PartialSnapshot"));
  });

  it("reports an ambiguous VolumeSnapshotClass choice on the VM", async () => {
    await vmWithDisk("ambig", { sc: STORAGE.ambiguous, run: false });
    const vm = await waitFor(
      c,
      KubeVirt.vms,
      "ambig",
      ns,
      (v) => (v.status?.volumeSnapshotStatuses ?? []).length === 1,
    );
    assert.equal(vm.status.volumeSnapshotStatuses[0].enabled, false);
    assert.match(
      vm.status.volumeSnapshotStatuses[0].reason,
      /2 matching VolumeSnapshotClasses for sim-multi/,
    );
  });

  it("a freeze failure keeps the snapshot in error until failureDeadline, then Failed", async () => {
    await vmWithDisk("frozen", { annotations: { [SIM.guestAgent]: "true", [SIM.fail]: "freeze" } });
    await c.create(
      KubeVirt.snapshots,
      snapshotManifest("frozen-snap", "frozen", { failureDeadline: "3s" }),
    );
    const inError = await waitFor(c, KubeVirt.snapshots, "frozen-snap", ns, (s) =>
      Boolean(s.status?.error),
    );
    assert.equal(inError.status.phase, "InProgress");
    assert.equal(cond(inError, "Progressing")?.reason, "In error state");
    assert.match(inError.status.error.message, /Failed freezing vm/);
    const failed = await waitFor(
      c,
      KubeVirt.snapshots,
      "frozen-snap",
      ns,
      (s) => s.status?.phase === "Failed",
    );
    assert.equal(cond(failed, "Failure")?.reason, "snapshot deadline exceeded");
    assert.equal(cond(failed, "Progressing")?.reason, "Operation failed");
    // A failed snapshot's unready content is deleted, and the VM is unlocked.
    await waitGone(c, KubeVirt.snapshotContents, `vmsnapshot-content-${failed.metadata.uid}`, ns);
    await waitFor(c, KubeVirt.vms, "frozen", ns, (v) => !v.status?.snapshotInProgress);
  });

  it("a Windows guest whose freeze hits the VSS limit gets QuiesceTimeout and still completes", async () => {
    await vmWithDisk("win", {
      annotations: { [SIM.guestAgent]: "true", [SIM.guestOs]: "windows", [SIM.fail]: "freeze" },
    });
    const vmi = await waitFor(c, KubeVirt.vmis, "win", ns, (v) => Boolean(v.status?.guestOSInfo));
    assert.equal(vmi.status.guestOSInfo.id, "mswindows");
    await c.create(KubeVirt.snapshots, snapshotManifest("win-snap", "win"));
    const snap = await waitFor(
      c,
      KubeVirt.snapshots,
      "win-snap",
      ns,
      (s) => s.status?.readyToUse === true,
    );
    assert.deepEqual(snap.status.indications, ["Online", "GuestAgent", "QuiesceTimeout"]);
  });

  it("volume-snapshot errors surface on content and snapshot; stuck snapshots fail at the deadline", async () => {
    await vmWithDisk("vserr", { annotations: { [SIM.fail]: "volume-snapshot" } });
    await c.create(
      KubeVirt.snapshots,
      snapshotManifest("vserr-snap", "vserr", { failureDeadline: "4s" }),
    );
    const err = await waitFor(c, KubeVirt.snapshots, "vserr-snap", ns, (s) =>
      Boolean(s.status?.error),
    );
    assert.match(err.status.error.message, /^VolumeSnapshot vmsnapshot-.*-volume-rootdisk error: /);
    await waitFor(c, KubeVirt.snapshots, "vserr-snap", ns, (s) => s.status?.phase === "Failed");

    await vmWithDisk("stuck", { annotations: { [SIM.fail]: "stuck" } });
    await c.create(
      KubeVirt.snapshots,
      snapshotManifest("stuck-snap", "stuck", { failureDeadline: "2s" }),
    );
    const inProgress = await waitFor(
      c,
      KubeVirt.snapshots,
      "stuck-snap",
      ns,
      (s) => s.status?.phase === "InProgress",
    );
    assert.equal(
      cond(inProgress, "Progressing")?.reason,
      "Source locked and operation in progress",
    );
    const stuck = await waitFor(
      c,
      KubeVirt.snapshots,
      "stuck-snap",
      ns,
      (s) => s.status?.phase === "Failed",
    );
    assert.equal(cond(stuck, "Failure")?.reason, "snapshot deadline exceeded");
  });

  it("snapshot-delay keeps the snapshot InProgress and the VM locked until the volumes are ready", async () => {
    await vmWithDisk("slow", { annotations: { [SIM.snapshotDelay]: "1500ms" } });
    await c.create(KubeVirt.snapshots, snapshotManifest("slow-snap", "slow"));
    const locked = await waitFor(
      c,
      KubeVirt.vms,
      "slow",
      ns,
      (v) => v.status?.snapshotInProgress === "slow-snap",
    );
    assert.ok(
      locked.metadata.finalizers?.includes("snapshot.kubevirt.io/snapshot-source-protection"),
    );
    const cut = await waitFor(
      c,
      KubeVirt.snapshots,
      "slow-snap",
      ns,
      (s) => s.status?.phase === "Succeeded",
    );
    assert.equal(
      cut.status.readyToUse,
      false,
      "Succeeded is keyed on creationTime; readiness comes later",
    );
    await waitFor(c, KubeVirt.snapshots, "slow-snap", ns, (s) => s.status?.readyToUse === true);
  });

  it("RerunOnFailure on a stopped VM never locks and fails at the deadline (kubevirt#12515)", async () => {
    await c.create(Core.pvcs, pvcManifest({ name: "rerun-root", namespace: ns }));
    const m = vmManifest({
      name: "rerun",
      namespace: ns,
      runStrategy: "Halted",
      disks: [{ name: "rootdisk", claimName: "rerun-root" }],
    });
    await c.create(KubeVirt.vms, m);
    await waitFor(c, KubeVirt.vms, "rerun", ns, (v) => v.status?.printableStatus === "Stopped");
    // Stopped, then switched to RerunOnFailure with the VMI gone: the snapshot cannot lock it.
    await c.patch(KubeVirt.vms, "rerun", ns, { spec: { runStrategy: "RerunOnFailure" } });
    await c.create(
      KubeVirt.snapshots,
      snapshotManifest("rerun-snap", "rerun", { failureDeadline: "2s" }),
    );
    const locking = await waitFor(c, KubeVirt.snapshots, "rerun-snap", ns, (x) =>
      /Source not locked/.test(cond(x, "Progressing")?.reason ?? ""),
    );
    assert.equal(locking.status.phase, "InProgress");
    const failed = await waitFor(
      c,
      KubeVirt.snapshots,
      "rerun-snap",
      ns,
      (x) => x.status?.phase === "Failed",
    );
    assert.equal(cond(failed, "Failure")?.reason, "snapshot deadline exceeded");
    const vm = await c.get(KubeVirt.vms, "rerun", ns);
    assert.equal(
      (vm.status as { printableStatus?: string }).printableStatus,
      "Stopped",
      "RerunOnFailure does not start a stopped VM",
    );
  });

  it("deleting a snapshot removes its content and volume snapshots", async () => {
    await vmWithDisk("del", { run: false });
    await c.create(KubeVirt.snapshots, snapshotManifest("del-snap", "del"));
    const snap = await waitFor(
      c,
      KubeVirt.snapshots,
      "del-snap",
      ns,
      (s) => s.status?.readyToUse === true,
    );
    await c.delete(KubeVirt.snapshots, "del-snap", ns);
    await waitGone(c, KubeVirt.snapshots, "del-snap", ns);
    await waitGone(c, KubeVirt.snapshotContents, `vmsnapshot-content-${snap.metadata.uid}`, ns);
    await waitGone(c, Csi.volumeSnapshots, `vmsnapshot-${snap.metadata.uid}-volume-rootdisk`, ns);
  });

  it("a snapshot of a VM that does not exist stays InProgress with 'Source does not exist'", async () => {
    await c.create(KubeVirt.snapshots, snapshotManifest("ghost-snap", "ghost"));
    const s = await waitFor(
      c,
      KubeVirt.snapshots,
      "ghost-snap",
      ns,
      (x) => cond(x, "Progressing")?.reason === "Source does not exist",
    );
    assert.equal(s.status.phase, "InProgress");
  });
});
