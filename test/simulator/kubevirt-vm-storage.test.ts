// The simulated VM controller and storage (PV binding, CDI, StorageProfiles) against the real API server.
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
import { cond, waitFor, waitGone, type Json } from "../helpers/kube.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "sim-vm");
});

describe("KubeVirt VM controller", () => {
  it("runStrategy Always creates a Running VMI; Halted removes it (printableStatus follows)", async () => {
    await c.create(Core.pvcs, pvcManifest({ name: "life-root", namespace: ns }));
    await c.create(
      KubeVirt.vms,
      vmManifest({
        name: "life",
        namespace: ns,
        disks: [{ name: "root", claimName: "life-root" }],
      }),
    );
    const vm = await waitFor(
      c,
      KubeVirt.vms,
      "life",
      ns,
      (v) => v.status?.printableStatus === "Running",
    );
    assert.equal(vm.status.ready, true);
    assert.equal(vm.status.created, true);
    assert.equal(cond(vm, "Ready")?.status, "True");
    const vmi = (await c.get(KubeVirt.vmis, "life", ns)) as Json;
    assert.equal(vmi.status.phase, "Running");
    assert.equal(vmi.metadata.ownerReferences[0].uid, vm.metadata.uid);
    assert.equal(cond(vmi, "AgentConnected"), undefined, "no guest agent by default");
    assert.equal(vmi.status.guestOSInfo, undefined);

    await c.patch(KubeVirt.vms, "life", ns, { spec: { runStrategy: "Halted" } });
    await waitGone(c, KubeVirt.vmis, "life", ns);
    const stopped = await waitFor(
      c,
      KubeVirt.vms,
      "life",
      ns,
      (v) => v.status?.printableStatus === "Stopped",
    );
    assert.equal(stopped.status.ready, false);
  });

  it("the guest-agent annotation gives AgentConnected (VMI and VM) and guestOSInfo; paused gives Paused", async () => {
    await c.create(Core.pvcs, pvcManifest({ name: "ga-root", namespace: ns }));
    await c.create(
      KubeVirt.vms,
      vmManifest({
        name: "ga",
        namespace: ns,
        annotations: { [SIM.guestAgent]: "true" },
        disks: [{ name: "root", claimName: "ga-root" }],
      }),
    );
    const vmi = await waitFor(
      c,
      KubeVirt.vmis,
      "ga",
      ns,
      (v) => cond(v, "AgentConnected")?.status === "True",
    );
    assert.equal(vmi.status.guestOSInfo.id, "fedora");
    await waitFor(c, KubeVirt.vms, "ga", ns, (v) => cond(v, "AgentConnected")?.status === "True");

    await c.patch(KubeVirt.vms, "ga", ns, { metadata: { annotations: { [SIM.paused]: "true" } } });
    const paused = await waitFor(
      c,
      KubeVirt.vms,
      "ga",
      ns,
      (v) => v.status?.printableStatus === "Paused",
    );
    assert.equal(cond(paused, "Paused")?.status, "True");
    const pausedVmi = (await c.get(KubeVirt.vmis, "ga", ns)) as Json;
    assert.equal(cond(pausedVmi, "Paused")?.reason, "PausedByUser");

    await c.patch(KubeVirt.vms, "ga", ns, {
      metadata: { annotations: { [SIM.guestAgent]: null, [SIM.paused]: null } },
    });
    const plain = await waitFor(
      c,
      KubeVirt.vmis,
      "ga",
      ns,
      (v) => !cond(v, "AgentConnected") && !v.status?.guestOSInfo,
    );
    assert.equal(cond(plain, "Paused"), undefined);
  });

  it("hot-plug: persisted hot-plugs and VMI-only hot-plugs both show hotplugVolume on the VMI", async () => {
    for (const n of ["hp-root", "hp-extra", "hp-scratch"])
      await c.create(Core.pvcs, pvcManifest({ name: n, namespace: ns }));
    await c.create(
      KubeVirt.vms,
      vmManifest({
        name: "hp",
        namespace: ns,
        annotations: { [SIM.hotplugVolumes]: "hp-scratch" },
        disks: [
          { name: "root", claimName: "hp-root" },
          { name: "extra", claimName: "hp-extra", hotpluggable: true },
        ],
      }),
    );
    const vmi = await waitFor(
      c,
      KubeVirt.vmis,
      "hp",
      ns,
      (v) => (v.status?.volumeStatus ?? []).length === 3,
    );
    const byName = Object.fromEntries((vmi.status.volumeStatus as Json[]).map((v) => [v.name, v]));
    assert.equal(byName.root.hotplugVolume, undefined);
    assert.ok(byName.extra.hotplugVolume, "persisted hot-plug");
    assert.ok(byName["hp-scratch"].hotplugVolume, "VMI-only hot-plug");
    const vm = (await c.get(KubeVirt.vms, "hp", ns)) as Json;
    assert.deepEqual(
      (vm.spec.template.spec.volumes as Json[]).map((v) => v.name),
      ["root", "extra"],
      "the VMI-only hot-plug is not in the VM spec",
    );
  });
});

