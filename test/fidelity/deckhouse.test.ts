// Fidelity of the Deckhouse simulator to deckhouse/virtualization (v1.10 line), and vmsnap against
// it. Each behaviour is first shown with kubectl alone (the playground does what upstream does),
// then met by vmsnap through its CLI as vmsnap-user: volume snapshots requested without a class,
// VM snapshots of a VM in transition, Stop/Start against the run policy, CreateVirtualMachine
// completing before its disks, `consistent` true or absent, Migrate taking time, and one
// operation per VM at a time.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import {
  Core,
  Csi,
  Deckhouse,
  IS_DEFAULT_VSC,
  apiVersionOf,
  type KubeObject,
  type ResourceType,
} from "../../src/kube/resources.js";
import { Clone, ErrorObject, Preflight, Restore, Snapshot } from "../../src/core/schema.js";
import { dhDiskManifest, dhVmManifest, ensureSimStorage } from "../../src/playground/fixtures.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult, type CliResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { cond, type Json } from "../helpers/kube.js";
import { dhFingerprints, makeDhVm, waitDhVmPhase, writeDhDisks } from "../helpers/deckhouse.js";
import {
  kubectl,
  kubectlCondition,
  kubectlCreate,
  kubectlGet,
  kubectlOk,
  kubectlWait,
  DH_API,
  dhRes,
  dhVmSnapshotManifest,
  dhVmopManifest,
} from "./dvp-kubectl.js";

const res = dhRes;

let c: KubeClient;
let ns: string;
/** Cluster-scoped objects this file made (StorageClasses, VolumeSnapshotClasses). */
const clusterObjects: { type: ResourceType; name: string }[] = [];

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "fid-dh");
});

after(async () => {
  for (const o of clusterObjects) await c.delete(o.type, o.name).catch(() => undefined);
  c?.close();
});

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);

function expectExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, showResult(r));
}

async function writesSince(since: Date): Promise<string[]> {
  return (await writesIn(ns, since)).map((e) =>
    `${e.verb} ${e.objectRef?.resource ?? "?"} ${e.objectRef?.name ?? ""}`.trim(),
  );
}

const vmSnapshot = (name: string, vm: string, requiredConsistency = true) =>
  dhVmSnapshotManifest(ns, name, vm, requiredConsistency);
const vmop = (name: string, vm: string, type: string, annotations: Record<string, string> = {}) =>
  dhVmopManifest(ns, name, vm, type, { annotations });

/** A StorageClass of its own CSI driver (unique to this file), with the given snapshot classes. */
async function storageOfOwnDriver(tag: string, defaults: number): Promise<string> {
  const driver = `${tag}.${ns}.sim.vmsnap.io`;
  const scName = `${ns}-${tag}`;
  await c.create(Core.storageClasses, {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: scName },
    provisioner: driver,
    reclaimPolicy: "Delete",
    volumeBindingMode: "Immediate",
  } as KubeObject);
  clusterObjects.push({ type: Core.storageClasses, name: scName });
  for (let i = 1; i <= Math.max(defaults, 1); i++) {
    const name = `${ns}-${tag}-${i}`;
    await c.create(Csi.volumeSnapshotClasses, {
      apiVersion: apiVersionOf(Csi.volumeSnapshotClasses),
      kind: "VolumeSnapshotClass",
      metadata: { name, annotations: i <= defaults ? { [IS_DEFAULT_VSC]: "true" } : {} },
      driver,
      deletionPolicy: "Delete",
    } as KubeObject);
    clusterObjects.push({ type: Csi.volumeSnapshotClasses, name });
  }
  return scName;
}

/** A stopped Manual VM with one disk on the StorageClass. */
async function stoppedVmOn(name: string, storageClass: string): Promise<void> {
  const disk = `${name}-root`;
  await c.create(
    Deckhouse.disks,
    dhDiskManifest({ namespace: ns, name: disk, storageClass, data: `${disk}-v1` }),
  );
  await c.create(
    Deckhouse.vms,
    dhVmManifest({ namespace: ns, name, disks: [disk], runPolicy: "Manual", running: false }),
  );
  await waitDhVmPhase(c, ns, name, "Stopped", 60_000);
}

