// Fidelity of the VM Operator simulator to vmware-tanzu/vm-operator (main), and vmsnap against it:
// a failed revert is retried for as long as spec.currentSnapshotName asks for it (kubectl alone
// shows it), so vmsnap never leaves a revert requested once it gave up on it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, Csi, apiVersionOf } from "../../src/kube/resources.js";
import { ErrorObject, Snapshot } from "../../src/core/schema.js";
import { ensureSimStorage, pvcManifest, vmoVmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { adminClient, newNamespace, testEnv } from "../helpers/env.js";
import { json, runCli, showResult, startCli } from "../helpers/cli.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { accept, connectInProcess, failed, serverOptions } from "../helpers/mcp.js";
import { volumeSnapshotManifest, waitFor, type Json } from "../helpers/kube.js";
import {
  kubectlCondition,
  kubectlCreate,
  kubectlGet,
  kubectlOk,
  kubectlWait,
} from "./dvp-kubectl.js";

const VMS = "virtualmachines.vmoperator.vmware.com";
const SNAPS = "virtualmachinesnapshots.vmoperator.vmware.com";
const REVERT = "VirtualMachineSnapshotRevertSucceeded";
const READY = '{.status.conditions[?(@.type=="VirtualMachineSnapshotReady")].status}';

/** A VM Operator snapshot of `vm`, as the user applies it. */
const vmoSnapshot = (name: string, vm: string) => ({
  apiVersion: apiVersionOf(VmOp.snapshots),
  kind: "VirtualMachineSnapshot",
  metadata: { name, namespace: ns },
  spec: { vmName: vm },
});

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "fid-vmo");
});

after(() => c?.close());

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);

/** A VM with one PVC `<vm>-data` (data `<vm>-data-v1`), observed in its power state. */
async function makeVm(name: string, power: "PoweredOn" | "PoweredOff", extra = {}) {
  await c.create(
    Core.pvcs,
    pvcManifest({ name: `${name}-data`, namespace: ns, data: `${name}-data-v1` }),
  );
  await c.create(
    VmOp.vms,
    vmoVmManifest({
      name,
      namespace: ns,
      powerState: power,
      claims: [{ name: "data", claimName: `${name}-data` }],
      annotations: { [SIM.data]: `${name}-boot-v1`, ...extra },
    }),
  );
  await waitFor(c, VmOp.vms, name, ns, (v) => v.status?.powerState === power, 60_000);
}

async function dataOf(vm: string): Promise<string> {
  return (await c.get(Core.pvcs, `${vm}-data`, ns)).metadata.annotations?.[SIM.data] ?? "";
}

async function writeData(vm: string, data: string): Promise<void> {
  await c.patch(Core.pvcs, `${vm}-data`, ns, { metadata: { annotations: { [SIM.data]: data } } });
}