describe("storage simulator", () => {
  it("binds Immediate claims to a PV; WaitForFirstConsumer claims wait for a running VM", async () => {
    await c.create(Core.pvcs, pvcManifest({ name: "imm", namespace: ns, size: "3Gi" }));
    const pvc = await waitFor(c, Core.pvcs, "imm", ns, (p) => p.status?.phase === "Bound");
    assert.equal(pvc.status.capacity.storage, "3Gi");
    assert.equal(
      pvc.spec.storageClassName,
      STORAGE.snapshot,
      "the default StorageClass is applied",
    );
    const pv = (await c.get(Core.pvs, pvc.spec.volumeName)) as Json;
    assert.equal(pv.spec.claimRef.uid, pvc.metadata.uid);
    assert.equal(pv.spec.csi.driver, "csi.sim.vmsnap.io");
    assert.match(
      pvc.metadata.annotations[SIM.data],
      /^disk-[0-9a-f]{8}$/,
      "a fresh disk gets a fingerprint",
    );

    await c.create(
      Core.pvcs,
      pvcManifest({ name: "wffc", namespace: ns, storageClassName: STORAGE.wffc }),
    );
    await c.create(
      KubeVirt.vms,
      vmManifest({
        name: "consumer",
        namespace: ns,
        runStrategy: "Halted",
        disks: [{ name: "root", claimName: "wffc" }],
      }),
    );
    await waitFor(c, KubeVirt.vms, "consumer", ns, (v) => v.status?.printableStatus === "Stopped");
    assert.notEqual(((await c.get(Core.pvcs, "wffc", ns)) as Json).status?.phase, "Bound");
    await c.patch(KubeVirt.vms, "consumer", ns, { spec: { runStrategy: "Always" } });
    await waitFor(c, Core.pvcs, "wffc", ns, (p) => p.status?.phase === "Bound");
    await waitFor(c, KubeVirt.vms, "consumer", ns, (v) => v.status?.printableStatus === "Running");
  });

  it("a VM whose claim does not exist reports ErrorPvcNotFound", async () => {
    await c.create(
      KubeVirt.vms,
      vmManifest({
        name: "orphan",
        namespace: ns,
        disks: [{ name: "root", claimName: "missing" }],
      }),
    );
    await waitFor(
      c,
      KubeVirt.vms,
      "orphan",
      ns,
      (v) => v.status?.printableStatus === "ErrorPvcNotFound",
    );
  });

  it("dataVolumeTemplates become DataVolumes, their claims bind, and the DataVolume Succeeds", async () => {
    const vm = vmManifest({
      name: "dv",
      namespace: ns,
      disks: [{ name: "root", claimName: "dv-root", dataVolume: true }],
    });
    (vm.spec as Json).dataVolumeTemplates = [
      {
        metadata: { name: "dv-root" },
        spec: { source: { blank: {} }, storage: { resources: { requests: { storage: "2Gi" } } } },
      },
    ];
    await c.create(KubeVirt.vms, vm);
    const dv = await waitFor(
      c,
      KubeVirt.dataVolumes,
      "dv-root",
      ns,
      (d) => d.status?.phase === "Succeeded",
    );
    assert.equal(dv.status.claimName, "dv-root");
    assert.equal(dv.metadata.ownerReferences[0].kind, "VirtualMachine");
    await waitFor(c, KubeVirt.vms, "dv", ns, (v) => v.status?.printableStatus === "Running");
  });

  it("a VolumeSnapshot applied by hand captures the fingerprint; a claim restored from it gets it", async () => {
    await c.create(Core.pvcs, pvcManifest({ name: "src", namespace: ns, data: "hand-v1" }));
    await waitFor(c, Core.pvcs, "src", ns, (p) => p.status?.phase === "Bound");
    await c.create(Csi.volumeSnapshots, {
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshot",
      metadata: { name: "src-snap", namespace: ns },
      spec: {
        volumeSnapshotClassName: "sim-csi-snapclass",
        source: { persistentVolumeClaimName: "src" },
      },
    });
    const vs = await waitFor(
      c,
      Csi.volumeSnapshots,
      "src-snap",
      ns,
      (s) => s.status?.readyToUse === true,
    );
    assert.equal(vs.metadata.annotations[SIM.data], "hand-v1");
    const content = (await c.get(
      Csi.volumeSnapshotContents,
      vs.status.boundVolumeSnapshotContentName,
    )) as Json;
    assert.equal(content.status.readyToUse, true);
    assert.equal(
      typeof content.status.creationTime,
      "number",
      "VolumeSnapshotContent creationTime is int64 nanoseconds",
    );

    await c.patch(Core.pvcs, "src", ns, { metadata: { annotations: { [SIM.data]: "hand-v2" } } });
    const restored = pvcManifest({ name: "from-snap", namespace: ns });
    (restored.spec as Json).dataSource = {
      apiGroup: "snapshot.storage.k8s.io",
      kind: "VolumeSnapshot",
      name: "src-snap",
    };
    await c.create(Core.pvcs, restored);
    const pvc = await waitFor(c, Core.pvcs, "from-snap", ns, (p) => p.status?.phase === "Bound");
    assert.equal(pvc.metadata.annotations[SIM.data], "hand-v1");
  });

  it("each StorageClass gets a CDI StorageProfile; its snapshotClass decides the VolumeSnapshotClass", async () => {
    const profile = await waitFor(
      c,
      KubeVirt.storageProfiles,
      STORAGE.ambiguous,
      undefined,
      (p) => p.status?.provisioner === "multi.sim.vmsnap.io",
    );
    assert.equal(profile.status.storageClass, STORAGE.ambiguous);
    await c.create(
      Core.pvcs,
      pvcManifest({ name: "amb-root", namespace: ns, storageClassName: STORAGE.ambiguous }),
    );
    await c.create(
      KubeVirt.vms,
      vmManifest({
        name: "amb",
        namespace: ns,
        runStrategy: "Halted",
        disks: [{ name: "root", claimName: "amb-root" }],
      }),
    );
    await waitFor(
      c,
      KubeVirt.vms,
      "amb",
      ns,
      (v) => v.status?.volumeSnapshotStatuses?.[0]?.enabled === false,
    );
    await c.patch(KubeVirt.storageProfiles, STORAGE.ambiguous, undefined, {
      spec: { snapshotClass: "sim-multi-fast" },
    });
    try {
      await waitFor(
        c,
        KubeVirt.vms,
        "amb",
        ns,
        (v) => v.status?.volumeSnapshotStatuses?.[0]?.enabled === true,
      );
    } finally {
      await c.patch(KubeVirt.storageProfiles, STORAGE.ambiguous, undefined, {
        spec: { snapshotClass: null },
      });
    }
  });

  it("deleting a claim that no VM uses releases it (pvc-protection) and deletes its PV", async () => {
    await c.create(Core.pvcs, pvcManifest({ name: "gone", namespace: ns }));
    const pvc = await waitFor(c, Core.pvcs, "gone", ns, (p) => p.status?.phase === "Bound");
    await c.delete(Core.pvcs, "gone", ns);
    await waitGone(c, Core.pvcs, "gone", ns);
    await waitGone(c, Core.pvs, pvc.spec.volumeName);
  });
});
