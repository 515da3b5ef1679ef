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
    assert.equal(loose.status.consistent, false);
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
    assert.equal(loose.status.consistent, false);
  });

  it("a stopped VM is snapshotted consistently without an agent", async () => {
    await vm("cold", { runPolicy: "AlwaysOff" });
    await vmSnapshot("cold-1", "cold");
    const snap = await waitVms("cold-1");
    assert.equal(snap.status.phase, "Ready");
    assert.equal(snap.status.consistent, true);
  });

  it("waits Pending (BlockDevicesNotReady) while a disk is resizing", async () => {
    await vm("rsz", { agent: true });
    await c.patch(Deckhouse.disks, "rsz-root", ns, {
      metadata: { annotations: { "sim.vmsnap.io/disk-phase": "Resizing" } },
    });
    await waitFor(c, Deckhouse.disks, "rsz-root", ns, phaseIs("Resizing"));
    await vmSnapshot("rsz-1", "rsz");
    const pending = await waitVms("rsz-1", (s) =>
      Boolean(cond(s, "VirtualMachineSnapshotReady")?.reason),
    );
    assert.equal(pending.status.phase, "Pending");
    assert.equal(cond(pending, "VirtualMachineSnapshotReady")?.reason, "BlockDevicesNotReady");
    await c.patch(Deckhouse.disks, "rsz-root", ns, {
      metadata: { annotations: { "sim.vmsnap.io/disk-phase": null } },
    });
    assert.equal((await waitVms("rsz-1")).status.phase, "Ready");
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
    assert.equal(loose.status.consistent, false);
    assert.equal(dataOf(loose), "vdvm-root-v2");
  });

  it("waits for a missing disk; a disk restored from it carries its fingerprint", async () => {
    await diskSnapshot("early", "comes-later");
    const pending = await waitVds("early", (s) =>
      Boolean(cond(s, "VirtualDiskSnapshotReady")?.reason),
    );
    assert.equal(pending.status.phase, "Pending");
    assert.equal(cond(pending, "VirtualDiskSnapshotReady")?.reason, "WaitingForTheVirtualDisk");
    await disk("comes-later", "later-v1", "2Gi");
    await waitVds("early");
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
    await c.create(Deckhouse.disks, restored("from-early", "2Gi", "early"));
    const ok = await waitFor(c, Deckhouse.disks, "from-early", ns, phaseIs("Ready", "Failed"));
    assert.equal(ok.status.phase, "Ready");
    assert.equal(dataOf(ok), "later-v1", "the snapshot's data, not the live disk's");

    await c.create(Deckhouse.disks, restored("too-small", "1Gi", "early"));
    const small = await waitFor(c, Deckhouse.disks, "too-small", ns, phaseIs("Ready", "Failed"));
    assert.equal(small.status.phase, "Failed");
    assert.match(cond(small, "Ready")?.message, /smaller/);

    await c.create(Deckhouse.disks, restored("no-source", "2Gi", "does-not-exist"));
    const missing = await waitFor(c, Deckhouse.disks, "no-source", ns, phaseIs("Ready", "Failed"));
    assert.equal(missing.status.phase, "Failed");
    assert.match(cond(missing, "Ready")?.message, /not found/);
  });
});

void Core;