describe("Deckhouse: volume snapshots are requested without a class", () => {
  it("kubectl: without a default VolumeSnapshotClass for the disk's driver the VM snapshot fails", async () => {
    await stoppedVmOn("nodef", await storageOfOwnDriver("nodef", 0));
    await kubectlCreate(vmSnapshot("nodef-1", "nodef"));
    await kubectlWait(ns, res("virtualmachinesnapshots", "nodef-1"), "{.status.phase}", "Failed");
    const message = await kubectlCondition(
      ns,
      res("virtualmachinesnapshots", "nodef-1"),
      "VirtualMachineSnapshotReady",
    );
    assert.match(message, /cannot find default snapshot class/);
    const child = await kubectlGet(
      ns,
      res("virtualmachinesnapshots", "nodef-1"),
      "{.status.virtualDiskSnapshotNames[0]}",
    );
    const childMessage = await kubectlCondition(
      ns,
      res("virtualdisksnapshots", child),
      "VirtualDiskSnapshotReady",
    );
    assert.match(
      childMessage,
      /^VolumeSnapshot "vds-[0-9a-f-]+" has an error: Failed to set default snapshot class with error cannot find default snapshot class\.$/,
    );
  });

  it("kubectl: with two default VolumeSnapshotClasses for the driver the VM snapshot fails too", async () => {
    await stoppedVmOn("twodef", await storageOfOwnDriver("twodef", 2));
    await kubectlCreate(vmSnapshot("twodef-1", "twodef"));
    await kubectlWait(ns, res("virtualmachinesnapshots", "twodef-1"), "{.status.phase}", "Failed");
    const message = await kubectlCondition(
      ns,
      res("virtualmachinesnapshots", "twodef-1"),
      "VirtualMachineSnapshotReady",
    );
    assert.match(message, /2 default snapshot classes were found/);
  });

  it("vmsnap check names the driver, the disk and the fix; create is refused before any write", async () => {
    for (const [vm, tag, text] of [
      ["nodef", "nodef", /has no default VolumeSnapshotClass/],
      ["twodef", "twodef", /has 2 default VolumeSnapshotClasses/],
    ] as const) {
      const r = await vmsnap("check", vm, "-o", "json");
      expectExit(r, 1);
      const p = Preflight.parse(json(r));
      assert.equal(p.snapshottable, false);
      const problem = p.problems.find((x) => text.test(x.message));
      assert.ok(problem, showResult(r));
      assert.match(problem.message, new RegExp(`CSI driver ${tag}\\.${ns}\\.sim\\.vmsnap\\.io`));
      assert.match(problem.message, new RegExp(`disk ${vm}-root`));
      assert.match(problem.fix ?? "", /snapshot\.storage\.kubernetes\.io\/is-default-class/);
      const since = new Date();
      const created = await vmsnap("create", vm, "--name", `${vm}-2`, "--yes", "-o", "json");
      expectExit(created, 1);
      assert.equal(ErrorObject.parse(json(created)).code, "PreflightBlocked");
      assert.deepEqual(await writesSince(since), [], "a refusal writes nothing");
    }
  });

  it("vmsnap check shows the default class it will get; create succeeds with exactly one default", async () => {
    await makeDhVm(c, ns, "onedef", { runPolicy: "Manual", running: false, disks: ["root"] });
    const p = Preflight.parse(json(await vmsnap("check", "onedef", "-o", "json")));
    assert.equal(p.snapshottable, true);
    assert.equal(p.volumes[0]?.volumeSnapshotClass, "sim-csi-snapclass");
    const r = await vmsnap("create", "onedef", "--name", "onedef-1", "--yes", "-o", "json");
    expectExit(r, 0);
    assert.equal(Snapshot.parse(json(r)).readyToUse, true);
  });
});

