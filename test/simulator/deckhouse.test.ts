// The simulated Deckhouse virtualization (virtualization.deckhouse.io/v1alpha2) against the real
// API server, with the project's CRDs or the upstream ones (VMSNAP_CRDS_DIR).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, Deckhouse, apiVersionOf, type ResourceType } from "../../src/kube/resources.js";
import {
  dhDiskManifest,
  dhImageManifest,
  dhVmManifest,
  ensureSimStorage,
  type DhVmOptions,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { installCrds, loadCrds, projectCrdsDir } from "../../src/playground/crds.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { cond, waitFor, waitGone, type Json } from "../helpers/kube.js";

const SECRETS: ResourceType = {
  group: "",
  version: "v1",
  plural: "secrets",
  kind: "Secret",
  namespaced: true,
};

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "sim-dh");
});

const phaseIs =
  (...phases: string[]) =>
  (o: Json) =>
    phases.includes(o.status?.phase);
const get = (type: ResourceType, name: string) => c.get(type, name, ns) as Promise<Json>;
const dataOf = (o: Json) => o.metadata.annotations?.[SIM.data] as string | undefined;

async function disk(name: string, data: string, size = "1Gi"): Promise<Json> {
  await c.create(Deckhouse.disks, dhDiskManifest({ namespace: ns, name, data, size }));
  return waitFor(c, Deckhouse.disks, name, ns, phaseIs("Ready"));
}

/** A VM with disks `<name>-root` (and more via `extra`), waited until Running or Stopped. */
async function vm(
  name: string,
  o: Partial<DhVmOptions> & { extra?: string[] } = {},
): Promise<Json> {
  const disks = [`${name}-root`, ...(o.extra ?? [])];
  for (const d of disks) await disk(d, `${d}-v1`);
  await c.create(Deckhouse.vms, dhVmManifest({ namespace: ns, name, disks, ...o }));
  const running = o.running ?? !["AlwaysOff", "Manual"].includes(o.runPolicy ?? "");
  return waitFor(c, Deckhouse.vms, name, ns, phaseIs(running ? "Running" : "Stopped"));
}

async function vmSnapshot(
  name: string,
  vmName: string,
  o: { requiredConsistency?: boolean; keepIPAddress?: "Always" | "Never" } = {},
): Promise<void> {
  await c.create(Deckhouse.vmSnapshots, {
    apiVersion: apiVersionOf(Deckhouse.vmSnapshots),
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: {
      virtualMachineName: vmName,
      requiredConsistency: o.requiredConsistency ?? true,
      keepIPAddress: o.keepIPAddress ?? "Always",
    },
  });
}

async function diskSnapshot(name: string, diskName: string, requiredConsistency = true) {
  await c.create(Deckhouse.diskSnapshots, {
    apiVersion: apiVersionOf(Deckhouse.diskSnapshots),
    kind: "VirtualDiskSnapshot",
    metadata: { name, namespace: ns },
    spec: { virtualDiskName: diskName, requiredConsistency },
  });
}

const settled = phaseIs("Ready", "Failed");
const waitVms = (name: string, p = settled) => waitFor(c, Deckhouse.vmSnapshots, name, ns, p);
const waitVds = (name: string, p = settled) => waitFor(c, Deckhouse.diskSnapshots, name, ns, p);
const decode = (b64: string) => JSON.parse(Buffer.from(b64, "base64").toString("utf8")) as Json;

async function writeData(diskName: string, data: string): Promise<void> {
  await c.patch(Deckhouse.disks, diskName, ns, { metadata: { annotations: { [SIM.data]: data } } });
}

describe("Deckhouse simulator: VirtualDisk", () => {
  it("provisions to Ready with capacity, storage class, target PVC name and conditions", async () => {
    const d = await disk("plain", "plain-v1", "2Gi");
    assert.equal(d.status.capacity, "2Gi");
    assert.equal(d.status.storageClassName, "sim-csi", "the default StorageClass");
    assert.equal(d.status.target.persistentVolumeClaimName, `vd-plain-${d.metadata.uid}`);
    assert.equal(cond(d, "Ready")?.status, "True");
    assert.equal(cond(d, "Ready")?.reason, "Ready");
    assert.equal(cond(d, "Resized")?.status, "False");
    assert.equal(dataOf(d), "plain-v1");
  });

  it("a size increase goes Resizing for the resize delay, then Ready with the new capacity", async () => {
    await c.create(Deckhouse.disks, {
      ...dhDiskManifest({ namespace: ns, name: "grow", data: "g", size: "1Gi" }),
      metadata: {
        name: "grow",
        namespace: ns,
        annotations: { [SIM.data]: "g", "sim.vmsnap.io/resize-delay": "1s" },
      },
    });
    await waitFor(c, Deckhouse.disks, "grow", ns, phaseIs("Ready"));
    await c.patch(Deckhouse.disks, "grow", ns, {
      spec: { persistentVolumeClaim: { size: "3Gi" } },
    });
    const resizing = await waitFor(c, Deckhouse.disks, "grow", ns, phaseIs("Resizing"));
    assert.equal(resizing.status.capacity, "1Gi");
    assert.equal(cond(resizing, "Resized")?.reason, "InProgress");
    const done = await waitFor(c, Deckhouse.disks, "grow", ns, phaseIs("Ready"));
    assert.equal(done.status.capacity, "3Gi");
    assert.equal(cond(done, "Resized")?.status, "True");
  });

  it("the disk-phase hook pins the phase", async () => {
    await disk("pinned", "p");
    await c.patch(Deckhouse.disks, "pinned", ns, {
      metadata: { annotations: { "sim.vmsnap.io/disk-phase": "Resizing" } },
    });
    await waitFor(c, Deckhouse.disks, "pinned", ns, phaseIs("Resizing"));
    await c.patch(Deckhouse.disks, "pinned", ns, {
      metadata: { annotations: { "sim.vmsnap.io/disk-phase": null } },
    });
    await waitFor(c, Deckhouse.disks, "pinned", ns, phaseIs("Ready"));
  });
});

