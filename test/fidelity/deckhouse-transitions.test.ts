// Fidelity of the Deckhouse simulator to deckhouse/virtualization (v1.10 line) where a VM is not
// ready for a snapshot or an operation is taken over, and vmsnap against it. Each behaviour is
// first shown with kubectl alone (as the cluster admin), then met by vmsnap through its CLI as
// vmsnap-user: a VM snapshot of a VM that does not exist, or whose disks are not Ready, fails at
// once; an operation superseded by a later one (Stop over Start, a forced Restart over a Stop) is
// marked Superseded; a VM held Starting or Stopping (sim.vmsnap.io/power-transition-duration) is
// not snapshotted; a disk snapshot of a disk that does not exist or is not Ready fails at once.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Deckhouse } from "../../src/kube/resources.js";
import { ErrorObject, Preflight, Snapshot } from "../../src/core/schema.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult, type CliResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import type { Json } from "../helpers/kube.js";
import { dhFingerprints, makeDhVm, waitDhVmPhase, writeDhDisks } from "../helpers/deckhouse.js";
import {
  kubectl,
  kubectlCondition,
  kubectlCreate,
  kubectlGet,
  kubectlOk,
  kubectlWait,
  dhRes,
  dhDiskSnapshotManifest,
  dhVmSnapshotManifest,
  dhVmopManifest,
} from "./dvp-kubectl.js";

const res = dhRes;
const HOLD = SIM.powerTransition;

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "fid-dht");
});

after(() => c?.close());

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);

function expectExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, showResult(r));
}

async function writesSince(since: Date): Promise<string[]> {
  return (await writesIn(ns, since)).map((e) =>
    `${e.verb} ${e.objectRef?.resource ?? "?"} ${e.objectRef?.name ?? ""}`.trim(),
  );
}

const vmSnapshot = (name: string, vm: string) => dhVmSnapshotManifest(ns, name, vm);
const vmop = (name: string, vm: string, type: string, force?: boolean) =>
  dhVmopManifest(ns, name, vm, type, { force });

/** Holds the VM in Starting/Stopping from now on (`1h`), or lets it go on (undefined). */
async function hold(vm: string, duration: string | undefined): Promise<void> {
  await kubectlOk([
    "-n",
    ns,
    "annotate",
    "--overwrite",
    res("virtualmachines", vm),
    duration === undefined ? `${HOLD}-` : `${HOLD}=${duration}`,
  ]);
}

/** The VM's operations (admin view), by name. */
async function opsOf(vm: string): Promise<Json[]> {
  return ((await c.list(Deckhouse.vmops, ns)).items as Json[]).filter(
    (o) => o.spec.virtualMachineName === vm,
  );
}

/** Marks the disk Resizing (not Ready) and waits until kubectl shows it. */
async function resizing(disk: string): Promise<void> {
  await kubectlOk([
    "-n",
    ns,
    "annotate",
    res("virtualdisks", disk),
    "sim.vmsnap.io/disk-phase=Resizing",
  ]);
  await kubectlWait(ns, res("virtualdisks", disk), "{.status.phase}", "Resizing");
}

/**
 * kubectl shows the snapshot Failed, and each named condition's message (and reason, where
 * given) as upstream writes it.
 */
async function expectFailed(
  snap: string,
  conditions: Record<string, { message: string; reason?: string }>,
): Promise<void> {
  await kubectlWait(ns, snap, "{.status.phase}", "Failed");
  for (const [type, want] of Object.entries(conditions)) {
    assert.equal(await kubectlCondition(ns, snap, type), want.message, type);
    if (want.reason)
      assert.equal(await kubectlCondition(ns, snap, type, "reason"), want.reason, type);
  }
}