describe("VM Operator: a failed revert is retried while spec.currentSnapshotName asks for it", () => {
  it("kubectl: a revert blocked by a CSI VolumeSnapshot fails, stays requested, and happens once the block is gone", async () => {
    await makeVm("kv", "PoweredOff");
    await kubectlCreate({
      apiVersion: apiVersionOf(VmOp.snapshots),
      kind: "VirtualMachineSnapshot",
      metadata: { name: "kv-1", namespace: ns },
      spec: { vmName: "kv" },
    });
    await kubectlWait(
      ns,
      `${SNAPS}/kv-1`,
      '{.status.conditions[?(@.type=="VirtualMachineSnapshotReady")].status}',
      "True",
    );
    await writeData("kv", "kv-data-v2");
    await kubectlCreate(volumeSnapshotManifest(ns, "kv-data-vs", "kv-data"));
    await kubectlOk([
      "-n",
      ns,
      "patch",
      `${VMS}/kv`,
      "--type",
      "merge",
      "-p",
      '{"spec":{"currentSnapshotName":"kv-1"}}',
    ]);
    await kubectlWait(
      ns,
      `${VMS}/kv`,
      `{.status.conditions[?(@.type=="${REVERT}")].reason}`,
      "VirtualMachineSnapshotRevertTaskFailed",
    );
    const message = await kubectlCondition(ns, `${VMS}/kv`, REVERT);
    assert.match(message, /VolumeSnapshots should be deleted before retrying the revert/);
    assert.equal(await kubectlGet(ns, `${VMS}/kv`, "{.spec.currentSnapshotName}"), "kv-1");
    assert.equal(await dataOf("kv"), "kv-data-v2", "the failed revert changed nothing");
    // Nobody asks again: the request still in the spec is enough once the block is gone.
    await kubectlOk(["-n", ns, "delete", `volumesnapshots.snapshot.storage.k8s.io/kv-data-vs`]);
    await kubectlWait(ns, `${VMS}/kv`, "{.status.currentSnapshot.name}", "kv-1");
    assert.equal(await kubectlGet(ns, `${VMS}/kv`, "{.spec.currentSnapshotName}"), "");
    assert.equal(await dataOf("kv"), "kv-data-v1", "reverted long after it first failed");
  });

  it("vmsnap takes back a revert that failed: spec.currentSnapshotName cleared, the VM on again, the report says so", async () => {
    // The VM's snapshots take 4 s: the safety snapshot leaves time to block the revert after
    // vmsnap's own check (a CSI VolumeSnapshot of the VM's claim, taken after vw-1).
    await makeVm("vw", "PoweredOn", { [SIM.snapshotDelay]: "4s" });
    const made = await vmsnap("create", "vw", "--name", "vw-1", "--yes", "-o", "json");
    assert.equal(made.code, 0, showResult(made));
    assert.equal(Snapshot.parse(json(made)).readyToUse, true);
    await writeData("vw", "vw-data-v2");

    const running = vmsnap("restore", "vw", "vw-1", "--stop", "--confirm", "vw-1", "-o", "json");
    const safety = await waitForSafetySnapshot("vw");
    await c.create(Csi.volumeSnapshots, volumeSnapshotManifest(ns, "vw-data-vs", "vw-data"));
    const r = await running;
    assert.equal(r.code, 1, showResult(r));
    const e = ErrorObject.parse(json(r));
    assert.equal(e.code, "OperationFailed");
    assert.match(e.message, /revert failed: VirtualMachineSnapshotRevertTaskFailed/);
    assert.match(
      e.message,
      /the request was taken back \(spec\.currentSnapshotName cleared\), so the platform does not try it again/,
    );
    assert.match(e.message, new RegExp(`safety snapshot ${safety}: ready`));
    const vm = (await c.get(VmOp.vms, "vw", ns)) as Json;
    assert.equal(vm.spec.currentSnapshotName, undefined, "no revert left requested");
    assert.match(e.message, /VM vw: started again by vmsnap/);
    await waitFor(c, VmOp.vms, "vw", ns, (v) => v.status?.powerState === "PoweredOn", 60_000);
    // With the block gone, nothing reverts the VM behind the user's back.
    await c.delete(Csi.volumeSnapshots, "vw-data-vs", ns);
    await waitFor(
      c,
      VmOp.vms,
      "vw",
      ns,
      (v) => !(v.status?.conditions as Json[] | undefined)?.some((x) => x.type === REVERT),
      60_000,
    );
    assert.equal(await dataOf("vw"), "vw-data-v2");
    assert.equal(((await c.get(VmOp.vms, "vw", ns)) as Json).spec.currentSnapshotName, undefined);
  });
});

describe("VM Operator: the revert taken back, through MCP", () => {
  it("MCP: a revert that failed is taken back; the result names it and its next step is a tool call", async () => {
    await makeVm("vm-mcp", "PoweredOn", { [SIM.snapshotDelay]: "4s" });
    const made = await vmsnap("create", "vm-mcp", "--name", "vm-mcp-1", "--yes", "-o", "json");
    assert.equal(made.code, 0, showResult(made));
    await writeData("vm-mcp", "vm-mcp-data-v2");
    const mcp = await connectInProcess(serverOptions({ namespace: ns }), {
      era: "modern",
      onElicit: accept({
        snapshotName: "vm-mcp-1",
        runningVm: "stop-and-restore",
        confirm: true,
      }),
    });
    try {
      const call = mcp.client.callTool({
        name: "vm_snapshot_restore",
        arguments: { vm: "vm-mcp", snapshot: "vm-mcp-1" },
      }) as Promise<CallToolResult>;
      await waitForSafetySnapshot("vm-mcp");
      await c.create(
        Csi.volumeSnapshots,
        volumeSnapshotManifest(ns, "vm-mcp-data-vs", "vm-mcp-data"),
      );
      const e = failed(await call, "OperationFailed")!;
      assert.match(e.message, /revert failed: VirtualMachineSnapshotRevertTaskFailed/);
      assert.match(
        e.message,
        /restore vm-mcp-restore-\d{8}-\d{6}: the request was taken back \(spec\.currentSnapshotName cleared\), so the platform does not try it again/,
      );
      assert.match(
        e.hint ?? "",
        /run vm_snapshot_restore with namespace "[^"]+", vm "vm-mcp", snapshot "vm-mcp-1"/,
      );
      // Phrased for an agent: no CLI command, no flag that answers a confirmation.
      assert.doesNotMatch(
        `${e.message}\n${e.hint ?? ""}`,
        /vmsnap (restore|create|describe|delete)\b|--confirm|--yes|--stop\b/,
      );
      assert.equal(
        ((await c.get(VmOp.vms, "vm-mcp", ns)) as Json).spec.currentSnapshotName,
        undefined,
      );
    } finally {
      await mcp.close();
      await c.delete(Csi.volumeSnapshots, "vm-mcp-data-vs", ns).catch(() => undefined);
    }
  });
});