describe("Deckhouse simulator: VirtualMachine", () => {
  it("runs per runPolicy, with block devices, IP, agent and guest OS info", async () => {
    const web = await vm("web", { agent: true });
    assert.equal(web.status.phase, "Running");
    assert.match(web.status.ipAddress, /^10\.66\.\d+\.\d+$/);
    assert.deepEqual(
      web.status.blockDeviceRefs.map((r: Json) => [r.kind, r.name, r.attached, r.size]),
      [["VirtualDisk", "web-root", true, "1Gi"]],
    );
    assert.equal(cond(web, "AgentReady")?.status, "True");
    assert.equal(web.status.guestOSInfo.id, "ubuntu");
    assert.deepEqual(web.status.resources, {
      cpu: { cores: 1, coreFraction: "100%" },
      memory: { size: "1Gi" },
    });
    assert.equal(web.status.nodeName, "sim-node-1");
    const root = await waitFor(c, Deckhouse.disks, "web-root", ns, (d) =>
      (d.status?.attachedToVirtualMachines ?? []).some((a: Json) => a.name === "web" && a.mounted),
    );
    assert.equal(root.status.attachedToVirtualMachines.length, 1);

    const win = await vm("win", { agent: true, os: "windows" });
    assert.equal(win.status.guestOSInfo.id, "mswindows");
    assert.equal(win.spec.osType, "Windows");
    assert.notEqual(win.status.ipAddress, web.status.ipAddress);

    const noAgent = await vm("noagent");
    assert.equal(cond(noAgent, "AgentReady")?.status, "False");
    assert.equal(noAgent.status.guestOSInfo, undefined);

    const off = await vm("off", { runPolicy: "AlwaysOff", agent: true });
    assert.equal(cond(off, "AgentReady")?.status, "False", "a stopped VM has no agent");
    assert.equal(off.status.blockDeviceRefs[0].attached, false);
    const manual = await vm("manual", { runPolicy: "Manual" });
    assert.equal(manual.status.phase, "Stopped");
    const stopped = await vm("stopped", { running: false });
    assert.equal(stopped.spec.runPolicy, "AlwaysOnUnlessStoppedManually");
  });

  it("is Pending while a referenced disk is missing, then starts", async () => {
    await c.create(
      Deckhouse.vms,
      dhVmManifest({ namespace: ns, name: "late", disks: ["late-root"] }),
    );
    const pending = await waitFor(c, Deckhouse.vms, "late", ns, phaseIs("Pending"));
    assert.equal(cond(pending, "BlockDevicesReady")?.status, "False");
    await disk("late-root", "late-v1");
    await waitFor(c, Deckhouse.vms, "late", ns, phaseIs("Running"));
  });

  it("a spec change on a running VM awaits a restart, listing the changed fields", async () => {
    await vm("cfg");
    await c.patch(Deckhouse.vms, "cfg", ns, { spec: { cpu: { cores: 2 } } });
    const awaiting = await waitFor(
      c,
      Deckhouse.vms,
      "cfg",
      ns,
      (v) => cond(v, "AwaitingRestartToApplyConfiguration")?.status === "True",
    );
    assert.deepEqual(
      awaiting.status.restartAwaitingChanges.map((ch: Json) => ch.path),
      ["cpu"],
    );
  });

  it("images referenced by a VM are shown among its block devices", async () => {
    await c.create(Deckhouse.images, dhImageManifest({ namespace: ns, name: "ubuntu" }));
    const v = await vm("withimage", { images: [{ kind: "VirtualImage", name: "ubuntu" }] });
    assert.deepEqual(
      v.status.blockDeviceRefs.map((r: Json) => [r.kind, r.name, r.attached]),
      [
        ["VirtualDisk", "withimage-root", true],
        ["VirtualImage", "ubuntu", true],
      ],
    );
  });
});

