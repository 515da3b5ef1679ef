// vmsnap on Deckhouse Virtualization, end to end through the built CLI, as vmsnap-user, against
// the real API server (the project's CRDs or the upstream ones, VMSNAP_CRDS_DIR) and the simulated
// Deckhouse controllers: inventory, preflight (guest agent vs requiredConsistency, resizing disks,
// images, pending restart changes), VM and disk snapshots, restore through a DryRun preview and a
// Restore operation (exact data back, safety snapshot), clone to a new VM, disk restore, delete;
// refusals write nothing, and every write is one SPEC §2 allows.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Deckhouse } from "../../src/kube/resources.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import {
  Clone,
  Deletion,
  ErrorObject,
  Preflight,
  Restore,
  Snapshot,
  SnapshotList,
  VirtualMachineList,
} from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, type CliResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { waitFor, waitGone, type Json } from "../helpers/kube.js";
import {
  dhFingerprints,
  diskData,
  makeDhVm,
  waitDhVmPhase,
  writeDhDisks,
} from "../helpers/deckhouse.js";
import { dhDiskManifest } from "../../src/playground/fixtures.js";

let c: KubeClient;
let ns: string;
let fileStart: Date;

before(async () => {
  c = await adminClient();
  ns = await newNamespace(c, "cli-dh");
  fileStart = new Date();
  await Promise.all([
    makeDhVm(c, ns, "app", { agent: true }),
    makeDhVm(c, ns, "noagent"),
    makeDhVm(c, ns, "off", { runPolicy: "Manual", running: false }),
    makeDhVm(c, ns, "win", { agent: true, os: "windows", disks: ["root"] }),
  ]);
});

after(() => c?.close());

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

function expectExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, show(r));
}

function expectError(r: CliResult, code: string, exitCode: number, message: RegExp): ErrorObject {
  expectExit(r, exitCode);
  const e = ErrorObject.parse(json(r));
  assert.equal(e.code, code, show(r));
  assert.match(e.message, message, show(r));
  return e;
}

/** Real writes by vmsnap-user in this namespace since the instant, as "verb resource name". */
async function writesSince(since: Date): Promise<string[]> {
  return (await writesIn(ns, since)).map((e) =>
    `${e.verb} ${e.objectRef?.resource ?? "?"} ${e.objectRef?.name ?? ""}`.trim(),
  );
}

async function assertNoWrites(since: Date): Promise<void> {
  assert.deepEqual(await writesSince(since), [], "a refusal writes nothing");
}

async function snapshot(vm: string, name: string, ...extra: string[]): Promise<Snapshot> {
  const r = await vmsnap("create", vm, "--name", name, "--yes", "-o", "json", ...extra);
  expectExit(r, 0);
  const s = Snapshot.parse(json(r));
  assert.equal(s.platform, "deckhouse");
  assert.equal(s.readyToUse, true, show(r));
  return s;
}

