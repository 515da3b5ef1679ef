// Ctrl-C and SIGTERM at every step of an interactive restore, create --stop and create's wait
// (issue 13, item 1), through a real pseudo-terminal: Ctrl-C is typed into the terminal (the line
// discipline sends SIGINT), SIGTERM is sent to the CLI's process. A fault proxy holds the request
// of the step so that the interrupt lands while that step is under way. Each time: exit 3, the
// state report, and a VM that vmsnap stopped is running again — or the report says exactly why not.
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
import { FaultProxy, type FaultRule } from "../helpers/fault-proxy.js";
import { waitFor, type Json } from "../helpers/kube.js";
import { startPty, type PtyResult, type PtySession } from "../helpers/pty.js";
import { makeSnapshot, makeVm, objectsOf, rootData, writeRoot } from "../faults/fixtures.js";

let c: KubeClient;
let ns: string;
let proxy: FaultProxy;
let dir: string;
let kubeconfig: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-interrupt");
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-interrupts-"));
  proxy = await FaultProxy.start(testEnv());
  kubeconfig = await proxy.kubeconfig(VMSNAP_USER.name, dir, ns);
});

after(async () => {
  await proxy?.close();
  c?.close();
  await rm(dir, { recursive: true, force: true });
});

const CTRL_C = "\x03";
const HOLD_MS = 8_000;
const hold = (rule: Omit<FaultRule, "fault">, ms = HOLD_MS): FaultRule => ({
  ...rule,
  fault: { kind: "delay", ms },
});
const vmPath = (vm: string) => new RegExp(`/virtualmachines/${vm}$`);
const VMIS = /\/virtualmachineinstances$/;
const RESTORES = /\/virtualmachinerestores$/;

/** A running VM with a ready snapshot `<vm>-snap` (data v1) and data v2 on its disk now. */
async function runningVmWithSnapshot(vm: string, annotations: Record<string, string> = {}) {
  await makeVm(c, ns, vm, { run: true, annotations });
  await makeSnapshot(c, ns, `${vm}-snap`, vm);
  await writeRoot(c, ns, vm, `${vm}-v2`);
}

/** Makes every later snapshot of the VM slow (the simulator's delay), so its wait can be interrupted. */
// Long enough to interrupt while the safety snapshot is taken; short enough that its lock on the
// VM (KubeVirt refuses a start until the snapshot is done) is gone within vmsnap's wait to start
// the VM again.
async function slowSnapshots(vm: string) {
  await c.patch(KubeVirt.vms, vm, ns, {
    metadata: { annotations: { [SIM.snapshotDelay]: "20s" } },
  });
}

/** The restore of a running VM, answered on the terminal: name, stop, yes. */
async function startRestore(vm: string): Promise<PtySession> {
  const s = startPty(["-n", ns, "restore", vm, `${vm}-snap`], { kubeconfig });
  await s.expect(/Type the snapshot name \(\S+\) to confirm: /);
  s.send(`${vm}-snap\n`);
  await s.expect(/\[s\] stop it and restore, \[c\] cancel: /);
  s.send("s\n");
  await s.expect(/now\?[^\n]*\[y\/N\]: /);
  s.send("y\n");
  return s;
}

/** Real writes vmsnap sent through the proxy since the index. */
function writesSince(from: number): string[] {
  return proxy.requests
    .slice(from)
    .filter((r) => r.method !== "GET" && !r.dryRun)
    .map((r) => `${r.method} ${r.path.split("/").slice(-2).join("/")}`);
}