describe("Deckhouse simulator: VirtualMachineSnapshot", () => {
  it("a running VM with agent: frozen, consistent, children, Secret, resources", async () => {
    const src = await vm("app", { agent: true, extra: ["app-data"] });
    await vmSnapshot("app-1", "app");
    const snap = await waitVms("app-1");
    assert.equal(snap.status.phase, "Ready");
    assert.equal(snap.status.consistent, true);
    assert.equal(cond(snap, "VirtualMachineSnapshotReady")?.reason, "VirtualMachineSnapshotReady");
    assert.equal(cond(snap, "VirtualMachineReady")?.status, "True");
    const uid = snap.metadata.uid;
    assert.deepEqual(snap.status.virtualDiskSnapshotNames, [`app-root-${uid}`, `app-data-${uid}`]);
    assert.deepEqual(
      snap.status.resources.map((r: Json) => `${r.kind}/${r.name}`),
      [
        "VirtualMachine/app",
        "VirtualDisk/app-root",
        "VirtualDisk/app-data",
        "VirtualMachineIPAddress/app",
      ],
    );
    for (const [child, d] of [
      [`app-root-${uid}`, "app-root"],
      [`app-data-${uid}`, "app-data"],
    ]) {
      const vds = await get(Deckhouse.diskSnapshots, child!);
      assert.equal(vds.status.phase, "Ready");
      assert.equal(vds.status.consistent, true);
      assert.equal(vds.spec.requiredConsistency, true);
      assert.equal(dataOf(vds), `${d}-v1`);
      assert.equal(vds.metadata.ownerReferences[0].uid, uid);
      assert.equal(vds.status.volumeSnapshotName, `vds-${vds.metadata.uid}`);
    }
    const secret = await get(SECRETS, snap.status.virtualMachineSnapshotSecretName);
    assert.equal(secret.metadata.ownerReferences[0].uid, uid);
    const storedVm = decode(secret.data.vm);
    assert.equal(storedVm.metadata.uid, src.metadata.uid);
    assert.deepEqual(storedVm.spec, src.spec);
    const storedDisks = decode(secret.data.vds) as unknown as Json[];
    assert.deepEqual(
      storedDisks.map((d) => [d.metadata.name, d.metadata.annotations[SIM.data]]),
      [
        ["app-root", "app-root-v1"],
        ["app-data", "app-data-v1"],
      ],
    );
  });

  it("running without agent: PotentiallyInconsistent when required, inconsistent otherwise", async () => {
    await vm("raw");
    await vmSnapshot("raw-strict", "raw");
    const failed = await waitVms("raw-strict");
    assert.equal(failed.status.phase, "Failed");
    const c1 = cond(failed, "VirtualMachineSnapshotReady");
    assert.equal(c1?.reason, "PotentiallyInconsistent");
    assert.match(c1?.message, /agent is not ready/);

    await vmSnapshot("raw-loose", "raw", { requiredConsistency: false, keepIPAddress: "Never" });
    const loose = await waitVms("raw-loose");
    assert.equal(loose.status.phase, "Ready");
    assert.equal(loose.status.consistent, undefined, "consistent is true or absent, never false");
    assert.ok(!loose.status.resources.some((r: Json) => r.kind === "VirtualMachineIPAddress"));
  });

  it("freeze failure: Failed when consistency is required, Ready but inconsistent otherwise", async () => {
    await vm("frz", { agent: true, fail: "freeze" });
    await vmSnapshot("frz-strict", "frz");
    const failed = await waitVms("frz-strict");
    assert.equal(failed.status.phase, "Failed");
    assert.match(cond(failed, "VirtualMachineSnapshotReady")?.message, /freeze/);
    await vmSnapshot("frz-loose", "frz", { requiredConsistency: false });
    const loose = await waitVms("frz-loose");
    assert.equal(loose.status.phase, "Ready");
    assert.equal(loose.status.consistent, undefined, "consistent is true or absent, never false");
  });

  it("a stopped VM is snapshotted consistently without an agent", async () => {
    await vm("cold", { runPolicy: "AlwaysOff" });
    await vmSnapshot("cold-1", "cold");
    const snap = await waitVms("cold-1");
    assert.equal(snap.status.phase, "Ready");
    assert.equal(snap.status.consistent, true);
  });

  it("fails (BlockDevicesNotReady) at once while a disk is resizing, as upstream does", async () => {
    await vm("rsz", { agent: true });
    await c.patch(Deckhouse.disks, "rsz-root", ns, {
      metadata: { annotations: { "sim.vmsnap.io/disk-phase": "Resizing" } },
    });
    await waitFor(c, Deckhouse.disks, "rsz-root", ns, phaseIs("Resizing"));
    await vmSnapshot("rsz-1", "rsz");
    const failed = await waitVms("rsz-1");
    assert.equal(failed.status.phase, "Failed");
    assert.equal(cond(failed, "VirtualMachineSnapshotReady")?.reason, "BlockDevicesNotReady");
    assert.equal(
      cond(failed, "VirtualMachineSnapshotReady")?.message,
      'Virtual disk not ready: waiting for the virtual disk "rsz-root" to be Ready.',
    );
    assert.equal(cond(failed, "VirtualMachineReady")?.status, "True");
    await c.patch(Deckhouse.disks, "rsz-root", ns, {
      metadata: { annotations: { "sim.vmsnap.io/disk-phase": null } },
    });
  });

  it("volume-snapshot failure fails the snapshot naming the disk; stuck stays InProgress", async () => {
    await vm("vsf", { agent: true, fail: "volume-snapshot" });
    await vmSnapshot("vsf-1", "vsf");
    const failed = await waitVms("vsf-1");
    assert.equal(failed.status.phase, "Failed");
    const c1 = cond(failed, "VirtualMachineSnapshotReady");
    assert.equal(c1?.reason, "VirtualMachineSnapshotFailed");
    assert.match(c1?.message, /VirtualDisk "vsf-root"/);

    await vm("stk", { agent: true, fail: "stuck" });
    await vmSnapshot("stk-1", "stk");
    const stuck = await waitVms("stk-1", phaseIs("InProgress"));
    const child = await waitVds(stuck.status.virtualDiskSnapshotNames[0], phaseIs("InProgress"));
    assert.equal(child.status.phase, "InProgress");
    // Another snapshot of a healthy VM completes meanwhile: the stuck one is not just slow.
    await vmSnapshot("app-2", "web");
    await waitVms("app-2", phaseIs("Ready"));
    assert.equal((await get(Deckhouse.vmSnapshots, "stk-1")).status.phase, "InProgress");
  });

  it("deleting a VM snapshot deletes its disk snapshots and Secret", async () => {
    await vm("del", { agent: true });
    await vmSnapshot("del-1", "del");
    const snap = await waitVms("del-1");
    const child = snap.status.virtualDiskSnapshotNames[0];
    const secret = snap.status.virtualMachineSnapshotSecretName;
    await c.delete(Deckhouse.vmSnapshots, "del-1", ns);
    await waitGone(c, Deckhouse.vmSnapshots, "del-1", ns);
    await waitGone(c, Deckhouse.diskSnapshots, child, ns);
    await waitGone(c, SECRETS, secret, ns);
  });
});