describe("Deckhouse inventory and preflight", () => {
  it("vms lists the Deckhouse VMs with phase and guest agent", async () => {
    const r = await vmsnap("vms", "-o", "json");
    expectExit(r, 0);
    const list = VirtualMachineList.parse(json(r));
    const by = new Map(list.items.map((v) => [v.name, v]));
    assert.equal(by.get("app")?.platform, "deckhouse");
    assert.equal(by.get("app")?.status, "Running");
    assert.equal(by.get("app")?.guestAgent, true);
    assert.equal(by.get("noagent")?.guestAgent, false);
    assert.equal(by.get("off")?.running, false);
    assert.equal(by.get("off")?.status, "Stopped");
  });

  it("check: a running VM without a guest agent is blocked by requiredConsistency, with the fixes", async () => {
    const r = await vmsnap("check", "noagent", "-o", "json");
    expectExit(r, 1);
    const p = Preflight.parse(json(r));
    assert.equal(p.snapshottable, false);
    assert.match(p.problems.map((x) => x.message).join("\n"), /PotentiallyInconsistent/);
    assert.match(p.problems.map((x) => x.fix).join("\n"), /--consistency best-effort/);
    assert.deepEqual(
      p.volumes.map((v) => [v.name, v.type, v.included]),
      [
        ["noagent-root", "VirtualDisk", true],
        ["noagent-data", "VirtualDisk", true],
      ],
    );
  });

  it("check: agent → application-consistent; stopped → offline; Windows → VSS warning", async () => {
    const app = Preflight.parse(json(await vmsnap("check", "app", "-o", "json")));
    assert.equal(app.snapshottable, true);
    assert.match(app.expectedConsistency, /application-consistent/);
    const off = Preflight.parse(json(await vmsnap("check", "off", "-o", "json")));
    assert.equal(off.mode, "offline");
    assert.equal(off.expectedConsistency, "consistent (VM stopped)");
    const win = Preflight.parse(json(await vmsnap("check", "win", "-o", "json")));
    assert.match(win.warnings.map((w) => w.message).join("\n"), /VSS/);
  });

  it("check: a resizing disk blocks; an attached image is excluded with a warning; pending restart changes warn", async () => {
    await makeDhVm(c, ns, "grow", { agent: true, disks: ["root"] });
    await c.patch(Deckhouse.disks, "grow-root", ns, {
      metadata: { annotations: { "sim.vmsnap.io/disk-phase": "Resizing" } },
    });
    await waitFor(c, Deckhouse.disks, "grow-root", ns, (d) => d.status?.phase === "Resizing");
    const since = new Date();
    const r = await vmsnap("create", "grow", "--yes", "-o", "json");
    expectError(r, "PreflightBlocked", 1, /being resized/);
    await assertNoWrites(since);

    await c.patch(Deckhouse.vms, "app", ns, { spec: { cpu: { cores: 2 } } });
    await waitFor(
      c,
      Deckhouse.vms,
      "app",
      ns,
      (v) => (v.status?.restartAwaitingChanges ?? []).length > 0,
    );
    const p = Preflight.parse(json(await vmsnap("check", "app", "-o", "json")));
    assert.match(p.warnings.map((w) => w.message).join("\n"), /await a restart \(cpu\)/);
    await c.patch(Deckhouse.vms, "app", ns, { spec: { cpu: { cores: 1 } } });
  });
});

describe("Deckhouse VM snapshots", () => {
  it("create on a VM with a guest agent: Ready, consistent, both disks in it", async () => {
    const s = await snapshot("app", "app-s1");
    assert.match(s.consistency, /^consistent/);
    assert.deepEqual([...s.includedVolumes].sort(), ["app-data", "app-root"]);
    const raw = (await c.get(Deckhouse.vmSnapshots, "app-s1", ns)) as Json;
    assert.equal(raw.spec.requiredConsistency, true);
    assert.equal(raw.spec.keepIPAddress, "Always");
  });

  it("create of a running VM without agent is refused before any write; best-effort takes a crash-consistent one", async () => {
    const since = new Date();
    const r = await vmsnap("create", "noagent", "--yes", "-o", "json");
    expectError(r, "PreflightBlocked", 1, /PotentiallyInconsistent/);
    await assertNoWrites(since);
    const s = await snapshot(
      "noagent",
      "noagent-be",
      "--consistency",
      "best-effort",
      "--keep-ip",
      "never",
    );
    assert.match(s.consistency, /crash-consistent/);
    const raw = (await c.get(Deckhouse.vmSnapshots, "noagent-be", ns)) as Json;
    assert.equal(raw.spec.requiredConsistency, false);
    assert.equal(raw.spec.keepIPAddress, "Never");
  });

  it("create --stop: stops the VM through a Stop operation, snapshots it consistent, starts it again", async () => {
    const since = new Date();
    const s = await snapshot("noagent", "noagent-off", "--stop");
    assert.match(s.consistency, /^consistent/);
    await waitDhVmPhase(c, ns, "noagent", "Running");
    const ops = (await c.list(Deckhouse.vmops, ns)).items.filter(
      (o) => new Date(o.metadata.creationTimestamp ?? 0) >= new Date(since.getTime() - 1000),
    );
    assert.deepEqual(ops.map((o) => (o.spec as Json).type).sort(), ["Start", "Stop"]);
  });

  it("a snapshot that fails is reported with the platform's reason (exit 1)", async () => {
    await makeDhVm(c, ns, "broken", { agent: true, fail: "volume-snapshot", disks: ["root"] });
    const r = await vmsnap("create", "broken", "--name", "broken-s1", "--yes", "-o", "json");
    const e = expectError(r, "OperationFailed", 1, /failed/);
    assert.match(e.message, /broken-root/);
  });

  it("list and describe show phase, consistency, disks and the stored configuration", async () => {
    const l = SnapshotList.parse(json(await vmsnap("list", "app", "-o", "json")));
    assert.deepEqual(
      l.items.map((s) => s.name),
      ["app-s1"],
    );
    const d = await vmsnap("describe", "app-s1");
    expectExit(d, 0);
    assert.match(d.stdout, /Platform:\s+deckhouse/);
    assert.match(
      d.stdout,
      /Included volumes:\s+app-root, app-data|Included volumes:\s+app-data, app-root/,
    );
    assert.match(d.stdout, /requiredConsistency: true/);
  });
});

