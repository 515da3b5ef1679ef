// The simulated KubeVirt restore and clone controllers: data fingerprints come back exactly.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt, type KubeObject } from "../../src/kube/resources.js";
import { ensureSimStorage, pvcManifest, vmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import {
  cond,
  kvRestore,
  kvSnapshot,
  waitFor,
  waitGone,
  vmDiskFingerprints,
} from "../helpers/kube.js";

let c: KubeClient;
let ns: string;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const snapshot = (name: string, vm: string) => kvSnapshot(ns, name, vm) as KubeObject;
const restore = (name: string, vm: string, snap: string, extra: Json = {}) =>
  kvRestore(ns, name, vm, snap, extra) as KubeObject;

/** The data fingerprint of each disk of a VM, by volume name, read through its claims. */
async function fingerprints(vmName: string): Promise<Record<string, string>> {
  return vmDiskFingerprints(c, ns, vmName);
}

async function writeData(claim: string, data: string) {
  await c.patch(Core.pvcs, claim, ns, { metadata: { annotations: { [SIM.data]: data } } });
}

async function twoDiskVm(name: string, runStrategy: "Always" | "Halted") {
  await c.create(Core.pvcs, pvcManifest({ name: `${name}-root`, namespace: ns, data: "root-v1" }));
  await c.create(Core.pvcs, pvcManifest({ name: `${name}-data`, namespace: ns, data: "data-v1" }));
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy,
      mac: "02:00:00:00:00:01",
      disks: [
        { name: "root", claimName: `${name}-root` },
        { name: "data", claimName: `${name}-data` },
      ],
    }),
  );
  await waitFor(
    c,
    KubeVirt.vms,
    name,
    ns,
    (v) => v.status?.printableStatus === (runStrategy === "Always" ? "Running" : "Stopped"),
  );
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "sim-restore");
});

describe("KubeVirt restore controller", () => {
  it("restores a stopped VM to exactly the snapshot's data, keeping its run strategy", async () => {
    await twoDiskVm("db", "Halted");
    await c.create(KubeVirt.snapshots, snapshot("db-snap", "db"));
    await waitFor(c, KubeVirt.snapshots, "db-snap", ns, (s) => s.status?.readyToUse === true);
    const before = await fingerprints("db");
    assert.deepEqual(before, { root: "root-v1", data: "data-v1" });

    await writeData("db-root", "root-v2-broken");
    await writeData("db-data", "data-v2");
    assert.deepEqual(await fingerprints("db"), { root: "root-v2-broken", data: "data-v2" });

    await c.create(KubeVirt.restores, restore("db-restore", "db", "db-snap"));
    const done = await waitFor(
      c,
      KubeVirt.restores,
      "db-restore",
      ns,
      (r) => r.status?.complete === true,
    );
    assert.equal(cond(done, "Ready")?.reason, "Operation complete");
    assert.ok(done.status.restoreTime);
    assert.equal(done.status.restores.length, 2);
    assert.ok(done.metadata.finalizers.includes("snapshot.kubevirt.io/vmrestore-protection"));
    assert.equal(done.metadata.ownerReferences?.[0]?.kind, "VirtualMachine");
    for (const r of done.status.restores as Json[])
      assert.equal(r.persistentVolumeClaim, `restore-${done.metadata.uid}-${r.volumeName}`);

    assert.deepEqual(await fingerprints("db"), { root: "root-v1", data: "data-v1" });
    const vm = (await c.get(KubeVirt.vms, "db", ns)) as Json;
    assert.equal(vm.spec.runStrategy, "Halted");
    assert.equal(
      vm.metadata.annotations["restore.kubevirt.io/lastRestoreUID"],
      `db-restore-${done.metadata.uid}`,
    );
    assert.ok(!vm.status.restoreInProgress);
    const pvc = await c.get(Core.pvcs, `restore-${done.metadata.uid}-root`, ns);
    assert.equal((pvc.spec as Json).dataSource.kind, "VolumeSnapshot");
    assert.equal(pvc.metadata.labels?.["restore.kubevirt.io/source-vm-name"], "db");
  });

  it("a running VM: FailImmediate fails, WaitGracePeriod waits, StopTarget stops it and restores", async () => {
    await twoDiskVm("app", "Always");
    await c.create(KubeVirt.snapshots, snapshot("app-snap", "app"));
    await waitFor(c, KubeVirt.snapshots, "app-snap", ns, (s) => s.status?.readyToUse === true);
    await writeData("app-data", "data-after");

    await c.create(
      KubeVirt.restores,
      restore("app-fail", "app", "app-snap", { targetReadinessPolicy: "FailImmediate" }),
    );
    const failed = await waitFor(
      c,
      KubeVirt.restores,
      "app-fail",
      ns,
      (r) => cond(r, "Failure")?.status === "True",
    );
    assert.equal(
      cond(failed, "Failure")?.reason,
      "Restore target VMI must be powered off before restore operation",
    );
    assert.equal(failed.status.complete, false);
    // A failed restore never completes: KubeVirt's restore admitter refuses the next one of the
    // VM while it exists (test/fidelity/admission.test.ts), so it is deleted first.
    await c.delete(KubeVirt.restores, "app-fail", ns);
    await waitGone(c, KubeVirt.restores, "app-fail", ns);

    await c.create(KubeVirt.restores, restore("app-wait", "app", "app-snap"));
    const waiting = await waitFor(
      c,
      KubeVirt.restores,
      "app-wait",
      ns,
      (r) => cond(r, "Ready")?.reason === "Waiting for target to be ready",
    );
    assert.equal(waiting.status.complete, false);
    await c.delete(KubeVirt.restores, "app-wait", ns);
    await waitGone(c, KubeVirt.restores, "app-wait", ns);

    await c.create(
      KubeVirt.restores,
      restore("app-stop", "app", "app-snap", { targetReadinessPolicy: "StopTarget" }),
    );
    await waitFor(c, KubeVirt.restores, "app-stop", ns, (r) => r.status?.complete === true, 30_000);
    const vm = (await c.get(KubeVirt.vms, "app", ns)) as Json;
    assert.equal(vm.spec.runStrategy, "Halted");
    assert.deepEqual(await fingerprints("app"), { root: "root-v1", data: "data-v1" });
  });

  it("refuses snapshots that are missing, not ready, or of another VM", async () => {
    await twoDiskVm("other", "Halted");
    await c.create(KubeVirt.restores, restore("missing", "other", "nope"));
    await waitFor(
      c,
      KubeVirt.restores,
      "missing",
      ns,
      (r) => cond(r, "Ready")?.reason === `VMSnapshot ${ns}/nope does not exist`,
    );

    // That restore never completes: as long as it exists, no other restore of "other" may run.
    await c.delete(KubeVirt.restores, "missing", ns);
    await waitGone(c, KubeVirt.restores, "missing", ns);

    // db-snap belongs to "db": restoring it onto "other" (an existing, different VM) never
    // happens. As upstream (restore.go doUpdateError), the restore does not fail: it stays not
    // complete, Ready False with the error as reason, and no Failure condition.
    await c.create(KubeVirt.restores, restore("wrongvm", "other", "db-snap"));
    const wrong = await waitFor(
      c,
      KubeVirt.restores,
      "wrongvm",
      ns,
      (r) =>
        cond(r, "Ready")?.reason ===
        "restore source and restore target are different but restore target already exists",
    );
    assert.equal(wrong.status?.complete, false);
    assert.equal(cond(wrong, "Failure"), undefined);
  });

  it("restoring a snapshot onto a new name creates a Halted VM with the snapshot's data", async () => {
    await c.create(KubeVirt.restores, restore("to-new", "db-copy", "db-snap"));
    await waitFor(c, KubeVirt.restores, "to-new", ns, (r) => r.status?.complete === true);
    const copy = (await c.get(KubeVirt.vms, "db-copy", ns)) as Json;
    assert.equal(copy.spec.runStrategy, "Halted");
    assert.deepEqual(await fingerprints("db-copy"), { root: "root-v1", data: "data-v1" });
  });
});