describe("Deckhouse: Migrate takes time; a VM in transition is not snapshotted", () => {
  it("kubectl: Migrate stays InProgress with the VM Migrating; a VM snapshot meanwhile fails at once", async () => {
    await makeDhVm(c, ns, "mig", { agent: true, disks: ["root"] });
    await kubectlCreate(
      vmop("mig-move", "mig", "Migrate", { "sim.vmsnap.io/migration-duration": "20s" }),
    );
    await kubectlWait(
      ns,
      res("virtualmachineoperations", "mig-move"),
      "{.status.phase}",
      "InProgress",
    );
    await kubectlWait(ns, res("virtualmachines", "mig"), "{.status.phase}", "Migrating");
    await kubectlCreate(vmSnapshot("mig-1", "mig"));
    await kubectlWait(ns, res("virtualmachinesnapshots", "mig-1"), "{.status.phase}", "Failed");
    const ready = await kubectlCondition(
      ns,
      res("virtualmachinesnapshots", "mig-1"),
      "VirtualMachineReady",
    );
    assert.match(ready, /is in the "Migrating" phase/);
    const failed = await kubectlCondition(
      ns,
      res("virtualmachinesnapshots", "mig-1"),
      "VirtualMachineSnapshotReady",
    );
    assert.match(failed, /Cannot take a snapshot: the virtual machine "mig" is not ready\./);
    // Still migrating: the operation has not finished.
    assert.equal(
      await kubectlGet(ns, res("virtualmachineoperations", "mig-move"), "{.status.phase}"),
      "InProgress",
    );
  });

  it("vmsnap check refuses the Migrating VM with the reason; create writes nothing", async () => {
    const r = await vmsnap("check", "mig", "-o", "json");
    expectExit(r, 1);
    const p = Preflight.parse(json(r));
    const problem = p.problems.find((x) => /the VM is Migrating/.test(x.message));
    assert.ok(problem, showResult(r));
    assert.match(problem.message, /not Running or Stopped/);
    assert.match(problem.fix ?? "", /migration finishes/);
    const since = new Date();
    const created = await vmsnap("create", "mig", "--name", "mig-2", "--yes", "-o", "json");
    expectExit(created, 1);
    assert.deepEqual(await writesSince(since), []);
    // Once the migration is over the VM is Running again and snapshottable.
    await kubectlWait(
      ns,
      res("virtualmachineoperations", "mig-move"),
      "{.status.phase}",
      "Completed",
    );
    await waitDhVmPhase(c, ns, "mig", "Running", 60_000);
    const again = Preflight.parse(json(await vmsnap("check", "mig", "-o", "json")));
    assert.equal(again.snapshottable, true);
  });

  it("kubectl: a Pending VM (a disk missing) is not snapshotted either", async () => {
    await c.create(
      Deckhouse.vms,
      dhVmManifest({ namespace: ns, name: "pend", disks: ["pend-missing"] }),
    );
    await waitDhVmPhase(c, ns, "pend", "Pending", 60_000);
    await kubectlCreate(vmSnapshot("pend-1", "pend"));
    await kubectlWait(ns, res("virtualmachinesnapshots", "pend-1"), "{.status.phase}", "Failed");
    const r = await vmsnap("check", "pend", "-o", "json");
    expectExit(r, 1);
    assert.match(
      Preflight.parse(json(r))
        .problems.map((x) => x.message)
        .join("\n"),
      /the VM is Pending/,
    );
  });

  it("vmsnap waits for a running operation of the VM to finish before it sends its own", async () => {
    await makeDhVm(c, ns, "seq", { agent: true, runPolicy: "Manual", running: true });
    expectExit(await vmsnap("create", "seq", "--name", "seq-1", "--yes", "-o", "json"), 0);
    await kubectlCreate(
      vmop("seq-move", "seq", "Migrate", { "sim.vmsnap.io/migration-duration": "6s" }),
    );
    await kubectlWait(
      ns,
      res("virtualmachineoperations", "seq-move"),
      "{.status.phase}",
      "InProgress",
    );
    const r = await vmsnap("restore", "seq", "seq-1", "--stop", "--confirm", "seq-1", "-o", "json");
    expectExit(r, 0);
    const move = (await c.get(Deckhouse.vmops, "seq-move", ns)) as Json;
    const moved = Date.parse(cond(move, "Completed")?.lastTransitionTime);
    const mine = (await c.list(Deckhouse.vmops, ns)).items.filter(
      (o) => (o as Json).spec.virtualMachineName === "seq" && o.metadata.name !== "seq-move",
    ) as Json[];
    assert.deepEqual(
      mine.map((o) => o.spec.type).sort(),
      ["Restore", "Restore", "Start", "Stop"],
      "a DryRun check, the restore, the stop and the start",
    );
    for (const o of mine)
      assert.ok(
        Date.parse(o.metadata.creationTimestamp) >= moved,
        `${o.metadata.name} (${o.spec.type}) was created before the Migrate finished`,
      );
  });
});

