// The platforms' admission rules, as kube-apiserver applies them through the playground's
// ValidatingWebhookConfigurations (src/playground/webhooks.ts; docs/fidelity.md): each rule is
// first shown refusing with kubectl alone, then vmsnap is shown handling it — a conflict (exit 7)
// that names what blocks it, with nothing stopped or half done.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { KubeClient } from "../../src/kube/client.js";
import { Deckhouse, KubeVirt, apiVersionOf } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { findBinaries } from "../../src/playground/binaries.js";
import { ErrorObject } from "../../src/core/schema.js";
import { adminClient, adminKubeconfig, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult, type CliResult } from "../helpers/cli.js";
import { cond, waitFor, type Json } from "../helpers/kube.js";
import { makeDhVm } from "../helpers/deckhouse.js";
import type { CallToolResult } from "@modelcontextprotocol/client";
import {
  accept,
  connectInProcess,
  describeWrite,
  failed,
  serverOptions,
  writesIn,
  type McpConnection,
} from "../helpers/mcp.js";
import { adminSnapshot, makeVm } from "../mcp/fixtures.js";

let c: KubeClient;
let ns: string;
let mcp: McpConnection;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "admission");
  mcp = await connectInProcess(serverOptions({ namespace: ns }), { era: "modern" });
});

after(async () => {
  await mcp?.close();
  c?.close();
});

/** kubectl (built with the control plane) as the cluster admin; never throws. */
function kubectl(args: string[], input?: string): Promise<CliResult> {
  const bin = findBinaries().kubectl;
  assert.ok(bin, "kubectl is built by the harness");
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["--kubeconfig", adminKubeconfig(), "-n", ns, ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);

function conflictOf(r: CliResult): ErrorObject {
  assert.equal(r.code, 7, showResult(r));
  const error = ErrorObject.parse(json(r));
  assert.equal(error.code, "Conflict", showResult(r));
  return error;
}

function restoreJson(name: string, vm: string, snapshot: string, policy?: string): string {
  return JSON.stringify({
    apiVersion: apiVersionOf(KubeVirt.restores),
    kind: "VirtualMachineRestore",
    metadata: { name, namespace: ns },
    spec: {
      target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm },
      virtualMachineSnapshotName: snapshot,
      ...(policy ? { targetReadinessPolicy: policy } : {}),
    },
  });
}

function vmopJson(name: string, vm: string, type: string, force = false): string {
  return JSON.stringify({
    apiVersion: apiVersionOf(Deckhouse.vmops),
    kind: "VirtualMachineOperation",
    metadata: { name, namespace: ns },
    spec: { type, virtualMachineName: vm, ...(force ? { force: true } : {}) },
  });
}

/** A running VM with a ready snapshot `<vm>-base`, then locked as KubeVirt's controllers lock it. */
async function lockedVm(vm: string, lock: "snapshotInProgress" | "restoreInProgress") {
  await makeVm(c, ns, vm, { run: true });
  await adminSnapshot(c, ns, vm, `${vm}-base`);
  await c.patch(
    KubeVirt.vms,
    vm,
    ns,
    { status: { [lock]: `${vm}-held` } },
    { subresource: "status" },
  );
}

/** kubectl patch of the VM's spec (a merge patch, or a JSON patch when given a list). */
function kubectlPatchVm(vm: string, patch: unknown): Promise<CliResult> {
  const type = Array.isArray(patch) ? "json" : "merge";
  return kubectl([
    "patch",
    "virtualmachines.kubevirt.io",
    vm,
    `--type=${type}`,
    "-p",
    JSON.stringify(patch),
  ]);
}

/** vmsnap restore of a running VM onto its `<vm>-base` snapshot, with --stop. */
function restoreWithStop(vm: string, snapshot = `${vm}-base`): Promise<CliResult> {
  return vmsnap("restore", vm, snapshot, "--stop", "--confirm", snapshot, "-o", "json");
}

/** vmsnap wrote nothing since, and the VM still runs as it did. */
async function untouched(vm: string, since: Date): Promise<void> {
  assert.deepEqual((await writesIn([ns], since)).map(describeWrite), []);
  const now = (await c.get(KubeVirt.vms, vm, ns)) as Json;
  assert.equal(now.spec.runStrategy, "Always");
}

