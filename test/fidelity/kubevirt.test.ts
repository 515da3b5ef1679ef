// KubeVirt controller behaviours as upstream has them (kubevirt/kubevirt v1.9.0
// pkg/storage/snapshot/{snapshot,restore}.go). Each behaviour is shown twice: first the
// playground doing what upstream does, with kubectl alone (apply, get, wait); then vmsnap
// handling it, through the CLI (and the MCP server where its answer differs).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import { findBinaries } from "../../src/playground/binaries.js";
import {
  SIM_DRIVER,
  STORAGE,
  ensureSimStorage,
  pvcManifest,
  vmManifest,
} from "../../src/playground/fixtures.js";
import { Preflight, Restore, Snapshot } from "../../src/core/schema.js";
import { adminClient, adminKubeconfig, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult, type CliResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { kvRestore, kvSnapshot, vmDiskFingerprints, waitFor, type Json } from "../helpers/kube.js";
import { connectInProcess, failed, serverOptions, type McpConnection } from "../helpers/mcp.js";

const run = promisify(execFile);
let c: KubeClient;
let ns: string;

/** kubectl (from the control-plane cache) as the cluster admin; its stdout. */
async function kubectl(args: string[], input?: unknown): Promise<string> {
  const bin = findBinaries().kubectl;
  assert.ok(bin, "kubectl is built by the harness");
  const child = run(bin, ["--kubeconfig", adminKubeconfig(), "-n", ns, ...args], {
    timeout: 120_000,
  });
  if (input !== undefined) child.child.stdin?.end(JSON.stringify(input));
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(" ")}: ${e.stderr ?? e.message}`);
  }
}

const apply = (obj: unknown) => kubectl(["apply", "-f", "-"], obj);
const getJson = async (kind: string, name: string): Promise<Json> =>
  JSON.parse(await kubectl(["get", kind, name, "-o", "json"])) as Json;
const condition = (o: Json, type: string): Json | undefined =>
  ((o.status?.conditions ?? []) as Json[]).find((x) => x.type === type);

const vmsnap = (...args: string[]): Promise<CliResult> => runCli(["-n", ns, ...args]);
/** `vmsnap restore VM SNAP`, its name typed and confirmed, with any other arguments. */
const confirmedRestore = (vm: string, snap: string, ...more: string[]): Promise<CliResult> =>
  vmsnap("restore", vm, snap, "--confirm", snap, "--yes", ...more);

function expectExit(r: CliResult, code: number, ...patterns: RegExp[]): void {
  assert.equal(r.code, code, showResult(r));
  for (const p of patterns) assert.match(r.stdout + r.stderr, p, showResult(r));
}

/** A VM with one disk holding `<name>-v1`, applied with kubectl; waits for its run state. */
async function kubectlVm(
  name: string,
  o: { runStrategy?: string; storageClassName?: string } = {},
): Promise<void> {
  await apply(
    pvcManifest({
      name: `${name}-root`,
      namespace: ns,
      data: `${name}-v1`,
      ...(o.storageClassName ? { storageClassName: o.storageClassName } : {}),
    }),
  );
  const runStrategy = o.runStrategy ?? "Halted";
  await apply(
    vmManifest({
      name,
      namespace: ns,
      runStrategy: runStrategy as "Always" | "Halted",
      disks: [{ name: "rootdisk", claimName: `${name}-root` }],
    }),
  );
  const printable = runStrategy === "Halted" ? "Stopped" : "Running";
  await kubectl([
    "wait",
    `--for=jsonpath={.status.printableStatus}=${printable}`,
    `vm/${name}`,
    "--timeout=90s",
  ]);
}

const snapshotOf = (name: string, vm: string) => kvSnapshot(ns, name, vm);
const restoreOf = (name: string, vm: string, snap: string, extra: Json = {}) =>
  kvRestore(ns, name, vm, snap, extra);

/** Sets the VM's runStrategy with kubectl; waits for the printable status it leads to, if given. */
async function setRunStrategy(vm: string, strategy: string, printable?: string): Promise<void> {
  await kubectl([
    "patch",
    "vm",
    vm,
    "--type=merge",
    "-p",
    JSON.stringify({ spec: { runStrategy: strategy } }),
  ]);
  // The VM controller has acted on it once the status says the new strategy.
  await kubectl([
    "wait",
    `--for=jsonpath={.status.runStrategy}=${strategy}`,
    `vm/${vm}`,
    "--timeout=60s",
  ]);
  if (printable)
    await kubectl([
      "wait",
      `--for=jsonpath={.status.printableStatus}=${printable}`,
      `vm/${vm}`,
      "--timeout=90s",
    ]);
}

async function kubectlSnapshot(name: string, vm: string): Promise<void> {
  await apply(snapshotOf(name, vm));
  await kubectl([
    "wait",
    "--for=jsonpath={.status.readyToUse}=true",
    `vmsnapshot/${name}`,
    "--timeout=90s",
  ]);
}

/** An MCP session as vmsnap-user in the test namespace; closed after `body`. */
async function withMcp(body: (m: McpConnection) => Promise<void>): Promise<void> {
  const mcp = await connectInProcess(serverOptions({ namespace: ns }), { era: "modern" });
  try {
    await body(mcp);
  } finally {
    await mcp.close();
  }
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "fid-kv");
});

after(() => c?.close());

const DIFFERENT_TARGET =
  "restore source and restore target are different but restore target already exists";

describe("a restore onto a VM created again under the snapshot's source name", () => {
  let firstUid = "";
  let secondUid = "";

  it("kubectl: KubeVirt never fails it: complete stays false, Ready False with its reason, no Failure", async () => {
    await kubectlVm("again");
    await kubectlSnapshot("again-snap", "again");
    firstUid = (await getJson("vm", "again")).metadata.uid as string;
    assert.equal((await getJson("vmsnapshot", "again-snap")).status.sourceUID, firstUid);
    await kubectl(["delete", "vm", "again", "--wait=true", "--timeout=60s"]);
    await kubectlVm("again");
    secondUid = (await getJson("vm", "again")).metadata.uid as string;
    assert.notEqual(secondUid, firstUid);

    await apply(restoreOf("again-by-hand", "again", "again-snap"));
    await kubectl([
      "wait",
      `--for=jsonpath={.status.conditions[?(@.type=="Ready")].reason}=${DIFFERENT_TARGET}`,
      "vmrestore/again-by-hand",
      "--timeout=90s",
    ]);
    const r = await getJson("vmrestore", "again-by-hand");
    assert.equal(r.status.complete, false);
    assert.equal(condition(r, "Progressing")?.reason, DIFFERENT_TARGET);
    assert.equal(condition(r, "Ready")?.status, "False");
    assert.equal(condition(r, "Failure"), undefined, "upstream never fails it");
    // The VM and its disk are untouched.
    assert.equal((await getJson("vm", "again")).status.restoreInProgress, undefined);
    assert.deepEqual(await vmDiskFingerprints(c, ns, "again"), { rootdisk: "again-v1" });
  });

  it("vmsnap: the unfinished restore is named (7) with how to clear it, before anything is written", async () => {
    const since = new Date();
    const r = await confirmedRestore("again", "again-snap");
    expectExit(
      r,
      7,
      new RegExp(
        `a restore of VM again is already in progress \\(again-by-hand: ${DIFFERENT_TARGET}\\)`,
      ),
      /`kubectl delete virtualmachinerestore again-by-hand`/,
      new RegExp(`and run \`vmsnap restore -n ${ns} again again-snap\` again`),
    );
    assert.deepEqual(await writesIn(ns, since), []);
  });

  it("vmsnap: once it is deleted, the snapshot of the earlier VM is refused (2) naming both, nothing written", async () => {
    await kubectl(["delete", "vmrestore", "again-by-hand", "--wait=true", "--timeout=60s"]);
    const since = new Date();
    const r = await confirmedRestore("again", "again-snap");
    expectExit(
      r,
      2,
      new RegExp(
        `snapshot again-snap was taken of an earlier VM named again \\(uid ${firstUid}\\)`,
      ),
      new RegExp(`now is another VM \\(uid ${secondUid}\\)`),
      new RegExp(`\`vmsnap clone -n ${ns} again-snap --to NEW_VM\``),
    );
    assert.deepEqual(await writesIn(ns, since), []);
    assert.deepEqual(await vmDiskFingerprints(c, ns, "again"), { rootdisk: "again-v1" });
    await withMcp(async (mcp) => {
      const m = (await mcp.client.callTool({
        name: "vm_snapshot_restore",
        arguments: { vm: "again", snapshot: "again-snap", dryRun: true },
      })) as CallToolResult;
      const e = failed(m, "InvalidInput")!;
      assert.match(e.message, /was taken of an earlier VM named again/);
      assert.match(
        e.hint ?? "",
        new RegExp(`vm_clone_from_snapshot with namespace "${ns}", snapshot "again-snap"`),
      );
    });
  });
});