/** Waits until the proxy holds a request (the step is under way). */
async function held(from: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!proxy.requests.slice(from).some((r) => r.fault === "delay")) {
    if (Date.now() > deadline) throw new Error("no request was held");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function interruptedExit(r: PtyResult, signal: string, ...patterns: RegExp[]): void {
  assert.equal(r.code, 3, r.output);
  assert.match(r.output, new RegExp(`interrupted \\(${signal}\\)`), r.output);
  for (const p of patterns) assert.match(r.output, p, r.output);
}

async function runningAgain(vm: string): Promise<void> {
  const v = await waitFor(
    c,
    KubeVirt.vms,
    vm,
    ns,
    (x) => x.status?.printableStatus === "Running",
    30_000,
  );
  assert.equal(v.spec.runStrategy, "Always");
}

describe("interrupting an interactive restore of a running VM", () => {
  it("Ctrl-C during the preflight: exit 3, nothing written", async () => {
    const vm = "i-pre";
    await runningVmWithSnapshot(vm);
    proxy.reset();
    proxy.inject(hold({ method: "GET", path: vmPath(vm), watch: false }));
    const from = proxy.requests.length;
    const s = startPty(["-n", ns, "restore", vm, `${vm}-snap`], { kubeconfig });
    await held(from);
    s.send(CTRL_C);
    const r = await s.done();
    proxy.reset();
    interruptedExit(r, "SIGINT", /nothing was changed/);
    assert.doesNotMatch(r.output, /Type the snapshot name/);
    assert.deepEqual(writesSince(from), []);
    assert.equal(await rootData(c, ns, vm), `${vm}-v2`);
  });

  it("Ctrl-C while the VM is stopping: the VM is started again, nothing else was written", async () => {
    const vm = "i-stop";
    await runningVmWithSnapshot(vm);
    proxy.reset();
    proxy.inject(
      hold({
        method: "GET",
        path: VMIS,
        armedBy: { method: "PATCH", path: vmPath(vm), dryRun: false },
      }),
    );
    const from = proxy.requests.length;
    const s = await startRestore(vm);
    await s.expect(/waiting for VM i-stop to stop/);
    s.send(CTRL_C);
    const r = await s.done();
    proxy.reset();
    interruptedExit(
      r,
      "SIGINT",
      /VM i-stop: started again by vmsnap, as before the restore/,
      /safety snapshot: not taken/,
      /restore: NOT created — the VM's disks are unchanged/,
      /next: re-run `vmsnap restore -n \S+ i-stop i-stop-snap --stop`/,
    );
    assert.deepEqual(writesSince(from), [
      `PATCH virtualmachines/${vm}`,
      `PATCH virtualmachines/${vm}`,
    ]);
    await runningAgain(vm);
    assert.equal(await rootData(c, ns, vm), `${vm}-v2`);
  });

  it("Ctrl-C while the safety snapshot is being taken: the VM is started again, the restore not created", async () => {
    const vm = "i-safety";
    await runningVmWithSnapshot(vm);
    await slowSnapshots(vm);
    proxy.reset();
    const from = proxy.requests.length;
    const s = await startRestore(vm);
    await s.expect(/taking safety snapshot i-safety-pre-restore-\S+/);
    await s.expect(/snapshot i-safety-pre-restore-\S+: /);
    s.send(CTRL_C);
    const r = await s.done();
    interruptedExit(
      r,
      "SIGINT",
      /VM i-safety: started again by vmsnap/,
      /safety snapshot i-safety-pre-restore-\S+: created, not confirmed ready/,
      /restore: NOT created/,
    );
    // The stop, the safety snapshot, then the start: sent again if KubeVirt's admission refused
    // it while the safety snapshot still held the VM's lock. Nothing else.
    const w = writesSince(from);
    assert.ok(w.length >= 3, w.join("\n"));
    assert.match(w[0]!, /^PATCH .*virtualmachines\/i-safety$/, w.join("\n"));
    assert.match(w[1]!, /^POST .*virtualmachinesnapshots$/);
    for (const start of w.slice(2)) assert.match(start, /^PATCH .*virtualmachines\/i-safety$/);
    assert.equal(
      (await objectsOf(c, ns, KubeVirt.restores, vm)).length,
      0,
      "no restore was created",
    );
    await runningAgain(vm);
    assert.equal(await rootData(c, ns, vm), `${vm}-v2`);
  });

  it("SIGTERM while the safety snapshot is being taken: the same report and restart", async () => {
    const vm = "i-term";
    await runningVmWithSnapshot(vm);
    await slowSnapshots(vm);
    proxy.reset();
    const s = await startRestore(vm);
    await s.expect(/snapshot i-term-pre-restore-\S+: /);
    s.signal("SIGTERM");
    const r = await s.done();
    interruptedExit(r, "SIGTERM", /VM i-term: started again by vmsnap/, /restore: NOT created/);
    await runningAgain(vm);
  });

  it("SIGTERM during the restore: the VM stays stopped and the report says why and what to do", async () => {
    const vm = "i-restore";
    await runningVmWithSnapshot(vm);
    proxy.reset();
    proxy.inject(
      hold({
        method: "GET",
        path: RESTORES,
        armedBy: { method: "POST", path: RESTORES, dryRun: false },
      }),
    );
    const s = await startRestore(vm);
    await s.expect(/restoring i-restore from i-restore-snap/);
    s.signal("SIGTERM");
    const r = await s.done();
    proxy.reset();
    interruptedExit(
      r,
      "SIGTERM",
      /the VM was not started again: restore i-restore-restore-\S+ may still be in progress, and starting the VM would get in its way/,
      /VM i-restore: STOPPED by vmsnap \(it was running\)/,
      /restore i-restore-restore-\S+: created, not confirmed complete/,
      /check the restore \(`kubectl -n \S+ get virtualmachinerestores i-restore-restore-\S+`\): once it is complete, start the VM again with `virtctl start i-restore -n \S+`/,
    );
    // The restore goes on in the cluster; the VM is left stopped, as the report says. (The VM's
    // restoreInProgress may not be set yet when it reads Stopped: wait for the restore itself.)
    const restore = /restore (i-restore-restore-\S+): created/.exec(r.output)?.[1];
    assert.ok(restore, r.output);
    await waitFor(c, KubeVirt.restores, restore, ns, (x) => x.status?.complete === true, 60_000);
    const v = await waitFor(
      c,
      KubeVirt.vms,
      vm,
      ns,
      (x) => x.status?.printableStatus === "Stopped" && !x.status?.restoreInProgress,
      30_000,
    );
    assert.equal(v.spec.runStrategy, "Halted");
    assert.equal(await rootData(c, ns, vm), `${vm}-v1`, "the restore completed in the cluster");
  });

  it("Ctrl-C while the VM is being started again: the start finishes, the report says it is all done", async () => {
    const vm = "i-start";
    await runningVmWithSnapshot(vm);
    proxy.reset();
    proxy.inject(hold({ method: "PATCH", path: vmPath(vm), dryRun: false, skip: 1 }, 4_000));
    const s = await startRestore(vm);
    await s.expect(/starting VM i-start again/);
    s.send(CTRL_C);
    const r = await s.done();
    proxy.reset();
    interruptedExit(
      r,
      "SIGINT",
      /the restore had completed/,
      /VM i-start: started again by vmsnap/,
      /restore i-start-restore-\S+: complete/,
      /next: nothing/,
    );
    await runningAgain(vm);
    assert.equal(await rootData(c, ns, vm), `${vm}-v1`);
  });

  it("a second Ctrl-C during the cleanup: the report says the VM may still be stopped and how to start it", async () => {
    const vm = "i-twice";
    await runningVmWithSnapshot(vm);
    proxy.reset();
    proxy.inject(
      hold({
        method: "GET",
        path: VMIS,
        armedBy: { method: "PATCH", path: vmPath(vm), dryRun: false },
      }),
    );
    proxy.inject(hold({ method: "PATCH", path: vmPath(vm), dryRun: false, skip: 1 }));
    const s = await startRestore(vm);
    await s.expect(/waiting for VM i-twice to stop/);
    s.send(CTRL_C);
    await s.expect(/starting VM i-twice again \(vmsnap stopped it\)/);
    s.send(CTRL_C);
    const r = await s.done();
    proxy.reset();
    interruptedExit(
      r,
      "SIGINT",
      /not waiting for the cleanup/,
      /VM i-twice: STOPPED by vmsnap \(it was running\); starting it again was interrupted — it may be starting or still stopped/,
      /restore: NOT created/,
      /then start the VM again with `virtctl start i-twice -n \S+`/,
    );
  });
});

describe("interrupting create", () => {
  it("Ctrl-C during create --stop while the VM is stopping: started again, no snapshot", async () => {
    const vm = "c-stop";
    await makeVm(c, ns, vm, { run: true });
    proxy.reset();
    proxy.inject(
      hold({
        method: "GET",
        path: VMIS,
        armedBy: { method: "PATCH", path: vmPath(vm), dryRun: false },
      }),
    );
    const from = proxy.requests.length;
    const s = startPty(["-n", ns, "create", vm, "--name", "c-stop-a", "--stop"], { kubeconfig });
    await s.expect(/Proceed\? \[y\/N\]: /);
    s.send("y\n");
    await s.expect(/waiting for VM c-stop to stop/);
    s.send(CTRL_C);
    const r = await s.done();
    proxy.reset();
    interruptedExit(
      r,
      "SIGINT",
      /snapshot c-stop-a: NOT created/,
      /VM c-stop: started again by vmsnap/,
    );
    assert.deepEqual(writesSince(from), [
      `PATCH virtualmachines/${vm}`,
      `PATCH virtualmachines/${vm}`,
    ]);
    await runningAgain(vm);
  });

  it("Ctrl-C during create --stop while the snapshot is being taken: started again; the snapshot exists and how to follow it", async () => {
    const vm = "c-wait";
    await makeVm(c, ns, vm, { run: true, annotations: { [SIM.snapshotDelay]: "2m" } });
    proxy.reset();
    const s = startPty(["-n", ns, "create", vm, "--name", "c-wait-a", "--stop"], { kubeconfig });
    await s.expect(/Proceed\? \[y\/N\]: /);
    s.send("y\n");
    await s.expect(/snapshot c-wait-a: /);
    s.send(CTRL_C);
    const r = await s.done();
    interruptedExit(
      r,
      "SIGINT",
      /snapshot c-wait-a: created; it is being taken in the cluster \(vmsnap stopped waiting, not the snapshot\)/,
      /VM c-wait: started again by vmsnap/,
      /follow the snapshot with `vmsnap describe -n \S+ c-wait-a`/,
    );
    assert.ok(await c.getIfExists(KubeVirt.snapshots, "c-wait-a", ns), "the snapshot exists");
    await runningAgain(vm);
  });

  it("SIGTERM while create waits: the snapshot exists and how to follow it", async () => {
    const vm = "c-term";
    await makeVm(c, ns, vm, { annotations: { [SIM.snapshotDelay]: "2m" } });
    proxy.reset();
    const s = startPty(["-n", ns, "create", vm, "--name", "c-term-a"], { kubeconfig });
    await s.expect(/Proceed\? \[y\/N\]: /);
    s.send("y\n");
    await s.expect(/snapshot c-term-a: /);
    s.signal("SIGTERM");
    const r = await s.done();
    interruptedExit(
      r,
      "SIGTERM",
      /snapshot c-term-a: created; it is being taken in the cluster/,
      /follow the snapshot with `vmsnap describe -n \S+ c-term-a`/,
    );
    assert.doesNotMatch(r.output, /VM c-term:/, "vmsnap did not touch the VM's run state");
    const v = (await c.get(KubeVirt.vms, vm, ns)) as Json;
    assert.equal(v.spec.runStrategy, "Halted");
  });
});