describe("Deckhouse simulator: VirtualDiskSnapshot", () => {
  it("captures the fingerprint; consistency follows the VM the disk is attached to", async () => {
    await disk("loose", "loose-v1");
    await diskSnapshot("loose-1", "loose");
    const detached = await waitVds("loose-1");
    assert.equal(detached.status.phase, "Ready");
    assert.equal(detached.status.consistent, true, "a detached disk is consistent");
    assert.equal(dataOf(detached), "loose-v1");
    assert.equal(cond(detached, "VirtualDiskSnapshotReady")?.reason, "VirtualDiskSnapshotReady");
    assert.equal(cond(detached, "VirtualDiskReady")?.status, "True");

    await vm("vdvm");
    await diskSnapshot("vdvm-strict", "vdvm-root");
    const failed = await waitVds("vdvm-strict");
    assert.equal(failed.status.phase, "Failed");
    assert.equal(cond(failed, "VirtualDiskSnapshotReady")?.reason, "PotentiallyInconsistent");
    await writeData("vdvm-root", "vdvm-root-v2");
    await diskSnapshot("vdvm-loose", "vdvm-root", false);
    const loose = await waitVds("vdvm-loose");
    assert.equal(loose.status.phase, "Ready");
    assert.equal(loose.status.consistent, undefined, "consistent is true or absent, never false");
    assert.equal(dataOf(loose), "vdvm-root-v2");
  });

  it("fails for a missing disk at once; a disk restored from a snapshot carries its fingerprint", async () => {
    await diskSnapshot("early", "comes-later");
    const failed = await waitVds("early", (s) =>
      Boolean(cond(s, "VirtualDiskSnapshotReady")?.reason),
    );
    assert.equal(failed.status.phase, "Failed", "a missing disk is not waited for");
    assert.equal(cond(failed, "VirtualDiskSnapshotReady")?.reason, "WaitingForTheVirtualDisk");
    await disk("comes-later", "later-v1", "2Gi");
    await diskSnapshot("later", "comes-later");
    await waitVds("later");
    await writeData("comes-later", "later-v2");

    const restored = (name: string, size: string, snapshot: string) => ({
      ...dhDiskManifest({ namespace: ns, name, size }),
      spec: {
        persistentVolumeClaim: { size },
        dataSource: {
          type: "ObjectRef",
          objectRef: { kind: "VirtualDiskSnapshot", name: snapshot },
        },
      },
    });
    await c.create(Deckhouse.disks, restored("from-early", "2Gi", "later"));
    const ok = await waitFor(c, Deckhouse.disks, "from-early", ns, phaseIs("Ready", "Failed"));
    assert.equal(ok.status.phase, "Ready");
    assert.equal(dataOf(ok), "later-v1", "the snapshot's data, not the live disk's");

    const unsized = restored("unsized", "2Gi", "later");
    delete (unsized.spec.persistentVolumeClaim as { size?: string }).size;
    await c.create(Deckhouse.disks, unsized);
    const sized = await waitFor(c, Deckhouse.disks, "unsized", ns, phaseIs("Ready", "Failed"));
    assert.equal(sized.status.capacity, "2Gi", "without a size, the source's");
    assert.equal(dataOf(sized), "later-v1");

    await c.create(Deckhouse.disks, restored("too-small", "1Gi", "later"));
    const small = await waitFor(c, Deckhouse.disks, "too-small", ns, phaseIs("Ready", "Failed"));
    assert.equal(small.status.phase, "Failed");
    assert.match(cond(small, "Ready")?.message, /smaller/);

    await c.create(Deckhouse.disks, restored("no-source", "2Gi", "does-not-exist"));
    const missing = await waitFor(c, Deckhouse.disks, "no-source", ns, phaseIs("Ready", "Failed"));
    assert.equal(missing.status.phase, "Failed");
    assert.match(cond(missing, "Ready")?.message, /not found/);
  });
});

