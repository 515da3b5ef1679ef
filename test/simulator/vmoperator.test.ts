// The simulated vSphere VM Operator (VirtualMachine, VirtualMachineSnapshot, revert) against the
// real API server, with the project's CRDs or the upstream ones (VMSNAP_CRDS_DIR).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, Csi, apiVersionOf } from "../../src/kube/resources.js";
import {
  ensureSimStorage,
  pvcManifest,
  vmoVmManifest,
  type VmoVmOptions,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { cond, waitFor, waitGone, type Json } from "../helpers/kube.js";

const READY = "VirtualMachineSnapshotReady";
const CREATED = "VirtualMachineSnapshotCreated";
const CSI_SYNCED = "VirtualMachineSnapshotCSISynced";
const REVERT = "VirtualMachineSnapshotRevertSucceeded";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "sim-vmop");
});

/** A VM with one PVC `<name>-disk` (data `<name>-disk-v1` unless given), observed running. */
async function vm(
  name: string,
  o: Partial<VmoVmOptions> & { data?: string; boot?: string; size?: string } = {},
): Promise<Json> {
  await c.create(
    Core.pvcs,
    pvcManifest({
      name: `${name}-disk`,
      namespace: ns,
      data: o.data ?? `${name}-disk-v1`,
      size: o.size ?? "10Gi",
    }),
  );
  await c.create(
    VmOp.vms,
    vmoVmManifest({
      name,
      namespace: ns,
      claims: [{ name: "disk", claimName: `${name}-disk` }],
      ...o,
      annotations: { ...(o.boot ? { [SIM.data]: o.boot } : {}), ...(o.annotations ?? {}) },
    }),
  );
  const power = o.powerState ?? "PoweredOn";
  return waitFor(
    c,
    VmOp.vms,
    name,
    ns,
    (v) => v.status?.powerState === power && Boolean(v.status?.uniqueID),
  );
}

async function snapshot(
  name: string,
  vmName: string,
  o: { memory?: boolean; quiesceTimeout?: string; description?: string } = {},
) {
  await c.create(VmOp.snapshots, {
    apiVersion: apiVersionOf(VmOp.snapshots),
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: {
      vmName,
      ...(o.memory !== undefined ? { memory: o.memory } : {}),
      ...(o.quiesceTimeout ? { quiesce: { timeout: o.quiesceTimeout } } : {}),
      ...(o.description ? { description: o.description } : {}),
    },
  });
}

const isReady = (s: Json) => cond(s, READY)?.status === "True";
const waitReady = (name: string) => waitFor(c, VmOp.snapshots, name, ns, isReady);
const getVm = (name: string) => c.get(VmOp.vms, name, ns) as Promise<Json>;
const getSnap = (name: string) => c.get(VmOp.snapshots, name, ns) as Promise<Json>;
const names = (refs: Json[] | undefined) => (refs ?? []).map((r) => `${r.type}/${r.name}`);
const parentOf = (s: Json) => s.metadata.annotations?.["sim.vmsnap.io/parent"] as string;

async function revertTo(vmName: string, snapshotName: string | null): Promise<void> {
  await c.patch(VmOp.vms, vmName, ns, { spec: { currentSnapshotName: snapshotName } });
}

/** Reverted: spec.currentSnapshotName cleared, current = the target, no revert condition. */
function waitReverted(vmName: string, target: string): Promise<Json> {
  return waitFor(
    c,
    VmOp.vms,
    vmName,
    ns,
    (v) =>
      !v.spec.currentSnapshotName &&
      v.status?.currentSnapshot?.name === target &&
      cond(v, REVERT) === undefined,
  );
}

