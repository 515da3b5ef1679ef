// The network goes down at each step of a restore (stop VM, safety snapshot create, safety
// snapshot wait, restore create, restore wait, VM start): the proxy cuts the step's request and
// every request after it. Each time vmsnap exits non-zero with the VM's exact state and the next
// step; following it finishes the restore. Fingerprints: the disk holds the snapshot's data (or
// the data from before when the restore never started), and the safety snapshot holds the data
// from before the restore.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { adminClient, newNamespace, testEnv } from "../helpers/env.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { FaultProxy, type FaultRule } from "../helpers/fault-proxy.js";
import { waitFor } from "../helpers/kube.js";
import {
  expectExit,
  makeSnapshot,
  makeVm,
  objectsOf,
  rootData,
  show,
  snapshotData,
  writeRoot,
} from "./fixtures.js";

let c: KubeClient;
let ns: string;
let proxy: FaultProxy;
let dir: string;
let kubeconfig: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "fault-steps");
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-fault-steps-"));
  proxy = await FaultProxy.start(testEnv());
  kubeconfig = await proxy.kubeconfig(VMSNAP_USER.name, dir, ns);
});

after(async () => {
  // For the closing note: every 429, 410 and cut connection the proxy injected in this file.
  process.stdout.write(
    `# fault proxy: ${proxy?.faults} faults injected (network down at each of the 6 restore steps, each connection refused while down counted)\n`,
  );
  await proxy?.close();
  c?.close();
  await rm(dir, { recursive: true, force: true });
});

const SNAPSHOTS = /\/virtualmachinesnapshots$/;
const RESTORES = /\/virtualmachinerestores$/;

interface StepCase {
  step: string;
  rule: (vm: string) => FaultRule;
  /** The lines of the state report that must appear. */
  state: RegExp[];
  /** Whether the restore object was (or may have been) created: the data then becomes v1. */
  restoreCreated: boolean;
  safetyCreated: boolean;
}

const down = { thenDown: true } as const;

const CASES: StepCase[] = [
  {
    step: "stop VM",
    rule: (vm) => ({
      method: "PATCH",
      path: new RegExp(`/virtualmachines/${vm}$`),
      dryRun: false,
      fault: { kind: "cut-after" },
      ...down,
    }),
    state: [
      /the stop request was sent but its answer was lost/,
      /safety snapshot: not taken/,
      /restore: NOT created — the VM's disks are unchanged/,
    ],
    restoreCreated: false,
    safetyCreated: false,
  },
  {
    step: "safety snapshot create",
    rule: () => ({
      method: "POST",
      path: SNAPSHOTS,
      dryRun: false,
      fault: { kind: "cut-after" },
      ...down,
    }),
    state: [
      /STOPPED by vmsnap \(it was running\); starting it again failed/,
      /safety snapshot \S+-pre-restore-\S+: creation requested, answer lost/,
      /restore: NOT created/,
    ],
    restoreCreated: false,
    safetyCreated: true,
  },
  {
    step: "safety snapshot wait",
    rule: () => ({
      method: "GET",
      path: SNAPSHOTS,
      armedBy: { method: "POST", path: SNAPSHOTS, dryRun: false },
      fault: { kind: "cut-before" },
      ...down,
    }),
    state: [
      /STOPPED by vmsnap \(it was running\); starting it again failed/,
      /safety snapshot \S+-pre-restore-\S+: created, not confirmed ready/,
      /restore: NOT created/,
    ],
    restoreCreated: false,
    safetyCreated: true,
  },
  {
    step: "restore create",
    rule: () => ({
      method: "POST",
      path: RESTORES,
      dryRun: false,
      fault: { kind: "cut-after" },
      ...down,
    }),
    state: [
      /STOPPED by vmsnap \(it was running\)/,
      /safety snapshot \S+: ready — it holds the disks as they were before the restore/,
      /restore \S+-restore-\S+: creation requested, answer lost — it may be in progress/,
    ],
    restoreCreated: true,
    safetyCreated: true,
  },
  {
    step: "restore wait",
    rule: () => ({
      method: "GET",
      path: RESTORES,
      armedBy: { method: "POST", path: RESTORES, dryRun: false },
      fault: { kind: "cut-before" },
      ...down,
    }),
    state: [
      /STOPPED by vmsnap \(it was running\)/,
      /safety snapshot \S+: ready/,
      /restore \S+-restore-\S+: created, not confirmed complete/,
    ],
    restoreCreated: true,
    safetyCreated: true,
  },
  {
    step: "VM start",
    rule: (vm) => ({
      method: "PATCH",
      path: new RegExp(`/virtualmachines/${vm}$`),
      dryRun: false,
      skip: 1,
      fault: { kind: "cut-after" },
      ...down,
    }),
    state: [
      /the start request was sent but its answer was lost/,
      /safety snapshot \S+: ready/,
      /restore \S+-restore-\S+: complete — the disks hold snapshot \S+'s data/,
    ],
    restoreCreated: true,
    safetyCreated: true,
  },
];