async function vmop(name: string, vmName: string, type: string, extra: Json = {}): Promise<Json> {
  await c.create(Deckhouse.vmops, {
    apiVersion: apiVersionOf(Deckhouse.vmops),
    kind: "VirtualMachineOperation",
    metadata: { name, namespace: ns },
    spec: { type, virtualMachineName: vmName, ...extra },
  });
  return waitFor(c, Deckhouse.vmops, name, ns, phaseIs("Completed", "Failed"));
}

async function vmsop(name: string, snapshot: string, createVirtualMachine: Json): Promise<Json> {
  await c.create(Deckhouse.vmsops, {
    apiVersion: apiVersionOf(Deckhouse.vmsops),
    kind: "VirtualMachineSnapshotOperation",
    metadata: { name, namespace: ns },
    spec: {
      type: "CreateVirtualMachine",
      virtualMachineSnapshotName: snapshot,
      createVirtualMachine,
    },
  });
  return waitFor(c, Deckhouse.vmsops, name, ns, phaseIs("Completed", "Failed"));
}

const resourcesOf = (o: Json) =>
  (o.status.resources as Json[]).map((r) => `${r.kind}/${r.name}:${r.status}`);

describe("Deckhouse simulator: VirtualMachineOperation Start/Stop", () => {
  it("stops and starts the VM", async () => {
    await vm("pwr");
    const stop = await vmop("pwr-stop", "pwr", "Stop");
    assert.equal(stop.status.phase, "Completed");
    assert.equal(cond(stop, "Completed")?.reason, "OperationCompleted");
    assert.equal((await get(Deckhouse.vms, "pwr")).status.phase, "Stopped");
    const start = await vmop("pwr-start", "pwr", "Start");
    assert.equal(start.status.phase, "Completed");
    assert.equal((await get(Deckhouse.vms, "pwr")).status.phase, "Running");
  });

  it("a stop and start apply changes awaiting a restart", async () => {
    await vm("rst");
    await c.patch(Deckhouse.vms, "rst", ns, { spec: { memory: { size: "2Gi" } } });
    await waitFor(c, Deckhouse.vms, "rst", ns, (v) =>
      Boolean(cond(v, "AwaitingRestartToApplyConfiguration")),
    );
    await vmop("rst-stop", "rst", "Stop");
    await vmop("rst-start", "rst", "Start");
    const v = await waitFor(c, Deckhouse.vms, "rst", ns, phaseIs("Running"));
    assert.equal(cond(v, "AwaitingRestartToApplyConfiguration"), undefined);
    assert.equal(v.status.restartAwaitingChanges, undefined);
  });
});