describe("Deckhouse: a VM snapshot of a VM that does not exist, or whose disks are not Ready, fails at once", () => {
  it("kubectl: a snapshot of a missing VM is Failed (WaitingForTheVirtualMachine), not Pending", async () => {
    await kubectlCreate(vmSnapshot("ghost-1", "ghost"));
    await expectFailed(res("virtualmachinesnapshots", "ghost-1"), {
      VirtualMachineSnapshotReady: {
        reason: "WaitingForTheVirtualMachine",
        message: 'Cannot take a snapshot: the virtual machine "ghost" does not exist.',
      },
      VirtualMachineReady: { message: 'The virtual machine "ghost" was not found.' },
    });
  });

  it("kubectl: a snapshot of a Running VM whose disk is not Ready is Failed (BlockDevicesNotReady)", async () => {
    await makeDhVm(c, ns, "rsz", { agent: true, disks: ["root"] });
    await resizing("rsz-root");
    assert.equal(await kubectlGet(ns, res("virtualmachines", "rsz"), "{.status.phase}"), "Running");
    await kubectlCreate(vmSnapshot("rsz-1", "rsz"));
    const snap = res("virtualmachinesnapshots", "rsz-1");
    await expectFailed(snap, {
      VirtualMachineSnapshotReady: {
        reason: "BlockDevicesNotReady",
        message: 'Virtual disk not ready: waiting for the virtual disk "rsz-root" to be Ready.',
      },
    });
    assert.equal(await kubectlCondition(ns, snap, "VirtualMachineReady", "status"), "True");
  });

  it("vmsnap: create of a missing VM is not found (exit 4) before any write; describe explains the failed snapshot", async () => {
    const since = new Date();
    const r = await vmsnap("create", "ghost", "--name", "ghost-2", "--yes", "-o", "json");
    expectExit(r, 4);
    assert.equal(ErrorObject.parse(json(r)).code, "NotFound");
    assert.deepEqual(await writesSince(since), []);
    const d = Snapshot.parse(json(await vmsnap("describe", "ghost-1", "-o", "json")));
    assert.equal(d.phase, "Failed");
    assert.equal(d.error, 'Cannot take a snapshot: the virtual machine "ghost" does not exist.');
    assert.ok(
      d.diagnosis.some((x) =>
        /not ready for snapshotting: The virtual machine "ghost" was not found/.test(x),
      ),
      d.diagnosis.join("\n"),
    );
  });

  it("vmsnap: check refuses the resizing disk; a disk that stops being Ready after the check fails create at once (exit 1), and the VM is started again", async () => {
    const r = await vmsnap("check", "rsz", "-o", "json");
    expectExit(r, 1);
    assert.match(
      Preflight.parse(json(r))
        .problems.map((p) => p.message)
        .join("\n"),
      /VirtualDisk rsz-root is being resized/,
    );
    // The race, made deterministic: the VM is held Stopping while vmsnap waits for its stop,
    // and its disk stops being Ready meanwhile.
    await makeDhVm(c, ns, "race", {
      agent: true,
      runPolicy: "Manual",
      running: true,
      disks: ["root"],
    });
    await hold("race", "1h");
    const created = vmsnap("create", "race", "--stop", "--name", "race-1", "--yes", "-o", "json");
    await kubectlWait(ns, res("virtualmachines", "race"), "{.status.phase}", "Stopping");
    await resizing("race-root");
    await hold("race", undefined);
    const out = await created;
    expectExit(out, 1);
    const err = ErrorObject.parse(json(out));
    assert.equal(err.code, "OperationFailed");
    assert.match(err.message, /snapshot \S+\/race-1 failed/);
    assert.match(
      err.message,
      /Virtual disk not ready: waiting for the virtual disk "race-root" to be Ready\./,
    );
    assert.match(err.message, /Deckhouse fails the snapshot rather than wait/);
    // vmsnap stopped the VM, so it started it again.
    const starts = (await opsOf("race")).filter((o) => o.spec.type === "Start");
    assert.equal(starts.length, 1, "vmsnap sent one Start");
    await kubectlOk([
      "-n",
      ns,
      "annotate",
      res("virtualdisks", "race-root"),
      "sim.vmsnap.io/disk-phase-",
    ]);
    await waitDhVmPhase(c, ns, "race", "Running", 60_000);
  });
  it("vmsnap: the VM deleted while vmsnap waits for its stop is not found (exit 4) at once; no snapshot, no Start", async () => {
    await makeDhVm(c, ns, "gone", {
      agent: true,
      runPolicy: "Manual",
      running: true,
      disks: ["root"],
    });
    await hold("gone", "1h");
    const created = vmsnap("create", "gone", "--stop", "--name", "gone-1", "--yes", "-o", "json");
    await kubectlWait(ns, res("virtualmachines", "gone"), "{.status.phase}", "Stopping");
    await kubectlOk(["-n", ns, "delete", res("virtualmachines", "gone"), "--wait=false"]);
    const out = await created;
    expectExit(out, 4);
    const err = ErrorObject.parse(json(out));
    assert.equal(err.code, "NotFound");
    assert.match(err.message, /VM \S+\/gone was deleted while vmsnap waited for it to stop/);
    assert.equal(await c.getIfExists(Deckhouse.vmSnapshots, "gone-1", ns), undefined);
    assert.deepEqual(
      (await opsOf("gone")).map((o) => o.spec.type),
      ["Stop"],
      "vmsnap sent no Start",
    );
  });
});