describe("Deckhouse restore", () => {
  it("refusals write nothing: no confirmation, wrong name, running without --stop, another VM's snapshot", async () => {
    const since = new Date();
    expectExit(await vmsnap("restore", "app", "app-s1"), 3);
    expectExit(await vmsnap("restore", "app", "app-s1", "--confirm", "APP-S1", "--stop"), 3);
    expectExit(await vmsnap("restore", "app", "app-s1", "--confirm", "app-s1"), 7);
    expectError(
      await vmsnap(
        "restore",
        "app",
        "noagent-be",
        "--confirm",
        "noagent-be",
        "--stop",
        "-o",
        "json",
      ),
      "InvalidInput",
      2,
      /belongs to VM noagent/,
    );
    expectError(
      await vmsnap("restore", "app", "nope", "--confirm", "nope", "-o", "json"),
      "NotFound",
      4,
      /not found/,
    );
    // Only Deckhouse's own dry runs (Restore operations in DryRun mode) were created.
    const writes = await writesIn(ns, since);
    for (const w of writes) {
      assert.equal(w.objectRef?.resource, "virtualmachineoperations", JSON.stringify(w.objectRef));
      const body = w.requestObject as Json;
      assert.equal(body.spec.restore.mode, "DryRun");
    }
  });

  it("--dry-run previews the configuration diff and Deckhouse's DryRun check; changes nothing", async () => {
    await c.patch(Deckhouse.vms, "app", ns, { spec: { memory: { size: "2Gi" } } });
    const r = await vmsnap("restore", "app", "app-s1", "--stop", "--dry-run", "-o", "json");
    expectExit(r, 0);
    const rs = Restore.parse(json(r));
    assert.equal(rs.phase, "DryRun");
    assert.ok(
      rs.specChanges.some((l) => /spec\.memory\.size: 2Gi → 1Gi/.test(l)),
      show(r),
    );
    const text = await vmsnap("restore", "app", "app-s1", "--stop", "--dry-run");
    assert.match(text.stdout, /DryRun\) found no conflict/);
  });

  it("restore --stop --confirm: the snapshot's exact data back, a safety snapshot of the data before, the VM running again", async () => {
    const original = await dhFingerprints(c, ns, "app");
    assert.deepEqual(original, { "app-root": "app-root-v1", "app-data": "app-data-v1" });
    const written = await writeDhDisks(c, ns, "app", "v2");
    const r = await vmsnap(
      "restore",
      "app",
      "app-s1",
      "--stop",
      "--confirm",
      "app-s1",
      "-o",
      "json",
    );
    expectExit(r, 0);
    const rs = Restore.parse(json(r));
    assert.equal(rs.stoppedVm, true);
    assert.equal(rs.restartedVm, true);
    assert.deepEqual(await dhFingerprints(c, ns, "app"), original);
    const vm = await waitDhVmPhase(c, ns, "app", "Running");
    assert.equal(vm.spec.memory.size, "1Gi", "the configuration is back too");
    // The safety snapshot holds what was there before the restore; restoring it brings it back.
    assert.ok(rs.safetySnapshot);
    const back = await vmsnap(
      "restore",
      "app",
      rs.safetySnapshot,
      "--stop",
      "--confirm",
      rs.safetySnapshot,
      "--no-safety-snapshot",
      "-o",
      "json",
    );
    expectExit(back, 0);
    assert.deepEqual(await dhFingerprints(c, ns, "app"), written);
    const op = (await c.get(Deckhouse.vmops, rs.restoreName, ns)) as Json;
    assert.equal(op.spec.type, "Restore");
    assert.equal(op.spec.restore.mode, "Strict");
    assert.equal(op.status.phase, "Completed");
  });

  it("a stopped VM is restored without stopping, and stays stopped", async () => {
    await snapshot("off", "off-s1");
    const before = await dhFingerprints(c, ns, "off");
    await writeDhDisks(c, ns, "off", "v2");
    const r = await vmsnap("restore", "off", "off-s1", "--confirm", "off-s1", "-o", "json");
    expectExit(r, 0);
    const rs = Restore.parse(json(r));
    assert.equal(rs.stoppedVm, false);
    assert.deepEqual(await dhFingerprints(c, ns, "off"), before);
    assert.equal(((await c.get(Deckhouse.vms, "off", ns)) as Json).status.phase, "Stopped");
  });
});