describe("Deckhouse simulator: VirtualMachineOperation Restore", () => {
  it("restores fingerprints, a deleted disk and the spec, and the running state", async () => {
    const before = await vm("rs", { agent: true, extra: ["rs-data"] });
    await vmSnapshot("rs-1", "rs");
    await waitVms("rs-1", phaseIs("Ready"));
    await writeData("rs-root", "rs-root-v2");
    // The data disk is detached and deleted; the CPU count changes.
    await c.patch(Deckhouse.vms, "rs", ns, {
      spec: { cpu: { cores: 4 }, blockDeviceRefs: [{ kind: "VirtualDisk", name: "rs-root" }] },
    });
    await c.delete(Deckhouse.disks, "rs-data", ns);
    await waitGone(c, Deckhouse.disks, "rs-data", ns);

    const dry = await vmop("rs-dry", "rs", "Restore", {
      restore: { mode: "DryRun", virtualMachineSnapshotName: "rs-1" },
    });
    assert.equal(dry.status.phase, "Completed");
    assert.deepEqual(resourcesOf(dry), [
      "VirtualMachine/rs:Completed",
      "VirtualDisk/rs-root:Completed",
      "VirtualDisk/rs-data:Completed",
      "VirtualMachineIPAddress/rs:Completed",
    ]);
    assert.match(
      dry.status.resources.find((r: Json) => r.name === "rs-data").message,
      /re-created/,
    );
    assert.equal(
      dataOf(await get(Deckhouse.disks, "rs-root")),
      "rs-root-v2",
      "DryRun changes nothing",
    );
    assert.equal(await c.getIfExists(Deckhouse.disks, "rs-data", ns), undefined);
    assert.equal((await get(Deckhouse.vms, "rs")).spec.cpu.cores, 4);

    await c.create(Deckhouse.vmops, {
      apiVersion: apiVersionOf(Deckhouse.vmops),
      kind: "VirtualMachineOperation",
      metadata: { name: "rs-strict", namespace: ns },
      spec: {
        type: "Restore",
        virtualMachineName: "rs",
        restore: { mode: "Strict", virtualMachineSnapshotName: "rs-1" },
      },
    });
    const maintenance = await waitFor(
      c,
      Deckhouse.vmops,
      "rs-strict",
      ns,
      (o) => cond(o, "MaintenanceMode")?.status === "True",
    );
    assert.equal(maintenance.status.phase, "InProgress");
    const op = await waitFor(c, Deckhouse.vmops, "rs-strict", ns, phaseIs("Completed", "Failed"));
    assert.equal(op.status.phase, "Completed", JSON.stringify(op.status.conditions));
    assert.equal(cond(op, "Completed")?.reason, "OperationCompleted");
    assert.equal(cond(op, "MaintenanceMode")?.status, "False");
    assert.ok(op.status.resources.every((r: Json) => r.status === "Completed"));

    const after = await get(Deckhouse.vms, "rs");
    assert.equal(after.status.phase, "Running", "running again, as before the restore");
    assert.deepEqual(after.spec, before.spec);
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.equal(dataOf(await get(Deckhouse.disks, "rs-root")), "rs-root-v1");
    const recreated = await waitFor(c, Deckhouse.disks, "rs-data", ns, phaseIs("Ready"));
    assert.equal(dataOf(recreated), "rs-data-v1");
  });

  it("fails for a missing or unready snapshot and for a VM re-created under the same name", async () => {
    await vm("rf", { agent: true });
    const missing = await vmop("rf-missing", "rf", "Restore", {
      restore: { mode: "Strict", virtualMachineSnapshotName: "nope" },
    });
    assert.equal(missing.status.phase, "Failed");
    assert.equal(cond(missing, "SnapshotReady")?.status, "False");
    assert.match(cond(missing, "SnapshotReady")?.message, /not found/);

    await vmSnapshot("rf-1", "rf");
    await waitVms("rf-1", phaseIs("Ready"));
    await c.delete(Deckhouse.vms, "rf", ns);
    await waitGone(c, Deckhouse.vms, "rf", ns);
    await c.create(Deckhouse.vms, dhVmManifest({ namespace: ns, name: "rf", disks: ["rf-root"] }));
    const other = await vmop("rf-uid", "rf", "Restore", {
      restore: { mode: "Strict", virtualMachineSnapshotName: "rf-1" },
    });
    assert.equal(other.status.phase, "Failed");
    assert.match(cond(other, "Completed")?.message, /uid/);
  });

  it("Strict fails on a missing image, BestEffort drops it", async () => {
    await c.create(Deckhouse.images, dhImageManifest({ namespace: ns, name: "tools-iso" }));
    await vm("img", {
      runPolicy: "AlwaysOff",
      images: [{ kind: "VirtualImage", name: "tools-iso" }],
    });
    await vmSnapshot("img-1", "img");
    await waitVms("img-1", phaseIs("Ready"));
    await c.delete(Deckhouse.images, "tools-iso", ns);
    await waitGone(c, Deckhouse.images, "tools-iso", ns);
    const strict = await vmop("img-strict", "img", "Restore", {
      restore: { mode: "Strict", virtualMachineSnapshotName: "img-1" },
    });
    assert.equal(strict.status.phase, "Failed");
    assert.ok(resourcesOf(strict).includes("VirtualImage/tools-iso:Failed"));
    const best = await vmop("img-best", "img", "Restore", {
      restore: { mode: "BestEffort", virtualMachineSnapshotName: "img-1" },
    });
    assert.equal(best.status.phase, "Completed", JSON.stringify(best.status.conditions));
    const v = await get(Deckhouse.vms, "img");
    assert.deepEqual(
      v.spec.blockDeviceRefs.map((r: Json) => r.name),
      ["img-root"],
    );
    assert.equal(v.status.phase, "Stopped", "stopped before, stopped after");
  });

  it("a second restore of the same VM is refused by admission until the first finishes", async () => {
    await vm("two", { agent: true, snapshotDelay: "1ms" });
    await vmSnapshot("two-1", "two");
    await waitVms("two-1", phaseIs("Ready"));
    const spec = {
      type: "Restore",
      virtualMachineName: "two",
      restore: { mode: "Strict", virtualMachineSnapshotName: "two-1" },
    };
    const meta = (name: string) => ({
      apiVersion: apiVersionOf(Deckhouse.vmops),
      kind: "VirtualMachineOperation",
      metadata: { name, namespace: ns },
      spec,
    });
    await c.create(Deckhouse.vmops, meta("two-a"));
    await waitFor(c, Deckhouse.vmops, "two-a", ns, phaseIs("InProgress"));
    // The playground's mirror of upstream's activeVMOPValidator (a webhook) refuses it outright.
    await assert.rejects(c.create(Deckhouse.vmops, meta("two-b")), (err: Error) => {
      assert.match(err.message, /Previously created operation "two-a" should finish first/);
      return true;
    });
    await waitFor(c, Deckhouse.vmops, "two-a", ns, phaseIs("Completed"));
    await c.create(Deckhouse.vmops, meta("two-b"));
    const b = await waitFor(c, Deckhouse.vmops, "two-b", ns, phaseIs("Completed", "Failed"));
    assert.equal(b.status.phase, "Completed");
  });
});