describe("Deckhouse: a disk snapshot of a disk that does not exist, or is not Ready, fails at once", () => {
  it("kubectl: a VirtualDiskSnapshot of a missing disk is Failed (WaitingForTheVirtualDisk), not Pending", async () => {
    await kubectlCreate(dhDiskSnapshotManifest(ns, "nodisk-1", "nodisk"));
    await expectFailed(res("virtualdisksnapshots", "nodisk-1"), {
      VirtualDiskSnapshotReady: {
        reason: "WaitingForTheVirtualDisk",
        message: 'Cannot take a snapshot: the virtual disk "nodisk" does not exist.',
      },
      VirtualDiskReady: {
        reason: "VirtualDiskNotReadyForSnapshotting",
        message: 'The virtual disk "nodisk" was not found.',
      },
    });
  });

  it("kubectl: a VirtualDiskSnapshot of a Resizing disk is Failed, naming the disk's phase", async () => {
    await makeDhVm(c, ns, "dsk", { runPolicy: "Manual", running: false, disks: ["root"] });
    await resizing("dsk-root");
    await kubectlCreate(dhDiskSnapshotManifest(ns, "dsk-root-1", "dsk-root"));
    await expectFailed(res("virtualdisksnapshots", "dsk-root-1"), {
      VirtualDiskSnapshotReady: {
        reason: "WaitingForTheVirtualDisk",
        message: 'Cannot take a snapshot: the virtual disk "dsk-root" is not ready.',
      },
      VirtualDiskReady: {
        message:
          'The virtual disk "dsk-root" is in the "Resizing" phase: waiting for it to reach the Ready phase.',
      },
    });
  });

  it("vmsnap: create-disk of a missing disk is not found (exit 4), of a Resizing disk refused (exit 1), both before any write; describe explains the failed one", async () => {
    const since = new Date();
    const missing = await vmsnap(
      "create-disk",
      "nodisk",
      "--name",
      "nodisk-2",
      "--yes",
      "-o",
      "json",
    );
    expectExit(missing, 4);
    assert.equal(ErrorObject.parse(json(missing)).code, "NotFound");
    const resizing = await vmsnap(
      "create-disk",
      "dsk-root",
      "--name",
      "dsk-root-2",
      "--yes",
      "-o",
      "json",
    );
    expectExit(resizing, 1);
    assert.match(
      ErrorObject.parse(json(resizing)).message,
      /VirtualDisk dsk-root is being resized/,
    );
    assert.deepEqual(await writesSince(since), []);
    const d = Snapshot.parse(json(await vmsnap("describe", "nodisk-1", "-o", "json")));
    assert.equal(d.phase, "Failed");
    assert.equal(d.error, 'Cannot take a snapshot: the virtual disk "nodisk" does not exist.');
  });
});