/** The command the report says to run again, as arguments. */
function rerunArgs(r: CliResult): string[] | undefined {
  const m = /re-run `vmsnap ([^`]+)`/.exec(r.stderr);
  return m?.[1]!.split(" ");
}

describe("the network goes down at each step of a restore", () => {
  CASES.forEach((k, i) => {
    it(`fault ${i + 1} of ${CASES.length} (step ${i + 1}: ${k.step}): exit 8 with the VM's exact state; following the report finishes the restore`, async () => {
      const vm = `step${i + 1}`;
      await makeVm(c, ns, vm, { run: true, annotations: { [SIM.snapshotDelay]: "1s" } });
      await makeSnapshot(c, ns, `${vm}-snap`, vm);
      await writeRoot(c, ns, vm, `${vm}-v2`);
      proxy.reset();
      proxy.inject(k.rule(vm));
      const faultsBefore = proxy.faults;
      const r = await runCli(
        ["-n", ns, "restore", vm, `${vm}-snap`, "--confirm", `${vm}-snap`, "--yes", "--stop"],
        { kubeconfig, env: { VMSNAP_RETRY_BUDGET: "1500ms" } },
      );
      proxy.reset();
      assert.ok(proxy.faults > faultsBefore, "the fault was injected");
      expectExit(r, 8, /cannot reach the cluster/, /state of VM \S+ now:/, ...k.state);
      assert.match(r.stderr, /next: /, show(r));

      const safeties = (await objectsOf(c, ns, KubeVirt.snapshots, vm)).filter((s) =>
        /-pre-restore-/.test(s.metadata.name),
      );
      assert.equal(safeties.length, k.safetyCreated ? 1 : 0, "one safety snapshot, or none");
      for (const s of safeties) {
        await waitFor(
          c,
          KubeVirt.snapshots,
          s.metadata.name,
          ns,
          (x) => x.status?.readyToUse,
          60_000,
        );
        assert.equal(await snapshotData(c, ns, s.metadata.name), `${vm}-v2`, "pre-restore data");
      }
      const restores = await objectsOf(c, ns, KubeVirt.restores, vm);
      assert.equal(restores.length, k.restoreCreated ? 1 : 0, "one restore, or none");
      if (k.restoreCreated) {
        // The platform finishes what was created: the disk holds the snapshot's data.
        await waitFor(
          c,
          KubeVirt.restores,
          restores[0]!.metadata.name,
          ns,
          (x) => x.status?.complete,
        );
        assert.equal(await rootData(c, ns, vm), `${vm}-v1`);
      } else {
        assert.equal(await rootData(c, ns, vm), `${vm}-v2`, "the restore never started");
      }

      if (k.step === "VM start") {
        assert.match(r.stderr, /next: only the start is left/, show(r));
        assert.equal(rerunArgs(r), undefined, "nothing to re-run");
        return;
      }
      // Following the report: the re-run it names finishes the restore. It names the restore, never
      // a way around its confirmation; the human (here: the test, as a script would) confirms it.
      const again = rerunArgs(r);
      assert.ok(again, show(r));
      assert.deepEqual(again.slice(0, 4), ["restore", "-n", ns, vm], show(r));
      assert.ok(!again.some((a) => a === "--yes" || a === "--confirm"), show(r));
      const fin = await runCli([...again, "--confirm", `${vm}-snap`, "--yes"]);
      expectExit(fin, 0, /Restored VM/);
      assert.equal(await rootData(c, ns, vm), `${vm}-v1`, "the disk holds the snapshot's data");
    });
  });
});