describe("KubeVirt admission (upstream admitters from kubevirt.io/kubevirt)", () => {
  it("refuses a VirtualMachineRestore while a failed restore of the VM is not complete; vmsnap refuses before stopping, naming it and how to clear it", async () => {
    await makeVm(c, ns, "kv-failed", { run: true });
    await adminSnapshot(c, ns, "kv-failed", "kv-failed-snap");
    // A restore of the running VM with FailImmediate fails, and stays not complete.
    const first = await kubectl(
      ["create", "-f", "-"],
      restoreJson("kv-failed-r1", "kv-failed", "kv-failed-snap", "FailImmediate"),
    );
    assert.equal(first.code, 0, showResult(first));
    await waitFor(
      c,
      KubeVirt.restores,
      "kv-failed-r1",
      ns,
      (r) => cond(r, "Failure")?.status === "True",
    );

    const second = await kubectl(
      ["create", "-f", "-"],
      restoreJson("kv-failed-r2", "kv-failed", "kv-failed-snap"),
    );
    assert.equal(second.code, 1, showResult(second));
    assert.match(
      second.stderr,
      /The request is invalid: spec\.target: VirtualMachineRestore "kv-failed-r1" in progress/,
    );

    const since = new Date();
    const r = await restoreWithStop("kv-failed", "kv-failed-snap");
    const error = conflictOf(r);
    assert.match(error.message, /kv-failed-r1/);
    assert.match(error.message, /failed/);
    // How to clear it, as a command line for the CLI.
    assert.match(error.hint ?? "", /delete.*virtualmachinerestore.*kv-failed-r1/i);
    assert.match(error.hint ?? "", /vmsnap restore .*kv-failed kv-failed-snap/);
    await untouched("kv-failed", since);

    // Through MCP: the same conflict as a tool error, the advice phrased as a tool call.
    const m = await mcp.client.callTool({
      name: "vm_snapshot_restore",
      arguments: { vm: "kv-failed", snapshot: "kv-failed-snap" },
    });
    const mcpError = failed(m as never, "Conflict");
    assert.match(mcpError?.message ?? "", /kv-failed-r1/);
    assert.match(mcpError?.hint ?? "", /vm_snapshot_restore/);
    assert.doesNotMatch(mcpError?.hint ?? "", /vmsnap restore/);

    // Once the failed restore is deleted, a restore is admitted again.
    await c.delete(KubeVirt.restores, "kv-failed-r1", ns);
    const again = await kubectl(
      ["create", "--dry-run=server", "-f", "-"],
      restoreJson("kv-failed-r3", "kv-failed", "kv-failed-snap"),
    );
    assert.equal(again.code, 0, showResult(again));
  });

  it("refuses a run strategy or volume change while status.snapshotInProgress is set; vmsnap refuses before stopping", async () => {
    // The VM as KubeVirt's snapshot controller leaves it while it takes snapshot "kv-snap-held".
    await lockedVm("kv-snap", "snapshotInProgress");
    const stop = await kubectlPatchVm("kv-snap", { spec: { runStrategy: "Halted" } });
    assert.equal(stop.code, 1, showResult(stop));
    assert.match(
      stop.stderr,
      /The request is invalid: spec: Cannot update vm running state until snapshot "kv-snap-held" completes/,
    );
    const volumes = await kubectlPatchVm("kv-snap", [
      { op: "remove", path: "/spec/template/spec/volumes/0" },
    ]);
    assert.equal(volumes.code, 1, showResult(volumes));
    assert.match(
      volumes.stderr,
      /Cannot update vm disks or volumes until snapshot "kv-snap-held" completes/,
    );

    const since = new Date();
    const r = await restoreWithStop("kv-snap");
    assert.notEqual(r.code, 0, showResult(r));
    assert.match(r.stdout + r.stderr, /kv-snap-held/);
    await untouched("kv-snap", since);
  });

  it("refuses a run strategy change while status.restoreInProgress is set; vmsnap reports the restore as a conflict", async () => {
    await lockedVm("kv-rip", "restoreInProgress");
    const stop = await kubectlPatchVm("kv-rip", { spec: { runStrategy: "Halted" } });
    assert.equal(stop.code, 1, showResult(stop));
    assert.match(
      stop.stderr,
      /The request is invalid: spec: Cannot update VM runStrategy until restore "kv-rip-held" completes/,
    );

    const since = new Date();
    const error = conflictOf(await restoreWithStop("kv-rip"));
    assert.match(error.message, /kv-rip-held/);
    await untouched("kv-rip", since);
  });
});