describe("Deckhouse simulator: VirtualMachineOperation Clone", () => {
  it("clones the live VM under new names with the live fingerprints", async () => {
    const src = await vm("cl", { agent: true, extra: ["cl-data"] });
    await writeData("cl-data", "cl-data-v2");
    const dry = await vmop("cl-dry", "cl", "Clone", {
      clone: { mode: "DryRun", customization: { namePrefix: "copy-" } },
    });
    assert.equal(dry.status.phase, "Completed");
    assert.deepEqual(resourcesOf(dry), [
      "VirtualMachine/copy-cl:Completed",
      "VirtualDisk/copy-cl-root:Completed",
      "VirtualDisk/copy-cl-data:Completed",
    ]);
    assert.equal(
      await c.getIfExists(Deckhouse.vms, "copy-cl", ns),
      undefined,
      "DryRun creates nothing",
    );

    const op = await vmop("cl-1", "cl", "Clone", {
      clone: {
        mode: "Strict",
        nameReplacement: [{ from: { kind: "VirtualDisk", name: "cl-data" }, to: "cl-extra" }],
        customization: { namePrefix: "copy-" },
      },
    });
    assert.equal(op.status.phase, "Completed", JSON.stringify(op.status.conditions));
    const clone = await waitFor(c, Deckhouse.vms, "copy-cl", ns, phaseIs("Running"));
    assert.notEqual(clone.metadata.uid, src.metadata.uid);
    assert.notEqual(clone.status.ipAddress, src.status.ipAddress, "a clone gets a new address");
    assert.deepEqual(
      clone.spec.blockDeviceRefs.map((r: Json) => r.name),
      ["copy-cl-root", "copy-cl-extra"],
    );
    assert.equal(dataOf(await get(Deckhouse.disks, "copy-cl-root")), "cl-root-v1");
    assert.equal(dataOf(await get(Deckhouse.disks, "copy-cl-extra")), "cl-data-v2");
    await waitGone(c, Deckhouse.vmSnapshots, `vmop-clone-${op.metadata.uid}`, ns);

    const again = await vmop("cl-2", "cl", "Clone", {
      clone: { mode: "Strict", customization: { namePrefix: "copy-" } },
    });
    assert.equal(again.status.phase, "Failed", "the names are taken");
    assert.ok(resourcesOf(again).includes("VirtualMachine/copy-cl:Failed"));
    assert.ok(resourcesOf(again).includes("VirtualDisk/copy-cl-root:Failed"));
  });
});

describe("Deckhouse simulator: VirtualMachineOperation Clone of a VM without agent", () => {
  it("fails as upstream: the temporary snapshot requires consistency", async () => {
    await vm("clraw");
    const op = await vmop("clraw-1", "clraw", "Clone", {
      clone: { mode: "Strict", customization: { nameSuffix: "-copy" } },
    });
    assert.equal(op.status.phase, "Failed");
    assert.match(
      cond(op, "Completed")?.message,
      /temporary snapshot.*PotentiallyInconsistent|agent is not ready/,
    );
    assert.equal(await c.getIfExists(Deckhouse.vms, "clraw-copy", ns), undefined);
    await waitGone(c, Deckhouse.vmSnapshots, `vmop-clone-${op.metadata.uid}`, ns);
  });
});