describe("a failed restore blocks every later restore of the VM", () => {
  it("kubectl: FailImmediate on a running VM fails; the restore stays, not complete", async () => {
    await kubectlVm("blocked", { runStrategy: "Always" });
    await kubectlSnapshot("blocked-snap", "blocked");
    await apply(
      restoreOf("blocked-by-hand", "blocked", "blocked-snap", {
        targetReadinessPolicy: "FailImmediate",
      }),
    );
    await kubectl([
      "wait",
      "--for=condition=Failure",
      "vmrestore/blocked-by-hand",
      "--timeout=90s",
    ]);
    const r = await getJson("vmrestore", "blocked-by-hand");
    assert.equal(r.status.complete, false);
    assert.equal(
      condition(r, "Failure")?.reason,
      "Restore target VMI must be powered off before restore operation",
    );
  });

  it("vmsnap CLI: refused (7) before the VM is stopped, naming it and how to clear it", async () => {
    const since = new Date();
    const r = await confirmedRestore("blocked", "blocked-snap", "--stop");
    expectExit(
      r,
      7,
      /restore blocked-by-hand of VM blocked failed: Restore target VMI must be powered off before restore operation; it is not complete, and the platform refuses another restore of the VM while it exists/,
      new RegExp(
        `see why it failed, then delete it \\(in namespace ${ns}: \`kubectl delete virtualmachinerestore blocked-by-hand\`\\) and run \`vmsnap restore -n ${ns} blocked blocked-snap\` again`,
      ),
    );
    assert.deepEqual(await writesIn(ns, since), [], "nothing stopped, nothing written");
    const vm = await getJson("vm", "blocked");
    assert.equal(vm.spec.runStrategy, "Always");
    assert.equal(vm.status.printableStatus, "Running");
  });

  it("MCP: the same refusal, its next step a tool call", async () => {
    await withMcp(async (mcp) => {
      const m = (await mcp.client.callTool({
        name: "vm_snapshot_restore",
        arguments: { vm: "blocked", snapshot: "blocked-snap", stopVm: true, dryRun: true },
      })) as CallToolResult;
      const e = failed(m, "Conflict")!;
      assert.match(e.message, /restore blocked-by-hand of VM blocked failed/);
      assert.match(
        e.hint ?? "",
        new RegExp(
          `and run vm_snapshot_restore with namespace "${ns}", vm "blocked", snapshot "blocked-snap" again`,
        ),
      );
      assert.doesNotMatch(e.hint ?? "", /vmsnap|--/);
    });
  });

  it("vmsnap: once the failed restore is deleted, the restore goes through", async () => {
    await kubectl(["delete", "vmrestore", "blocked-by-hand", "--wait=true", "--timeout=60s"]);
    const r = await confirmedRestore("blocked", "blocked-snap", "--stop", "-o", "json");
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.equal(res.stoppedVm, true);
    assert.equal(res.restartedVm, true);
  });
});