describe("VM Operator simulator: VirtualMachine", () => {
  it("reports power state, guest info only with running tools, a uniqueID and a boot fingerprint", async () => {
    const linux = await vm("tools", { annotations: { [SIM.guestAgent]: "true" } });
    assert.deepEqual(linux.status.guest, {
      guestID: "ubuntu64Guest",
      guestFullName: "Ubuntu Linux (64-bit)",
    });
    assert.match(linux.status.uniqueID, /^vm-\d+$/);
    assert.match(linux.metadata.annotations[SIM.data], /^boot-[0-9a-f]{8}$/);

    const win = await vm("win", {
      boot: "win-boot-v1",
      annotations: { [SIM.guestAgent]: "true", [SIM.guestOs]: "windows" },
    });
    assert.match(win.status.guest.guestFullName, /Windows/);
    assert.equal(win.metadata.annotations[SIM.data], "win-boot-v1", "a given fingerprint is kept");
    assert.notEqual(win.status.uniqueID, linux.status.uniqueID);

    const noTools = await vm("notools");
    assert.equal(noTools.status.guest, undefined, "no tools, no guest info");

    await c.patch(VmOp.vms, "tools", ns, { spec: { powerState: "PoweredOff" } });
    const off = await waitFor(
      c,
      VmOp.vms,
      "tools",
      ns,
      (v) => v.status.powerState === "PoweredOff",
    );
    assert.equal(off.status.guest, undefined, "a powered-off VM runs no tools");
    await c.patch(VmOp.vms, "tools", ns, { spec: { powerState: "Suspended" } });
    await waitFor(c, VmOp.vms, "tools", ns, (v) => v.status.powerState === "Suspended");
    await c.patch(VmOp.vms, "tools", ns, { spec: { powerState: "PoweredOn" } });
    const on = await waitFor(c, VmOp.vms, "tools", ns, (v) => v.status.powerState === "PoweredOn");
    assert.equal(on.status.guest.guestFullName, "Ubuntu Linux (64-bit)");
  });
});