describe("Deckhouse clone and disks", () => {
  it("clone SNAPSHOT --to NEW: a new VM whose disks carry the snapshot's data", async () => {
    const r = await vmsnap("clone", "app-s1", "--to", "app-copy", "--yes", "-o", "json");
    expectExit(r, 0);
    const cl = Clone.parse(json(r));
    assert.equal(cl.phase, "Completed");
    const vm = (await c.get(Deckhouse.vms, "app-copy", ns)) as Json;
    assert.deepEqual(
      (vm.spec.blockDeviceRefs as Json[]).map((b) => b.name),
      ["app-copy-app-root", "app-copy-app-data"],
    );
    assert.deepEqual(await dhFingerprints(c, ns, "app-copy"), {
      "app-copy-app-root": "app-root-v1",
      "app-copy-app-data": "app-data-v1",
    });
    const op = (await c.get(Deckhouse.vmsops, cl.cloneName, ns)) as Json;
    assert.equal(op.spec.type, "CreateVirtualMachine");
    assert.equal(op.spec.createVirtualMachine.mode, "Strict");
  });

  it("clone refusals: an existing target (exit 7) and a name over Deckhouse's 59 characters (exit 2), nothing written", async () => {
    const since = new Date();
    expectError(
      await vmsnap("clone", "app-s1", "--to", "off", "--yes", "-o", "json"),
      "Conflict",
      7,
      /already exists/,
    );
    expectError(
      await vmsnap("clone", "app-s1", "--to", "x".repeat(60), "--yes", "-o", "json"),
      "InvalidInput",
      2,
      /at most 59/,
    );
    await assertNoWrites(since);
  });

  it("create-disk snapshots one disk; restore-disk makes a new disk with its data; the original is untouched", async () => {
    await c.create(
      Deckhouse.disks,
      dhDiskManifest({ namespace: ns, name: "spare", data: "spare-v1", size: "2Gi" }),
    );
    await waitFor(c, Deckhouse.disks, "spare", ns, (d) => d.status?.phase === "Ready");
    const r = await vmsnap("create-disk", "spare", "--name", "spare-s1", "--yes", "-o", "json");
    expectExit(r, 0);
    const s = Snapshot.parse(json(r));
    assert.equal(s.disk, "spare");
    assert.equal(s.readyToUse, true);
    await c.patch(Deckhouse.disks, "spare", ns, {
      metadata: { annotations: { [SIM.data]: "spare-v2" } },
    });

    const restored = await vmsnap(
      "restore-disk",
      "spare-s1",
      "--to",
      "spare-back",
      "--yes",
      "-o",
      "json",
    );
    expectExit(restored, 0);
    const cl = Clone.parse(json(restored));
    assert.equal(cl.targetKind, "VirtualDisk");
    assert.equal(await diskData(c, ns, "spare-back"), "spare-v1");
    assert.equal(await diskData(c, ns, "spare"), "spare-v2");
    const disk = (await c.get(Deckhouse.disks, "spare-back", ns)) as Json;
    assert.deepEqual(disk.spec.dataSource, {
      type: "ObjectRef",
      objectRef: { kind: "VirtualDiskSnapshot", name: "spare-s1" },
    });
    assert.equal(disk.spec.persistentVolumeClaim.size, "2Gi");

    // `clone` of a disk snapshot is the same disk restore.
    const viaClone = await vmsnap("clone", "spare-s1", "--to", "spare-two", "--yes", "-o", "json");
    expectExit(viaClone, 0);
    assert.equal(await diskData(c, ns, "spare-two"), "spare-v1");

    const since = new Date();
    expectError(
      await vmsnap("restore-disk", "spare-s1", "--to", "spare", "--yes", "-o", "json"),
      "Conflict",
      7,
      /already exists/,
    );
    expectError(
      await vmsnap(
        "restore-disk",
        "spare-s1",
        "--to",
        "spare-3",
        "--size",
        "1Gi",
        "--yes",
        "-o",
        "json",
      ),
      "InvalidInput",
      2,
      /smaller than the snapshotted disk/,
    );
    expectError(
      await vmsnap("restore-disk", "app-s1", "--to", "spare-4", "--yes", "-o", "json"),
      "InvalidInput",
      2,
      /is a VM snapshot/,
    );
    await assertNoWrites(since);
  });

  it("create-disk of a disk attached to a running VM without agent is refused (requiredConsistency)", async () => {
    const since = new Date();
    expectError(
      await vmsnap("create-disk", "noagent-data", "--yes", "-o", "json"),
      "PreflightBlocked",
      1,
      /PotentiallyInconsistent/,
    );
    expectError(
      await runCli([
        "-n",
        ns,
        "--platform",
        "kubevirt",
        "create-disk",
        "spare",
        "--yes",
        "-o",
        "json",
      ]),
      "InvalidInput",
      2,
      /Deckhouse Virtualization feature/,
    );
    await assertNoWrites(since);
  });
});