describe("restores on WaitForFirstConsumer storage", () => {
  it("kubectl: the restore of a stopped VM completes with its new claim Pending", async () => {
    await kubectlVm("wffc", { runStrategy: "Always", storageClassName: STORAGE.wffc });
    await kubectlSnapshot("wffc-snap", "wffc");
    await setRunStrategy("wffc", "Halted", "Stopped");
    await apply(restoreOf("wffc-by-hand", "wffc", "wffc-snap"));
    await kubectl([
      "wait",
      "--for=jsonpath={.status.complete}=true",
      "vmrestore/wffc-by-hand",
      "--timeout=90s",
    ]);
    const r = await getJson("vmrestore", "wffc-by-hand");
    const claim = (r.status.restores as Json[])[0]!.persistentVolumeClaim as string;
    const pvc = await getJson("pvc", claim);
    assert.equal(pvc.status.phase, "Pending", "a WaitForFirstConsumer claim binds when used");
    assert.equal(pvc.spec.storageClassName, STORAGE.wffc);
  });

  it("vmsnap: restoring the running VM stops it, restores, starts it; the new claim binds", async () => {
    await setRunStrategy("wffc", "Always", "Running");
    const r = await confirmedRestore("wffc", "wffc-snap", "--stop", "-o", "json");
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.equal(res.restartedVm, true);
    const claim = res.claimsReplaced?.[0]?.after;
    assert.ok(claim, showResult(r));
    await waitFor(c, Core.pvcs, claim, ns, (p) => p.status?.phase === "Bound", 60_000);
    assert.deepEqual(await vmDiskFingerprints(c, ns, "wffc"), { rootdisk: "wffc-v1" });
  });
});