describe("VM Operator simulator: VirtualMachineSnapshot", () => {
  it("a memory + quiesce snapshot becomes Ready with conditions, label, finalizer, owner, storage", async () => {
    const web = await vm("web", {
      boot: "web-boot-v1",
      labels: { tier: "web" },
      annotations: { [SIM.guestAgent]: "true" },
    });
    await snapshot("web-1", "web", {
      memory: true,
      quiesceTimeout: "10m",
      description: "before upgrade",
    });
    const snap = await waitReady("web-1");
    for (const type of [CREATED, CSI_SYNCED, READY]) {
      assert.equal(cond(snap, type)?.status, "True", type);
      assert.equal(cond(snap, type)?.reason, "True", type);
    }
    assert.equal(snap.metadata.labels["snapshot.vmoperator.vmware.com/vm-name"], "web");
    assert.ok(snap.metadata.finalizers.includes("vmoperator.vmware.com/virtualmachinesnapshot"));
    assert.deepEqual(
      snap.metadata.ownerReferences.map((o: Json) => [o.kind, o.name, o.uid]),
      [["VirtualMachine", "web", web.metadata.uid]],
    );
    assert.equal(snap.status.quiesced, true);
    assert.equal(snap.status.powerState, "PoweredOn", "memory keeps the power state");
    assert.match(snap.status.uniqueID, /^snapshot-\d+$/);
    assert.deepEqual(snap.status.storage, {
      used: "14Gi",
      // The disk under its PVC's class, the memory under the VM's spec.storageClass.
      requested: [
        { storageClass: "sim-csi", total: "10Gi" },
        { storageClass: "wcp-storage", total: "4Gi" },
      ],
    });
    assert.deepEqual(JSON.parse(snap.metadata.annotations[SIM.data]), {
      boot: "web-boot-v1",
      volumes: { "web-disk": "web-disk-v1" },
    });
    const saved = JSON.parse(snap.metadata.annotations["sim.vmsnap.io/vm"]);
    assert.deepEqual(saved.spec, web.spec);
    assert.deepEqual(saved.labels, web.metadata.labels);
    assert.equal(saved.annotations[SIM.data], "web-boot-v1");
    assert.equal(parentOf(snap), "", "the first snapshot is a root");

    const after = await getVm("web");
    assert.deepEqual(after.status.currentSnapshot, { type: "Managed", name: "web-1" });
    assert.deepEqual(names(after.status.rootSnapshots), ["Managed/web-1"]);

    // Without memory: PoweredOff, not quiesced, disks only.
    await snapshot("web-2", "web");
    const plain = await waitReady("web-2");
    assert.equal(plain.status.powerState, "PoweredOff");
    assert.equal(plain.status.quiesced, false);
    assert.equal(plain.status.storage.used, "10Gi");
  });

  it("creates one snapshot at a time per VM, oldest first", async () => {
    await vm("seq", { annotations: { [SIM.snapshotDelay]: "1s" } });
    await snapshot("seq-a", "seq");
    await snapshot("seq-b", "seq");
    const waiting = await waitFor(c, VmOp.snapshots, "seq-b", ns, (s) =>
      String(cond(s, READY)?.message).includes('older snapshot "seq-a"'),
    );
    assert.equal(cond(waiting, READY)?.reason, "VirtualMachineSnapshotWaitingForCreation");
    assert.equal(cond(waiting, CREATED), undefined, "not started while the older one runs");
    const a = await waitReady("seq-a");
    const b = await getSnap("seq-b");
    assert.notEqual(cond(b, CREATED)?.status, "True", "the newer one is created after");
    const b2 = await waitReady("seq-b");
    assert.equal(parentOf(b2), "seq-a");
    assert.ok(
      Date.parse(b2.metadata.annotations["sim.vmsnap.io/taken-at"]) >=
        Date.parse(a.metadata.annotations["sim.vmsnap.io/taken-at"]) + 1000,
      "the newer one was taken after the older one was created (1s delay)",
    );
  });

  it("keeps the snapshot tree: parent, children, current and roots, with branches after a revert", async () => {
    await vm("tree");
    await snapshot("tree-1", "tree");
    await snapshot("tree-2", "tree");
    await waitReady("tree-2");
    const one = await getSnap("tree-1");
    assert.deepEqual(names(one.status.children), ["Managed/tree-2"]);
    assert.equal(parentOf(await getSnap("tree-2")), "tree-1");
    let v = await getVm("tree");
    assert.deepEqual(v.status.currentSnapshot, { type: "Managed", name: "tree-2" });
    assert.deepEqual(names(v.status.rootSnapshots), ["Managed/tree-1"]);

    // Revert to tree-1, then snapshot: a second branch under tree-1.
    await revertTo("tree", "tree-1");
    await waitReverted("tree", "tree-1");
    await snapshot("tree-3", "tree");
    const three = await waitReady("tree-3");
    assert.equal(parentOf(three), "tree-1");
    assert.deepEqual(names((await getSnap("tree-1")).status.children), [
      "Managed/tree-2",
      "Managed/tree-3",
    ]);
    v = await getVm("tree");
    assert.equal(v.status.currentSnapshot.name, "tree-3");
    assert.deepEqual(names(v.status.rootSnapshots), ["Managed/tree-1"]);
  });

  it("refuses VKS/TKG nodes and VMs with a shared SCSI controller", async () => {
    await vm("vks", { labels: { "cluster.x-k8s.io/cluster-name": "tkc-1" } });
    await vm("shared", { sharedScsi: true });
    await snapshot("vks-1", "vks");
    await snapshot("shared-1", "shared");
    const vks = await waitFor(
      c,
      VmOp.snapshots,
      "vks-1",
      ns,
      (s) => cond(s, CREATED)?.reason === "VirtualMachineSnapshotCreationFailed",
    );
    assert.equal(cond(vks, CREATED)?.status, "False");
    assert.match(cond(vks, CREATED)?.message, /not allowed for VKS\/TKG nodes/);
    assert.equal(cond(vks, READY)?.status, "False");
    const shared = await waitFor(
      c,
      VmOp.snapshots,
      "shared-1",
      ns,
      (s) => cond(s, CREATED)?.reason === "VirtualMachineSnapshotCreationFailed",
    );
    assert.match(cond(shared, CREATED)?.message, /unsupported sharingMode for snapshot: Physical/);
    assert.equal(cond(shared, READY)?.status, "False");
    assert.equal((await getVm("vks")).status.currentSnapshot, undefined);
  });

  it("fail: stuck never creates (and blocks newer ones); fail: freeze fails a quiesced snapshot", async () => {
    await vm("stuck", { annotations: { [SIM.fail]: "stuck" } });
    await snapshot("stuck-1", "stuck");
    await snapshot("stuck-2", "stuck");
    const s1 = await waitFor(
      c,
      VmOp.snapshots,
      "stuck-1",
      ns,
      (s) => cond(s, CREATED)?.reason === "VirtualMachineSnapshotCreationInProgress",
    );
    assert.equal(cond(s1, READY)?.status, "False");
    await waitFor(c, VmOp.snapshots, "stuck-2", ns, (s) =>
      String(cond(s, READY)?.message).includes('older snapshot "stuck-1"'),
    );
    // The hook holds it: removing the annotation lets both complete, in order.
    await c.patch(VmOp.vms, "stuck", ns, { metadata: { annotations: { [SIM.fail]: null } } });
    await waitReady("stuck-2");
    assert.equal(parentOf(await getSnap("stuck-2")), "stuck-1");

    await vm("frozen", { annotations: { [SIM.guestAgent]: "true", [SIM.fail]: "freeze" } });
    await snapshot("frozen-1", "frozen", { quiesceTimeout: "10m" });
    const f = await waitFor(
      c,
      VmOp.snapshots,
      "frozen-1",
      ns,
      (s) => cond(s, CREATED)?.reason === "VirtualMachineSnapshotCreationFailed",
    );
    assert.match(cond(f, CREATED)?.message, /quiesce/);
    assert.equal(cond(f, READY)?.status, "False");
  });

  it("deletion re-parents children to the parent and moves the current snapshot", async () => {
    await vm("del");
    for (const n of ["del-1", "del-2", "del-3"]) await snapshot(n, "del");
    await waitReady("del-3");
    assert.equal(parentOf(await getSnap("del-3")), "del-2");

    // A middle node: its child moves up.
    await c.delete(VmOp.snapshots, "del-2", ns);
    await waitGone(c, VmOp.snapshots, "del-2", ns);
    assert.equal(parentOf(await getSnap("del-3")), "del-1");
    assert.deepEqual(names((await getSnap("del-1")).status.children), ["Managed/del-3"]);
    assert.equal((await getVm("del")).status.currentSnapshot.name, "del-3");

    // The current snapshot: current becomes its parent.
    await c.delete(VmOp.snapshots, "del-3", ns);
    await waitGone(c, VmOp.snapshots, "del-3", ns);
    let v = await getVm("del");
    assert.deepEqual(v.status.currentSnapshot, { type: "Managed", name: "del-1" });
    assert.equal((await getSnap("del-1")).status.children, undefined);

    // A root with a child: the child becomes a root.
    await snapshot("del-4", "del");
    assert.equal(parentOf(await waitReady("del-4")), "del-1");
    await c.delete(VmOp.snapshots, "del-1", ns);
    await waitGone(c, VmOp.snapshots, "del-1", ns);
    assert.equal(parentOf(await getSnap("del-4")), "");
    v = await getVm("del");
    assert.deepEqual(names(v.status.rootSnapshots), ["Managed/del-4"]);
    assert.equal(v.status.currentSnapshot.name, "del-4");

    // The last one: no current snapshot, no roots.
    await c.delete(VmOp.snapshots, "del-4", ns);
    await waitGone(c, VmOp.snapshots, "del-4", ns);
    v = await getVm("del");
    assert.equal(v.status.currentSnapshot, undefined);
    assert.equal(v.status.rootSnapshots, undefined);
  });

  it("deleting a VM deletes its snapshots (the owner reference, as the garbage collector would)", async () => {
    await vm("gone");
    await snapshot("gone-1", "gone");
    await waitReady("gone-1");
    await c.delete(VmOp.vms, "gone", ns);
    await waitGone(c, VmOp.snapshots, "gone-1", ns);
  });
});