describe("Deckhouse: Stop and Start do not apply to AlwaysOn and AlwaysOff VMs", () => {
  it("kubectl: Stop of an AlwaysOn VM and Start of an AlwaysOff VM fail NotApplicableForVirtualMachineRunPolicy", async () => {
    await makeDhVm(c, ns, "on", { agent: true, runPolicy: "AlwaysOn" });
    await makeDhVm(c, ns, "never", { runPolicy: "AlwaysOff", disks: ["root"] });
    for (const [name, vm, type, policy] of [
      ["on-stop", "on", "Stop", "AlwaysOn"],
      ["never-start", "never", "Start", "AlwaysOff"],
    ] as const) {
      await kubectlCreate(vmop(name, vm, type));
      await kubectlWait(ns, res("virtualmachineoperations", name), "{.status.phase}", "Failed");
      const path = '{.status.conditions[?(@.type=="Completed")]}';
      const completed = JSON.parse(
        await kubectlGet(ns, res("virtualmachineoperations", name), path),
      ) as Json;
      assert.equal(completed.reason, "NotApplicableForVirtualMachineRunPolicy");
      assert.equal(
        completed.message,
        `Operation type ${type} is not applicable for VirtualMachine with runPolicy ${policy}`,
      );
    }
    assert.equal(await kubectlGet(ns, res("virtualmachines", "on"), "{.status.phase}"), "Running");
  });

  it("vmsnap create --stop of an AlwaysOn VM is refused before any write", async () => {
    const since = new Date();
    const r = await vmsnap("create", "on", "--stop", "--yes", "-o", "json");
    expectExit(r, 1);
    const e = ErrorObject.parse(json(r));
    assert.equal(e.code, "PreflightBlocked");
    assert.match(e.message, /runPolicy is AlwaysOn: Deckhouse does not apply a Stop operation/);
    assert.deepEqual(await writesSince(since), []);
  });

  it("vmsnap restore --stop of an AlwaysOn VM: no Stop or Start; the Restore operation cycles the power; data back", async () => {
    expectExit(await vmsnap("create", "on", "--name", "on-1", "--yes", "-o", "json"), 0);
    const original = await dhFingerprints(c, ns, "on");
    await writeDhDisks(c, ns, "on", "v2");
    const plan = await vmsnap("restore", "on", "on-1", "--stop", "--dry-run");
    expectExit(plan, 0);
    assert.match(plan.stdout, /run policy \(AlwaysOn\) does not let vmsnap stop it/);
    const since = new Date();
    const r = await vmsnap("restore", "on", "on-1", "--stop", "--confirm", "on-1", "-o", "json");
    expectExit(r, 0);
    const rs = Restore.parse(json(r));
    assert.equal(rs.phase, "Succeeded");
    assert.equal(rs.restartedVm, true);
    assert.deepEqual(await dhFingerprints(c, ns, "on"), original);
    await waitDhVmPhase(c, ns, "on", "Running", 60_000);
    const types = await Promise.all(
      (await writesSince(since))
        .filter((w) => w.startsWith("create virtualmachineoperations "))
        .map(async (w) => ((await c.get(Deckhouse.vmops, w.split(" ")[2]!, ns)) as Json).spec.type),
    );
    assert.deepEqual(types.sort(), ["Restore", "Restore"], "a DryRun check and the restore only");
  });
});