describe("Deckhouse: an operation superseded by a later one is marked Superseded", () => {
  it("kubectl: a Stop supersedes a Start in progress (phase Superseded, Completed True reason Superseded); a Start over the Stop is refused", async () => {
    await makeDhVm(c, ns, "sup", { runPolicy: "Manual", running: false, disks: ["root"] });
    await hold("sup", "1h");
    await kubectlCreate(vmop("sup-a-start", "sup", "Start"));
    await kubectlWait(
      ns,
      res("virtualmachineoperations", "sup-a-start"),
      "{.status.phase}",
      "InProgress",
    );
    await kubectlWait(ns, res("virtualmachines", "sup"), "{.status.phase}", "Starting");
    await kubectlCreate(vmop("sup-b-stop", "sup", "Stop"));
    const start = res("virtualmachineoperations", "sup-a-start");
    await kubectlWait(ns, start, "{.status.phase}", "Superseded");
    assert.equal(await kubectlCondition(ns, start, "Completed", "status"), "True");
    assert.equal(await kubectlCondition(ns, start, "Completed", "reason"), "Superseded");
    assert.equal(
      await kubectlCondition(ns, start, "Completed"),
      "Superseded by sup-b-stop with type Stop",
    );
    await kubectlWait(
      ns,
      res("virtualmachineoperations", "sup-b-stop"),
      "{.status.phase}",
      "InProgress",
    );
    // A Start does not supersede a Stop: the webhook refuses it while the Stop is unfinished.
    const refused = await kubectl(
      ["create", "-f", "-"],
      JSON.stringify(vmop("sup-c-start", "sup", "Start")),
    );
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Previously created operation "sup-b-stop" should finish first/);
    await hold("sup", undefined);
    await kubectlWait(
      ns,
      res("virtualmachineoperations", "sup-b-stop"),
      "{.status.phase}",
      "Completed",
    );
    await waitDhVmPhase(c, ns, "sup", "Stopped", 60_000);
  });

  /** A running Manual VM held Stopping, so that another client's operation can overtake vmsnap's Stop. */
  async function heldVm(vm: string): Promise<void> {
    await makeDhVm(c, ns, vm, { agent: true, runPolicy: "Manual", running: true, disks: ["root"] });
  }

  /**
   * Runs vmsnap (which stops the held VM), overtakes its Stop with a forced Restart, and checks
   * the conflict (exit 7) that names both and that vmsnap sent nothing after its Stop. Then lets
   * the Restart finish.
   */
  async function supersededStop(vm: string, args: string[]): Promise<Json> {
    await hold(vm, "1h");
    const run = vmsnap(...args, "-o", "json");
    await kubectlWait(ns, res("virtualmachines", vm), "{.status.phase}", "Stopping");
    const [mine] = (await opsOf(vm)).filter((o) => o.spec.type === "Stop");
    assert.ok(mine, "vmsnap sent a Stop");
    await kubectlCreate(vmop(`${vm}-zz-restart`, vm, "Restart", true));
    const out = await run;
    expectExit(out, 7);
    const err = ErrorObject.parse(json(out));
    assert.equal(err.code, "Conflict");
    assert.match(
      err.message,
      new RegExp(
        `${mine.metadata.name} \\(Stop\\) .* was superseded by VirtualMachineOperation ${vm}-zz-restart \\(Restart\\)`,
      ),
    );
    assert.match(err.message, /does not start the VM again/);
    assert.equal(
      await kubectlGet(ns, res("virtualmachineoperations", mine.metadata.name), "{.status.phase}"),
      "Superseded",
    );
    // A restore's preview is Deckhouse's own dry run (a Restore operation in DryRun mode).
    assert.deepEqual(
      (await opsOf(vm))
        .filter((o) => o.spec.restore?.mode !== "DryRun")
        .map((o) => o.spec.type)
        .sort(),
      ["Restart", "Stop"],
      "vmsnap sent nothing after its Stop (no Restore, no Start)",
    );
    await hold(vm, undefined);
    await kubectlWait(
      ns,
      res("virtualmachineoperations", `${vm}-zz-restart`),
      "{.status.phase}",
      "Completed",
    );
    await waitDhVmPhase(c, ns, vm, "Running", 60_000);
    return err;
  }

  it("vmsnap: its Stop superseded by a forced Restart is a conflict (exit 7) naming the Restart; no snapshot, no Start", async () => {
    await heldVm("sup2");
    await supersededStop("sup2", ["create", "sup2", "--stop", "--name", "sup2-1", "--yes"]);
    assert.equal(
      await c.getIfExists(Deckhouse.vmSnapshots, "sup2-1", ns),
      undefined,
      "no snapshot was created",
    );
  });

  it("vmsnap: restore --stop whose Stop is superseded by a forced Restart is a conflict (exit 7) naming the Restart; no Restore, no Start, the data untouched", async () => {
    await heldVm("sup3");
    expectExit(await vmsnap("create", "sup3", "--name", "sup3-1", "--yes"), 0);
    await writeDhDisks(c, ns, "sup3", "v2");
    const before = await dhFingerprints(c, ns, "sup3");
    await supersededStop("sup3", ["restore", "sup3", "sup3-1", "--stop", "--confirm", "sup3-1"]);
    assert.deepEqual(await dhFingerprints(c, ns, "sup3"), before, "the disks were not restored");
  });
});