describe("Deckhouse simulator: VirtualMachineSnapshotOperation", () => {
  it("creates a VM and disks from a snapshot with the snapshot's fingerprints", async () => {
    await vm("src", { agent: true, cpuCores: 2 });
    await vmSnapshot("src-1", "src");
    await waitVms("src-1", phaseIs("Ready"));
    await writeData("src-root", "src-root-v2");

    const dry = await vmsop("src-dry", "src-1", {
      mode: "DryRun",
      customization: { nameSuffix: "-copy" },
    });
    assert.equal(dry.status.phase, "Completed");
    assert.deepEqual(resourcesOf(dry), [
      "VirtualMachine/src-copy:Completed",
      "VirtualDisk/src-root-copy:Completed",
    ]);
    assert.equal(await c.getIfExists(Deckhouse.vms, "src-copy", ns), undefined);

    const op = await vmsop("src-op", "src-1", {
      mode: "Strict",
      nameReplacement: [
        { from: { kind: "VirtualMachine", name: "src" }, to: "restored" },
        { from: { name: "src-root" }, to: "restored-root" },
      ],
    });
    assert.equal(op.status.phase, "Completed", JSON.stringify(op.status.conditions));
    assert.equal(cond(op, "Completed")?.reason, "OperationCompleted");
    assert.deepEqual(resourcesOf(op), [
      "VirtualMachine/restored:Completed",
      "VirtualDisk/restored-root:Completed",
    ]);
    const created = await waitFor(c, Deckhouse.vms, "restored", ns, phaseIs("Running"));
    assert.equal(created.spec.cpu.cores, 2);
    assert.deepEqual(created.spec.blockDeviceRefs, [
      { kind: "VirtualDisk", name: "restored-root" },
    ]);
    const src = await get(Deckhouse.vms, "src");
    assert.notEqual(created.status.ipAddress, src.status.ipAddress, "a new VM, a new address");
    const restoredDisk = await get(Deckhouse.disks, "restored-root");
    assert.equal(dataOf(restoredDisk), "src-root-v1", "the snapshot's data, not the live disk's");
    assert.equal(restoredDisk.spec.dataSource.objectRef.kind, "VirtualDiskSnapshot");

    // A replacement that matches nothing keeps the names: both exist already.
    const conflict = await vmsop("src-conflict", "src-1", {
      mode: "Strict",
      nameReplacement: [{ from: { name: "unrelated" }, to: "x" }],
    });
    assert.equal(conflict.status.phase, "Failed");
    assert.deepEqual(resourcesOf(conflict), [
      "VirtualMachine/src:Failed",
      "VirtualDisk/src-root:Failed",
    ]);

    const missing = await vmsop("src-missing", "nope", {
      mode: "Strict",
      customization: { namePrefix: "x-" },
    });
    assert.equal(missing.status.phase, "Failed");
    assert.equal(cond(missing, "Completed")?.reason, "VirtualMachineSnapshotNotFound");
  });
});

describe("Deckhouse simulator: legacy VirtualMachineRestore", () => {
  before(async () => {
    // Cluster-scoped and shared by every test file: installed once if absent, never deleted.
    const name = "virtualmachinerestores.virtualization.deckhouse.io";
    if (await c.getIfExists(Core.crds, name)) return;
    const crds = await loadCrds(projectCrdsDir(), { includeOptional: true });
    await installCrds(
      c,
      crds.filter((crd) => crd.metadata.name === name),
    );
  });

  async function vmRestore(name: string, snapshot: string, restoreMode: string): Promise<Json> {
    const body = {
      apiVersion: apiVersionOf(Deckhouse.vmRestores),
      kind: "VirtualMachineRestore",
      metadata: { name, namespace: ns },
      spec: { restoreMode, virtualMachineSnapshotName: snapshot },
    };
    // The simulator starts watching the new CRD on its own; until its API is served, retry.
    for (let i = 0; ; i++) {
      try {
        await c.create(Deckhouse.vmRestores, body);
        break;
      } catch (err) {
        if (i >= 50 || (err as { code?: number }).code !== 404) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return waitFor(c, Deckhouse.vmRestores, name, ns, phaseIs("Ready", "Failed"));
  }

  it("Safe refuses a running VM; Forced stops it, restores the data and starts it again", async () => {
    await vm("leg", { agent: true });
    await vmSnapshot("leg-1", "leg");
    await waitVms("leg-1", phaseIs("Ready"));
    await writeData("leg-root", "leg-root-v2");

    const safe = await vmRestore("leg-safe", "leg-1", "Safe");
    assert.equal(safe.status.phase, "Failed");
    assert.equal(cond(safe, "VirtualMachineRestoreReady")?.reason, "VirtualMachineIsNotStopped");
    assert.equal(dataOf(await get(Deckhouse.disks, "leg-root")), "leg-root-v2");

    const forced = await vmRestore("leg-forced", "leg-1", "Forced");
    assert.equal(forced.status.phase, "Ready", JSON.stringify(forced.status.conditions));
    assert.equal(cond(forced, "VirtualMachineRestoreReady")?.status, "True");
    assert.equal(dataOf(await get(Deckhouse.disks, "leg-root")), "leg-root-v1");
    assert.equal((await get(Deckhouse.vms, "leg")).status.phase, "Running");
  });

  it("Safe restores a stopped VM and leaves it stopped", async () => {
    await vm("legoff", { running: false });
    await vmSnapshot("legoff-1", "legoff");
    await waitVms("legoff-1", phaseIs("Ready"));
    await writeData("legoff-root", "legoff-root-v2");
    const safe = await vmRestore("legoff-safe", "legoff-1", "Safe");
    assert.equal(safe.status.phase, "Ready", JSON.stringify(safe.status.conditions));
    assert.equal(dataOf(await get(Deckhouse.disks, "legoff-root")), "legoff-root-v1");
    assert.equal((await get(Deckhouse.vms, "legoff")).status.phase, "Stopped");
  });
});