describe("VM Operator simulator: revert", () => {
  it("returns exactly the snapshot's data, spec, labels and annotations; no memory → PoweredOff", async () => {
    await vm("app", {
      boot: "app-boot-v1",
      labels: { tier: "web" },
      annotations: { [SIM.guestAgent]: "true", note: "v1" },
    });
    await snapshot("app-v1", "app");
    const snap = await waitReady("app-v1");
    const saved = JSON.parse(snap.metadata.annotations["sim.vmsnap.io/vm"]);

    // The VM moves on: new data on both disks, new labels, annotations and spec.
    await c.patch(Core.pvcs, "app-disk", ns, {
      metadata: { annotations: { [SIM.data]: "app-disk-v2" } },
    });
    await c.patch(VmOp.vms, "app", ns, {
      metadata: {
        labels: { tier: "db", extra: "yes" },
        annotations: { [SIM.data]: "app-boot-v2", note: "v2" },
      },
      spec: { className: "best-effort-large" },
    });
    await waitFor(c, VmOp.vms, "app", ns, (v) => v.spec.className === "best-effort-large");

    await revertTo("app", "app-v1");
    const v = await waitReverted("app", "app-v1");
    const pvc = await c.get(Core.pvcs, "app-disk", ns);
    assert.equal(pvc.metadata.annotations?.[SIM.data], "app-disk-v1", "the disk's data is back");
    assert.equal(v.metadata.annotations[SIM.data], "app-boot-v1", "the boot disk's data is back");
    assert.equal(v.metadata.annotations.note, "v1");
    assert.deepEqual(v.metadata.labels, saved.labels);
    assert.deepEqual(v.metadata.annotations, saved.annotations);
    assert.deepEqual(v.spec, { ...saved.spec, powerState: "PoweredOff" });
    const off = await waitFor(c, VmOp.vms, "app", ns, (x) => x.status.powerState === "PoweredOff");
    assert.equal(off.status.guest, undefined);

    // With memory: the saved power state comes back.
    await c.patch(VmOp.vms, "app", ns, { spec: { powerState: "PoweredOn" } });
    await waitFor(c, VmOp.vms, "app", ns, (x) => x.status.powerState === "PoweredOn");
    await snapshot("app-mem", "app", { memory: true });
    assert.equal((await waitReady("app-mem")).status.powerState, "PoweredOn");
    await c.patch(VmOp.vms, "app", ns, { spec: { powerState: "PoweredOff" } });
    await waitFor(c, VmOp.vms, "app", ns, (x) => x.status.powerState === "PoweredOff");
    await revertTo("app", "app-mem");
    const on = await waitReverted("app", "app-mem");
    assert.equal(on.spec.powerState, "PoweredOn");
    const running = await waitFor(
      c,
      VmOp.vms,
      "app",
      ns,
      (x) => x.status.powerState === "PoweredOn",
    );
    assert.equal(running.status.guest?.guestFullName, "Ubuntu Linux (64-bit)");
  });

  it("is blocked by a CSI VolumeSnapshot taken after the snapshot; clearing the request aborts it", async () => {
    await vm("blk");
    await snapshot("blk-1", "blk");
    await waitReady("blk-1");
    await c.create(Csi.volumeSnapshots, {
      apiVersion: apiVersionOf(Csi.volumeSnapshots),
      kind: "VolumeSnapshot",
      metadata: { name: "blk-vs", namespace: ns },
      spec: {
        source: { persistentVolumeClaimName: "blk-disk" },
        volumeSnapshotClassName: "sim-csi-snapclass",
      },
    });
    const blocked = () =>
      waitFor(c, VmOp.vms, "blk", ns, (v) =>
        String(cond(v, REVERT)?.message).includes(
          "VolumeSnapshots should be deleted before retrying the revert",
        ),
      );
    await revertTo("blk", "blk-1");
    const v = await blocked();
    assert.equal(cond(v, REVERT)?.status, "False");
    assert.equal(cond(v, REVERT)?.reason, "VirtualMachineSnapshotRevertTaskFailed");
    assert.equal(v.spec.currentSnapshotName, "blk-1", "still requested");

    // Aborting: clearing spec.currentSnapshotName removes the condition.
    await revertTo("blk", null);
    await waitFor(c, VmOp.vms, "blk", ns, (x) => cond(x, REVERT) === undefined);

    // Retrying after deleting the VolumeSnapshot succeeds.
    await revertTo("blk", "blk-1");
    await blocked();
    await c.delete(Csi.volumeSnapshots, "blk-vs", ns);
    await waitReverted("blk", "blk-1");
  });

  it("reports a missing or not-ready target", async () => {
    await vm("miss", { annotations: { [SIM.fail]: "stuck" } });
    await revertTo("miss", "nope");
    const missing = await waitFor(
      c,
      VmOp.vms,
      "miss",
      ns,
      (v) => cond(v, REVERT)?.reason === "VirtualMachineSnapshotRevertFailed",
    );
    assert.match(cond(missing, REVERT)?.message, /"nope" not found/);
    await snapshot("nope", "miss");
    const notReady = await waitFor(
      c,
      VmOp.vms,
      "miss",
      ns,
      (v) => cond(v, REVERT)?.reason === "VirtualMachineSnapshotRevertSkipped",
    );
    assert.match(cond(notReady, REVERT)?.message, /not-ready snapshot "nope"/);
  });
});