describe("Deckhouse: a VM that is Starting or Stopping is not snapshotted", () => {
  for (const [phase, type, from] of [
    ["Starting", "Start", false],
    ["Stopping", "Stop", true],
  ] as const) {
    const vm = `tr-${phase.toLowerCase()}`;

    it(`kubectl: a VM snapshot of a ${phase} VM fails at once (VirtualMachineReady False)`, async () => {
      await makeDhVm(c, ns, vm, {
        agent: true,
        runPolicy: "Manual",
        running: from,
        disks: ["root"],
      });
      await hold(vm, "1h");
      await kubectlCreate(vmop(`${vm}-op`, vm, type));
      await kubectlWait(ns, res("virtualmachines", vm), "{.status.phase}", phase);
      await kubectlCreate(vmSnapshot(`${vm}-1`, vm));
      const snap = res("virtualmachinesnapshots", `${vm}-1`);
      await kubectlWait(ns, snap, "{.status.phase}", "Failed");
      assert.equal(
        await kubectlCondition(ns, snap, "VirtualMachineReady"),
        `The virtual machine "${vm}" is in the "${phase}" phase: waiting for it to reach the Running or Stopped phase.`,
      );
      assert.equal(
        await kubectlCondition(ns, snap, "VirtualMachineSnapshotReady"),
        `Cannot take a snapshot: the virtual machine "${vm}" is not ready.`,
      );
      // Still held: the snapshot failed, it did not wait for the phase to end.
      assert.equal(await kubectlGet(ns, res("virtualmachines", vm), "{.status.phase}"), phase);
    });

    it(`vmsnap: check refuses the ${phase} VM with the reason and create writes nothing; describe shows why the snapshot failed`, async () => {
      const r = await vmsnap("check", vm, "-o", "json");
      expectExit(r, 1);
      const problem = Preflight.parse(json(r)).problems.find((p) =>
        new RegExp(`the VM is ${phase}`).test(p.message),
      );
      assert.ok(problem, showResult(r));
      assert.match(problem.message, /not Running or Stopped/);
      assert.match(problem.fix ?? "", /wait until the VM is Running or Stopped/);
      const since = new Date();
      const created = await vmsnap("create", vm, "--name", `${vm}-2`, "--yes", "-o", "json");
      expectExit(created, 1);
      assert.equal(ErrorObject.parse(json(created)).code, "PreflightBlocked");
      assert.deepEqual(await writesSince(since), []);
      const d = Snapshot.parse(json(await vmsnap("describe", `${vm}-1`, "-o", "json")));
      assert.equal(d.phase, "Failed");
      assert.ok(
        d.diagnosis.some((x) => x.includes(`is in the "${phase}" phase`)),
        d.diagnosis.join("\n"),
      );
      await hold(vm, undefined);
      await waitDhVmPhase(c, ns, vm, from ? "Stopped" : "Running", 60_000);
    });
  }
});