describe("Deckhouse delete", () => {
  it("delete a VM snapshot: its disk snapshots go with it", async () => {
    const s = await snapshot("win", "win-s1");
    const children = ((await c.get(Deckhouse.vmSnapshots, s.name, ns)) as Json).status
      .virtualDiskSnapshotNames as string[];
    assert.equal(children.length, 1);
    const since = new Date();
    expectExit(await vmsnap("delete", "win-s1", "--confirm", "win-s1x"), 3);
    await assertNoWrites(since);
    const r = await vmsnap("delete", "win-s1", "--confirm", "win-s1", "-o", "json");
    expectExit(r, 0);
    assert.equal(Deletion.parse(json(r)).wasOnlySnapshot, true);
    await waitGone(c, Deckhouse.vmSnapshots, "win-s1", ns);
    for (const child of children) await waitGone(c, Deckhouse.diskSnapshots, child, ns);
  });

  it("delete a disk snapshot", async () => {
    const r = await vmsnap("delete", "spare-s1", "--confirm", "spare-s1", "-o", "json");
    expectExit(r, 0);
    await waitGone(c, Deckhouse.diskSnapshots, "spare-s1", ns);
  });
});

describe("Deckhouse audit", () => {
  it("every write vmsnap made here is one SPEC §2 allows for Deckhouse", async () => {
    const writes = await writesIn(ns, fileStart);
    assert.ok(writes.length > 10);
    const allowed = new Map([
      ["virtualmachinesnapshots", ["create", "delete"]],
      ["virtualdisksnapshots", ["create", "delete"]],
      ["virtualmachineoperations", ["create"]],
      ["virtualmachinesnapshotoperations", ["create"]],
      ["virtualdisks", ["create"]],
    ]);
    for (const w of writes) {
      const verbs = allowed.get(w.objectRef?.resource ?? "");
      assert.ok(verbs?.includes(w.verb), `${w.verb} ${w.objectRef?.resource}`);
      if (w.objectRef?.resource === "virtualmachineoperations")
        assert.ok(
          ["Restore", "Stop", "Start"].includes((w.requestObject as Json).spec.type),
          JSON.stringify(w.requestObject),
        );
    }
  });
});