describe("Deckhouse: CreateVirtualMachine completes once its objects exist", () => {
  it("kubectl: the operation is Completed while the new disks are still provisioning", async () => {
    await makeDhVm(c, ns, "src", { runPolicy: "Manual", running: false, disks: ["root"] });
    await kubectlCreate(vmSnapshot("src-1", "src"));
    await kubectlWait(ns, res("virtualmachinesnapshots", "src-1"), "{.status.phase}", "Ready");
    await kubectlOk([
      "-n",
      ns,
      "annotate",
      res("virtualmachinesnapshots", "src-1"),
      "sim.vmsnap.io/provision-delay=30s",
    ]);
    await kubectlCreate({
      apiVersion: DH_API,
      kind: "VirtualMachineSnapshotOperation",
      metadata: { name: "src-copy", namespace: ns },
      spec: {
        type: "CreateVirtualMachine",
        virtualMachineSnapshotName: "src-1",
        createVirtualMachine: { mode: "Strict", customization: { namePrefix: "k-" } },
      },
    });
    await kubectlWait(
      ns,
      res("virtualmachinesnapshotoperations", "src-copy"),
      "{.status.phase}",
      "Completed",
    );
    const disk = await kubectl(["-n", ns, "get", res("virtualdisks", "k-src-root"), "-o", "json"]);
    assert.equal(disk.code, 0, disk.stderr);
    assert.notEqual((JSON.parse(disk.stdout) as Json).status?.phase, "Ready");
    assert.equal(
      await kubectlGet(ns, res("virtualmachines", "k-src"), "{.metadata.name}"),
      "k-src",
    );
  });

  it("vmsnap clone reports the clone only once its disks are provisioned", async () => {
    await kubectlOk([
      "-n",
      ns,
      "annotate",
      "--overwrite",
      res("virtualmachinesnapshots", "src-1"),
      "sim.vmsnap.io/provision-delay=3s",
    ]);
    const r = await vmsnap("clone", "src-1", "--to", "copy", "--yes", "-o", "json");
    expectExit(r, 0);
    assert.equal(Clone.parse(json(r)).phase, "Completed");
    const disk = (await c.get(Deckhouse.disks, "copy-src-root", ns)) as Json;
    assert.equal(disk.status?.phase, "Ready", "vmsnap returned before the disk was provisioned");
  });
});

describe("Deckhouse: status.consistent is true or absent, never false", () => {
  it("kubectl: a crash-consistent snapshot has no consistent field; an offline one has true", async () => {
    await makeDhVm(c, ns, "crash", { disks: ["root"] });
    await kubectlCreate(vmSnapshot("crash-1", "crash", false));
    await kubectlWait(ns, res("virtualmachinesnapshots", "crash-1"), "{.status.phase}", "Ready");
    const raw = JSON.parse(
      await kubectlOk(["-n", ns, "get", res("virtualmachinesnapshots", "crash-1"), "-o", "json"]),
    ) as Json;
    assert.equal("consistent" in raw.status, false);
    const child = raw.status.virtualDiskSnapshotNames[0] as string;
    const vds = JSON.parse(
      await kubectlOk(["-n", ns, "get", res("virtualdisksnapshots", child), "-o", "json"]),
    ) as Json;
    assert.equal(vds.status.phase, "Ready");
    assert.equal("consistent" in vds.status, false);
    assert.equal(
      await kubectlGet(ns, res("virtualmachinesnapshots", "src-1"), "{.status.consistent}"),
      "true",
    );
  });

  it("vmsnap reports a Ready snapshot without consistent as crash-consistent", async () => {
    const crash = Snapshot.parse(json(await vmsnap("describe", "crash-1", "-o", "json")));
    assert.equal(crash.consistency, "crash-consistent");
    const offline = Snapshot.parse(json(await vmsnap("describe", "src-1", "-o", "json")));
    assert.equal(offline.consistency, "consistent");
  });
});