describe("the VM's snapshot lock is released one reconcile after the snapshot succeeds", () => {
  it("kubectl: at the resourceVersion where the snapshot succeeds, the VM still holds the lock", async () => {
    await kubectlVm("lock");
    // The snapshot's updates as kubectl watches them: "<resourceVersion> <phase>" per line.
    const watch = spawn(
      findBinaries().kubectl!,
      [
        "--kubeconfig",
        adminKubeconfig(),
        "-n",
        ns,
        "get",
        "vmsnapshot",
        "--watch",
        "-o",
        'jsonpath={.metadata.name} {.metadata.resourceVersion} {.status.phase}{"\\n"}',
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    const lineOf = (re: RegExp) =>
      new Promise<string>((resolve) => {
        const look = () => {
          const line = out.split("\n").find((l) => re.test(l.trim()));
          if (line) resolve(line.trim());
        };
        watch.stdout.on("data", look);
        look();
      });
    watch.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const succeeded = lineOf(/^lock-snap \d+ Succeeded$/).then((l) => l.split(" ")[1]!);
    let rv: string;
    try {
      // A snapshot of no VM, seen by the watch: from then on it sees every update.
      await apply(snapshotOf("lock-marker", "no-such-vm"));
      await lineOf(/^lock-marker /);
      await kubectlSnapshot("lock-snap", "lock");
      rv = await succeeded;
    } finally {
      watch.kill();
      await kubectl(["delete", "vmsnapshot", "lock-marker", "--wait=false"]);
    }
    const at = JSON.parse(
      await kubectl([
        "get",
        "--raw",
        `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines?fieldSelector=metadata.name=lock&resourceVersion=${rv}&resourceVersionMatch=Exact`,
      ]),
    ) as { items: Json[] };
    assert.equal(at.items[0]?.status?.snapshotInProgress, "lock-snap");
    // Released by the next reconcile.
    await waitFor(c, KubeVirt.vms, "lock", ns, (v) => !v.status?.snapshotInProgress);
  });

  it("vmsnap: create returns once the lock is gone, so what follows is not refused", async () => {
    const r = await vmsnap("create", "lock", "--name", "lock-snap-2", "--yes", "-o", "json");
    expectExit(r, 0);
    assert.equal(Snapshot.parse(json(r)).readyToUse, true);
    // Read at once after the CLI exits: no wait.
    const vm = (await c.get(KubeVirt.vms, "lock", ns)) as Json;
    assert.equal(vm.status?.snapshotInProgress, undefined);
    assert.ok(
      !(vm.metadata.finalizers ?? []).includes("snapshot.kubevirt.io/snapshot-source-protection"),
    );
  });
});

describe("a runStrategy: Manual VM", () => {
  it("kubectl: a Manual VM stays stopped when its runStrategy is set back to Manual", async () => {
    await kubectlVm("manual", { runStrategy: "Always" });
    await setRunStrategy("manual", "Manual");
    assert.equal((await getJson("vm", "manual")).status.printableStatus, "Running");
    await kubectlSnapshot("manual-snap", "manual");
    await setRunStrategy("manual", "Halted", "Stopped");
    await setRunStrategy("manual", "Manual");
    assert.equal((await getJson("vm", "manual")).status.printableStatus, "Stopped");
    assert.equal(
      JSON.parse(await kubectl(["get", "vmi", "-o", "json"])).items.filter(
        (i: Json) => i.metadata.name === "manual",
      ).length,
      0,
    );
  });

  it("vmsnap: the restore puts Manual back and says the VM is not started, and how to start it", async () => {
    await setRunStrategy("manual", "Always", "Running");
    await setRunStrategy("manual", "Manual");
    const dry = await vmsnap(
      "restore",
      "manual",
      "manual-snap",
      "--stop",
      "--dry-run",
      "-o",
      "json",
    );
    expectExit(dry, 0);
    const planned = Restore.parse(json(dry));
    assert.equal(planned.stoppedVm, true);
    assert.equal(planned.restartedVm, false);
    assert.match(planned.notRestarted ?? "", /runStrategy is Manual/);

    const r = await confirmedRestore("manual", "manual-snap", "--stop");
    expectExit(
      r,
      0,
      /VM restarted: +no — its runStrategy is Manual: putting it back does not start the VM \(KubeVirt starts a Manual VM only on a start request\); start it with `virtctl start manual -n fid-kv-[0-9a-f]+`/,
    );
    const vm = await getJson("vm", "manual");
    assert.equal(vm.spec.runStrategy, "Manual", "the run setting is the user's again");
    assert.equal(vm.status.printableStatus, "Stopped", "and the report said so");
  });

  it("vmsnap: create --stop puts Manual back and says the VM is not started, and how to start it", async () => {
    await setRunStrategy("manual", "Always", "Running");
    await setRunStrategy("manual", "Manual");
    const start = /start it with `virtctl start manual -n fid-kv-[0-9a-f]+`/;

    const dry = await vmsnap("create", "manual", "--name", "manual-off", "--stop", "--dry-run");
    expectExit(dry, 0, /the VM will be stopped for the snapshot and NOT started again/, start);
    assert.match(
      dry.stdout,
      /VM manual will be stopped for the snapshot and will NOT be started again: its runStrategy is Manual/,
    );
    assert.doesNotMatch(dry.stdout, /and started again afterwards/, showResult(dry));

    const r = await vmsnap("create", "manual", "--name", "manual-off", "--stop", "--yes");
    expectExit(
      r,
      0,
      /VM manual was stopped for the snapshot and is NOT started again: its runStrategy is Manual: putting it back does not start the VM/,
      start,
    );
    const snap = Snapshot.parse(json(await vmsnap("describe", "manual-off", "-o", "json")));
    assert.equal(snap.readyToUse, true);
    const vm = await getJson("vm", "manual");
    assert.equal(vm.spec.runStrategy, "Manual", "the run setting is the user's again");
    assert.equal(vm.status.printableStatus, "Stopped", "and the report said so");
  });
});

describe("the VolumeSnapshotClass KubeVirt chooses", () => {
  it("kubectl: a StorageProfile naming a missing class leaves the volume out (no fallback)", async () => {
    const sc = `${ns}-profiled`;
    await apply({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: sc },
      provisioner: SIM_DRIVER,
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
    });
    await kubectl([
      "wait",
      "--for=jsonpath={.status.provisioner}=" + SIM_DRIVER,
      `storageprofile/${sc}`,
      "--timeout=60s",
    ]);
    await kubectl([
      "patch",
      "storageprofile",
      sc,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { snapshotClass: "no-such-class" } }),
    ]);
    await kubectlVm("profiled", { storageClassName: sc });
    await kubectl([
      "wait",
      "--for=jsonpath={.status.volumeSnapshotStatuses[0].enabled}=false",
      "vm/profiled",
      "--timeout=60s",
    ]);
    await apply(snapshotOf("profiled-snap", "profiled"));
    await kubectl([
      "wait",
      "--for=jsonpath={.status.phase}=Succeeded",
      "vmsnapshot/profiled-snap",
      "--timeout=90s",
    ]);
    const s = await getJson("vmsnapshot", "profiled-snap");
    assert.deepEqual(s.status.snapshotVolumes.excludedVolumes, ["rootdisk"]);
    await kubectl(["delete", "vmsnapshot", "profiled-snap", "--wait=true", "--timeout=60s"]);
  });

  it("vmsnap check: not snapshottable (1), naming the profile and the missing class", async () => {
    const sc = `${ns}-profiled`;
    const r = await vmsnap("check", "profiled", "-o", "json");
    expectExit(r, 1);
    const p = Preflight.parse(json(r));
    assert.equal(p.snapshottable, false);
    assert.equal(p.volumes[0]?.included, false);
    assert.match(
      p.problems.map((x) => x.message).join("\n"),
      new RegExp(
        `the CDI StorageProfile ${sc} names VolumeSnapshotClass no-such-class, which does not exist`,
      ),
    );
    await c.delete(Core.storageClasses, sc).catch(() => undefined);
  });
});