describe("KubeVirt clone controller", () => {
  it("clones a VM from a snapshot: new VM, snapshot data, MAC stripped, temporary restore removed", async () => {
    await c.create(KubeVirt.clones, {
      apiVersion: "clone.kubevirt.io/v1beta1",
      kind: "VirtualMachineClone",
      metadata: { name: "app-clone", namespace: ns },
      spec: {
        source: {
          apiGroup: "snapshot.kubevirt.io",
          kind: "VirtualMachineSnapshot",
          name: "app-snap",
        },
        target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "app-2" },
      },
    });
    const done = await waitFor(
      c,
      KubeVirt.clones,
      "app-clone",
      ns,
      (x) => x.status?.phase === "Succeeded" || x.status?.phase === "Failed",
      30_000,
    );
    assert.equal(done.status.phase, "Succeeded", JSON.stringify(done.status));
    assert.equal(done.status.targetName, "app-2");
    assert.equal(done.status.snapshotName, "app-snap");
    assert.equal(cond(done, "Ready")?.status, "True");
    const vm = (await c.get(KubeVirt.vms, "app-2", ns)) as Json;
    assert.equal(vm.spec.template.spec.domain.devices.interfaces[0].macAddress, undefined);
    assert.deepEqual(await fingerprints("app-2"), { root: "root-v1", data: "data-v1" });
    // The temporary restore is deleted (its finalizer is released asynchronously).
    await waitGone(c, KubeVirt.restores, `tmp-restore-${done.metadata.uid}`, ns);
  });

  it("fails a clone whose snapshot does not exist", async () => {
    await c.create(KubeVirt.clones, {
      apiVersion: "clone.kubevirt.io/v1beta1",
      kind: "VirtualMachineClone",
      metadata: { name: "bad-clone", namespace: ns },
      spec: {
        source: { apiGroup: "snapshot.kubevirt.io", kind: "VirtualMachineSnapshot", name: "nope" },
      },
    });
    const done = await waitFor(
      c,
      KubeVirt.clones,
      "bad-clone",
      ns,
      (x) => x.status?.phase === "Failed",
    );
    assert.match(cond(done, "Ready")?.reason, /not found/);
  });
});