describe("VM Operator: vmsnap takes back a revert it gave up on (timeout, Ctrl-C)", () => {
  // A revert waits while a snapshot of the VM is being taken (upstream skips it while a
  // snapshot task runs): the simulator's `sim.vmsnap.io/snapshot-delay` on the VM keeps such a
  // snapshot in progress for an hour, so the revert neither happens nor fails meanwhile.
  /** A powered-off VM with a ready snapshot `<vm>-1` (data v1), data v2 now, and a revert blocker. */
  async function blockedVm(vm: string): Promise<void> {
    await makeVm(vm, "PoweredOff");
    await kubectlCreate(vmoSnapshot(`${vm}-1`, vm));
    await kubectlWait(ns, `${SNAPS}/${vm}-1`, READY, "True");
    await writeData(vm, `${vm}-data-v2`);
    await kubectlOk(["-n", ns, "annotate", `${VMS}/${vm}`, `${SIM.snapshotDelay}=1h`]);
    await kubectlCreate(vmoSnapshot(`${vm}-busy`, vm));
    // Being taken: the snapshot task has begun (its status has the vSphere snapshot's ID).
    await waitFor(c, VmOp.snapshots, `${vm}-busy`, ns, (s) => Boolean(s.status?.uniqueID), 60_000);
  }

  /**
   * The blocker gone, then the VM reconciled (powered on): a revert still requested would have
   * happened first (it is the first thing a reconcile does).
   */
  async function unblock(vm: string): Promise<void> {
    await kubectlOk(["-n", ns, "delete", `${SNAPS}/${vm}-busy`, "--wait=true", "--timeout=60s"]);
    await kubectlOk([
      "-n",
      ns,
      "patch",
      `${VMS}/${vm}`,
      "--type",
      "merge",
      "-p",
      '{"spec":{"powerState":"PoweredOn"}}',
    ]);
    await kubectlWait(ns, `${VMS}/${vm}`, "{.status.powerState}", "PoweredOn");
  }

  it("kubectl: a revert asked for while a snapshot of the VM is being taken stays requested, and happens once that snapshot is gone", async () => {
    await blockedVm("kb");
    await kubectlOk([
      "-n",
      ns,
      "patch",
      `${VMS}/kb`,
      "--type",
      "merge",
      "-p",
      '{"spec":{"currentSnapshotName":"kb-1"}}',
    ]);
    // The VM is reconciled meanwhile (it is powered on) and the revert still waits.
    await kubectlOk([
      "-n",
      ns,
      "patch",
      `${VMS}/kb`,
      "--type",
      "merge",
      "-p",
      '{"spec":{"powerState":"PoweredOn"}}',
    ]);
    await kubectlWait(ns, `${VMS}/kb`, "{.status.powerState}", "PoweredOn");
    assert.equal(await kubectlGet(ns, `${VMS}/kb`, "{.spec.currentSnapshotName}"), "kb-1");
    assert.equal(await dataOf("kb"), "kb-data-v2");
    await kubectlOk(["-n", ns, "delete", `${SNAPS}/kb-busy`, "--wait=true", "--timeout=60s"]);
    await kubectlWait(ns, `${VMS}/kb`, "{.status.currentSnapshot.name}", "kb-1");
    assert.equal(await kubectlGet(ns, `${VMS}/kb`, "{.spec.currentSnapshotName}"), "");
    assert.equal(await dataOf("kb"), "kb-data-v1", "reverted once nothing held it");
  });

  it("vmsnap restore --timeout: gives up, takes the revert back (exit 6); nothing reverts the VM later", async () => {
    await blockedVm("kt");
    const r = await vmsnap(
      "restore",
      "kt",
      "kt-1",
      "--confirm",
      "kt-1",
      "--no-safety-snapshot",
      "--timeout",
      "3s",
      "-o",
      "json",
    );
    assert.equal(r.code, 6, showResult(r));
    const e = ErrorObject.parse(json(r));
    assert.equal(e.code, "DeadlineExceeded");
    assert.match(
      e.message,
      /restore kt-restore-\d{8}-\d{6}: the request was taken back \(spec\.currentSnapshotName cleared\), so the platform does not try it again/,
    );
    assert.doesNotMatch(e.message, /STILL REQUESTED/);
    assert.equal(((await c.get(VmOp.vms, "kt", ns)) as Json).spec.currentSnapshotName, undefined);
    await unblock("kt");
    assert.equal(await dataOf("kt"), "kt-data-v2", "the revert given up on never happened");
  });

  it("vmsnap restore interrupted (SIGINT) while the revert waits: exit 3, the revert taken back", async () => {
    await blockedVm("ki");
    const run = startCli([
      "-n",
      ns,
      "restore",
      "ki",
      "ki-1",
      "--confirm",
      "ki-1",
      "--no-safety-snapshot",
      "-o",
      "json",
    ]);
    await waitFor(c, VmOp.vms, "ki", ns, (v) => v.spec?.currentSnapshotName === "ki-1", 60_000);
    run.child.kill("SIGINT");
    const r = await run.done;
    assert.equal(r.code, 3, showResult(r));
    const e = ErrorObject.parse(json(r));
    assert.equal(e.code, "Cancelled");
    assert.match(e.message, /interrupted \(SIGINT\)/);
    assert.match(
      e.message,
      /restore ki-restore-\d{8}-\d{6}: the request was taken back \(spec\.currentSnapshotName cleared\), so the platform does not try it again/,
    );
    assert.equal(((await c.get(VmOp.vms, "ki", ns)) as Json).spec.currentSnapshotName, undefined);
    await unblock("ki");
    assert.equal(await dataOf("ki"), "ki-data-v2", "the revert given up on never happened");
  });

  it("vmsnap restore --timeout whose take-back is refused: the report says STILL REQUESTED with the exact patch, which clears it", async () => {
    await blockedVm("ks");
    const dir = await mkdtemp(path.join(tmpdir(), "vmsnap-vmo-"));
    const proxy = await FaultProxy.start(testEnv());
    try {
      const kubeconfig = await proxy.kubeconfig(VMSNAP_USER.name, dir, ns);
      // The first real patch of the VM asks for the revert; the next (taking it back) is refused.
      proxy.inject({
        method: "PATCH",
        path: new RegExp(`/virtualmachines/ks$`),
        dryRun: false,
        skip: 1,
        times: 10,
        fault: { kind: "status", code: 403 },
      });
      const r = await runCli(
        [
          "-n",
          ns,
          "restore",
          "ks",
          "ks-1",
          "--confirm",
          "ks-1",
          "--no-safety-snapshot",
          "--timeout",
          "3s",
          "-o",
          "json",
        ],
        { kubeconfig },
      );
      assert.equal(r.code, 6, showResult(r));
      const e = ErrorObject.parse(json(r));
      const clear = `kubectl -n ${ns} patch ${VMS} ks --type merge -p '{"spec":{"currentSnapshotName":null}}'`;
      assert.match(
        e.message,
        /restore ks-restore-\d{8}-\d{6}: STILL REQUESTED — spec\.currentSnapshotName on VM ks still names ks-1 and the platform keeps retrying the revert/,
      );
      assert.ok(e.message.includes(`clear it with: ${clear}`), e.message);
      assert.ok((e.hint ?? "").includes(`clear the revert request first (${clear})`), e.hint);
      assert.equal(((await c.get(VmOp.vms, "ks", ns)) as Json).spec.currentSnapshotName, "ks-1");
      // The patch the report gives, run as it is printed, clears it.
      await kubectlOk([
        "-n",
        ns,
        "patch",
        VMS,
        "ks",
        "--type",
        "merge",
        "-p",
        '{"spec":{"currentSnapshotName":null}}',
      ]);
      assert.equal(await kubectlGet(ns, `${VMS}/ks`, "{.spec.currentSnapshotName}"), "");
      await unblock("ks");
      assert.equal(await dataOf("ks"), "ks-data-v2");
    } finally {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The name of the VM's safety snapshot once vmsnap created it. */
async function waitForSafetySnapshot(vm: string): Promise<string> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const found = (await c.list(VmOp.snapshots, ns)).items.find((s) =>
      s.metadata.name.startsWith(`${vm}-pre-restore-`),
    );
    if (found) return found.metadata.name;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no safety snapshot of ${vm} appeared`);
}