describe("Deckhouse admission (activeVMOPValidator, mirrored)", () => {
  it("refuses an operation while another unfinished one of the VM exists (Stop supersedes Start); vmsnap reports it as a conflict naming the operation", async () => {
    await makeDhVm(c, ns, "dh-busy", { runPolicy: "Manual", running: false });
    const snap = await vmsnap("create", "dh-busy", "--name", "dh-busy-snap", "--yes", "-o", "json");
    assert.equal(snap.code, 0, showResult(snap));
    // A block device that does not exist keeps the VM from starting: its Start stays unfinished.
    const vm = (await c.get(Deckhouse.vms, "dh-busy", ns)) as Json;
    await c.patch(Deckhouse.vms, "dh-busy", ns, {
      spec: {
        blockDeviceRefs: [
          ...(vm.spec.blockDeviceRefs as Json[]),
          { kind: "VirtualImage", name: "dh-busy-missing" },
        ],
      },
    });
    const start = await kubectl(
      ["create", "-f", "-"],
      vmopJson("dh-busy-start", "dh-busy", "Start"),
    );
    assert.equal(start.code, 0, showResult(start));
    await waitFor(c, Deckhouse.vmops, "dh-busy-start", ns, (o) => o.status?.phase === "InProgress");

    const restart = await kubectl(
      ["create", "-f", "-"],
      vmopJson("dh-busy-restart", "dh-busy", "Restart"),
    );
    assert.equal(restart.code, 1, showResult(restart));
    assert.match(
      restart.stderr,
      /denied the request: VMOP cannot be executed now\. Previously created operation "dh-busy-start" should finish first/,
    );
    // Upstream's supersede rule: a Stop may replace an unfinished Start.
    const stop = await kubectl(
      ["create", "--dry-run=server", "-f", "-"],
      vmopJson("dh-busy-stop", "dh-busy", "Stop"),
    );
    assert.equal(stop.code, 0, showResult(stop));

    const since = new Date();
    const r = await vmsnap(
      "restore",
      "dh-busy",
      "dh-busy-snap",
      "--confirm",
      "dh-busy-snap",
      "-o",
      "json",
    );
    const error = conflictOf(r);
    assert.match(error.message, /dh-busy-start/);
    assert.doesNotMatch(r.stdout + r.stderr, /permission|forbidden/i);
    // Nothing half done: no operation of vmsnap's was admitted (the webhook refused it), and
    // the VM is as it was.
    const admitted = (await writesIn([ns], since))
      .filter((e) => (e.responseStatus?.code ?? 0) < 300)
      .map(describeWrite);
    assert.ok(
      !admitted.some((w) => w.startsWith("create virtualmachineoperations")),
      admitted.join("\n"),
    );
    const after = (await c.get(Deckhouse.vms, "dh-busy", ns)) as Json;
    assert.equal(after.spec.runPolicy, "Manual");
  });

  it("MCP: the same refusal is a conflict naming the operation, its advice phrased for an agent", async () => {
    // dh-busy-start (above) is still unfinished.
    const since = new Date();
    mcp.answer(accept({ snapshotName: "dh-busy-snap", confirm: true }));
    const m = (await mcp.client.callTool({
      name: "vm_snapshot_restore",
      arguments: { vm: "dh-busy", snapshot: "dh-busy-snap" },
    })) as CallToolResult;
    const e = failed(m, "Conflict")!;
    // Named whether the webhook refused vmsnap's operation or vmsnap saw it unfinished first.
    assert.match(
      e.message,
      /operation dh-busy-start (\(Start\) )?of (this VM|VM dh-busy) has not finished/i,
    );
    assert.doesNotMatch(`${e.message}\n${e.hint ?? ""}`, /permission|forbidden/i);
    assert.match(e.hint ?? "", /wait for (it|VirtualMachineOperation dh-busy-start) to finish/);
    assert.match(e.hint ?? "", /dh-busy-start/);
    // Phrased for an agent: no CLI command, no flag that answers a confirmation.
    assert.doesNotMatch(
      `${e.message}\n${e.hint ?? ""}`,
      /vmsnap (restore|create|describe|delete)\b|--confirm|--yes|--stop\b/,
    );
    const admitted = (await writesIn([ns], since))
      .filter((w) => (w.responseStatus?.code ?? 0) < 300)
      .map(describeWrite);
    assert.ok(
      !admitted.some((w) => w.startsWith("create virtualmachineoperations")),
      admitted.join("\n"),
    );
  });
});
