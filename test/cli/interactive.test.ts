// The CLI's interactive confirmations (SPEC §3.4) through a real pseudo-terminal, as vmsnap-user:
// create/clone yes-no, delete typed name, restore typed name → running-VM choice → final yes.
// Every cancellation or mismatch exits 3 and writes nothing (proved by the audit log).
import { before, after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage, pvcManifest, vmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { isDryRun, type AuditEvent } from "../../src/playground/audit.js";
import { isAccessReview, writesSince } from "../helpers/audit.js";
import { waitFor, type Json, vmDiskFingerprints } from "../helpers/kube.js";
import { startPty } from "../helpers/pty.js";

let c: KubeClient;
let ns: string;

const CREATE_PROMPT = /Proceed\? \[y\/N\]: /;
const typedNamePrompt = (name: string) =>
  new RegExp(`Type the snapshot name \\(${name.replace(/\./g, "\\.")}\\) to confirm: `);
const RUNNING_PROMPT = /The VM is running\. \[s\] stop it and restore, \[c\] cancel: /;
const finalPrompt = (name: string) => new RegExp(`Restore ${name} now\\?[^\\n]*\\[y/N\\]: `);

/** Real writes by vmsnap-user since the instant, in this file's namespace or cluster-scoped (other
 * test files running concurrently write only in their own namespaces). writesSince() recognises
 * only query-string dry runs; a delete's dry run travels in its DeleteOptions body. */
async function realWrites(since: Date): Promise<AuditEvent[]> {
  // Access reviews (cluster-scoped creates that store nothing) come from the test file that runs
  // beside this one as the same identity.
  return (await writesSince(since)).filter(
    (e) =>
      (!e.objectRef?.namespace || e.objectRef.namespace === ns) &&
      !isDryRun(e) &&
      !isAccessReview(e),
  );
}

async function writes(since: Date): Promise<string[]> {
  return (await realWrites(since)).map(
    (e) =>
      `${e.verb} ${e.objectRef?.resource ?? e.requestURI}${e.objectRef?.name ? `/${e.objectRef.name}` : ""}`,
  );
}

async function assertNoWritesHere(since: Date): Promise<void> {
  assert.deepEqual(await writes(since), [], "a cancellation or mismatch must write nothing");
}

async function vm(name: string, runStrategy: "Always" | "Halted", data: string, extra = {}) {
  await c.create(Core.pvcs, pvcManifest({ name: `${name}-disk`, namespace: ns, data }));
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy,
      disks: [{ name: "root", claimName: `${name}-disk` }],
      ...extra,
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

async function snapshot(name: string, vmName: string): Promise<Json> {
  await c.create(KubeVirt.snapshots, {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vmName } },
  });
  const snap = await waitFor(c, KubeVirt.snapshots, name, ns, (s) => s.status?.readyToUse === true);
  // The source lock is released once the snapshot is done.
  await waitFor(c, KubeVirt.vms, vmName, ns, (v) => !v.status?.snapshotInProgress);
  return snap;
}

async function writeData(claim: string, data: string) {
  await c.patch(Core.pvcs, claim, ns, { metadata: { annotations: { [SIM.data]: data } } });
}

/** The data fingerprint of each disk of a VM, by volume name, read through its current claims. */
async function fingerprints(vmName: string): Promise<Record<string, string>> {
  return vmDiskFingerprints(c, ns, vmName);
}

async function exists(type: typeof KubeVirt.snapshots, name: string): Promise<boolean> {
  return (await c.getIfExists(type, name, ns)) !== undefined;
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-tty");
  await Promise.all([
    vm("crt", "Halted", "crt-v1"),
    (async () => {
      await vm("del", "Halted", "del-v1");
      await snapshot("del-a", "del");
      await snapshot("del-b", "del");
    })(),
    (async () => {
      await vm("rs", "Halted", "rs-v1");
      await snapshot("rs-snap", "rs");
      await writeData("rs-disk", "rs-v2");
      // A configuration change after the snapshot: the restore changes it back.
      await c.patch(KubeVirt.vms, "rs", ns, {
        spec: { template: { spec: { domain: { memory: { guest: "4Gi" } } } } },
      });
    })(),
    (async () => {
      await vm("dur", "Halted", "dur-v1");
      await snapshot("dur-snap", "dur");
    })(),
    (async () => {
      await vm("rr", "Always", "rr-v1", { annotations: { [SIM.guestAgent]: "true" } });
      await snapshot("rr-snap", "rr");
      await writeData("rr-disk", "rr-v2");
    })(),
  ]);
});

after(() => c?.close());

describe("interactive create (yes/no)", () => {
  it("answering y creates the snapshot and waits until it is ready", async () => {
    const since = new Date();
    const s = startPty(["-n", ns, "create", "crt", "--name", "crt-yes"]);
    await s.expect(CREATE_PROMPT);
    assert.match(s.output, /kind: VirtualMachineSnapshot/, "the manifest is previewed");
    s.send("y\n");
    const { code, output } = await s.done(60_000);
    assert.equal(code, 0, output);
    const snap = (await c.get(KubeVirt.snapshots, "crt-yes", ns)) as Json;
    assert.equal(
      snap.status?.readyToUse,
      true,
      "the CLI returned only once the snapshot was ready",
    );
    assert.equal(snap.status?.phase, "Succeeded");
    assert.deepEqual(await writes(since), ["create virtualmachinesnapshots/crt-yes"]);
  });

  it("answering n cancels: exit 3, nothing written", async () => {
    const since = new Date();
    const s = startPty(["-n", ns, "create", "crt", "--name", "crt-no"]);
    await s.expect(CREATE_PROMPT);
    s.send("n\n");
    const { code, output } = await s.done();
    assert.equal(code, 3, output);
    assert.match(output, /cancel/i);
    assert.equal(await exists(KubeVirt.snapshots, "crt-no"), false);
    await assertNoWritesHere(since);
  });
});

describe("interactive delete (typed name)", () => {
  it("typing the exact name deletes the snapshot", async () => {
    const since = new Date();
    const s = startPty(["-n", ns, "delete", "del-a"]);
    await s.expect(typedNamePrompt("del-a"));
    s.send("del-a\n");
    const { code, output } = await s.done(60_000);
    assert.equal(code, 0, output);
    assert.equal(await exists(KubeVirt.snapshots, "del-a"), false);
    assert.deepEqual(await writes(since), ["delete virtualmachinesnapshots/del-a"]);
  });

  it("typing the name in the wrong case is a mismatch: exit 3, the snapshot stays", async () => {
    const since = new Date();
    const s = startPty(["-n", ns, "delete", "del-b"]);
    await s.expect(typedNamePrompt("del-b"));
    s.send("DEL-B\n");
    const { code, output } = await s.done();
    assert.equal(code, 3, output);
    assert.match(output, /does not match/);
    assert.equal(await exists(KubeVirt.snapshots, "del-b"), true);
    await assertNoWritesHere(since);
  });
});

describe("interactive restore of a stopped VM", () => {
  it("previews the manifest and the configuration that changes back; n at the final question cancels", async () => {
    const since = new Date();
    const s = startPty(["-n", ns, "restore", "rs", "rs-snap"]);
    await s.expect(typedNamePrompt("rs-snap"));
    const shown = s.output;
    const prompt = shown.search(typedNamePrompt("rs-snap"));
    const manifestAt = shown.indexOf("kind: VirtualMachineRestore");
    assert.ok(
      manifestAt >= 0 && manifestAt < prompt,
      `no restore manifest before the prompt:\n${shown}`,
    );
    assert.match(shown, /virtualMachineSnapshotName: rs-snap/);
    assert.match(shown, /changes back/);
    assert.match(shown, /spec\.template\.spec\.domain\.memory\.guest: 4Gi → 2Gi/);
    assert.match(shown, /rs-pre-restore-\d{8}-\d{6}/, "the safety snapshot is announced");
    s.send("rs-snap\n");
    await s.expect(finalPrompt("rs-snap"));
    s.send("n\n");
    const { code, output } = await s.done();
    assert.equal(code, 3, output);
    assert.deepEqual(await fingerprints("rs"), { root: "rs-v2" }, "nothing was restored");
    await assertNoWritesHere(since);
  });

  it("typing the name and answering y restores exactly the snapshot's data", async () => {
    const since = new Date();
    const s = startPty(["-n", ns, "restore", "rs", "rs-snap"]);
    await s.expect(typedNamePrompt("rs-snap"));
    s.send("rs-snap\n");
    await s.expect(finalPrompt("rs-snap"));
    s.send("y\n");
    const { code, output } = await s.done(90_000);
    assert.equal(code, 0, output);
    assert.deepEqual(await fingerprints("rs"), { root: "rs-v1" });
    const v = (await c.get(KubeVirt.vms, "rs", ns)) as Json;
    assert.equal(v.spec.template.spec.domain.memory.guest, "2Gi", "configuration changed back");
    assert.equal(v.spec.runStrategy, "Halted", "a stopped VM stays stopped");
    const w = await writes(since);
    assert.equal(w.length, 2, w.join("\n"));
    assert.match(w[0]!, /^create virtualmachinesnapshots\/rs-pre-restore-\d{8}-\d{6}$/);
    assert.match(w[1]!, /^create virtualmachinerestores\/rs-restore-\d{8}-\d{6}$/);
  });
});

describe("the restore's duration (issue 13)", () => {
  it("counts the restore, not the time the human spent at the prompts", async () => {
    const s = startPty(["-n", ns, "-o", "json", "restore", "dur", "dur-snap"]);
    await s.expect(typedNamePrompt("dur-snap"));
    s.send("dur-snap\n");
    await s.expect(finalPrompt("dur-snap"));
    // The human takes a moment before the final yes.
    await new Promise((r) => setTimeout(r, 2500));
    const yesAt = Date.now();
    s.send("y\n");
    const { code, output } = await s.done(90_000);
    const sinceYes = Date.now() - yesAt;
    assert.equal(code, 0, output);
    const m = /"durationMs": (\d+)/.exec(output);
    assert.ok(m, output);
    // Everything the restore did happened after the final yes: its duration cannot be longer than
    // the time from that yes to the process's exit (it was the whole call, prompts included).
    assert.ok(
      Number(m[1]) <= sinceYes,
      `durationMs ${m[1]} counts time before the final yes (only ${sinceYes} ms since it)`,
    );
  });
});

describe("interactive restore of a running VM", () => {
  it("choosing c cancels: exit 3, nothing written, the VM keeps running", async () => {
    const vmi = await c.get(KubeVirt.vmis, "rr", ns);
    const since = new Date();
    const s = startPty(["-n", ns, "restore", "rr", "rr-snap"]);
    await s.expect(typedNamePrompt("rr-snap"));
    assert.match(s.output, /The VM is running: it must be stopped/);
    s.send("rr-snap\n");
    await s.expect(RUNNING_PROMPT);
    s.send("c\n");
    const { code, output } = await s.done();
    assert.equal(code, 3, output);
    await assertNoWritesHere(since);
    const v = (await c.get(KubeVirt.vms, "rr", ns)) as Json;
    assert.equal(v.status?.printableStatus, "Running");
    assert.equal((await c.get(KubeVirt.vmis, "rr", ns)).metadata.uid, vmi.metadata.uid);
    assert.deepEqual(await fingerprints("rr"), { root: "rr-v2" });
  });

  it("choosing s stops the VM, restores, and starts it again", async () => {
    const vmiBefore = await c.get(KubeVirt.vmis, "rr", ns);
    const since = new Date();
    const s = startPty(["-n", ns, "restore", "rr", "rr-snap"]);
    await s.expect(typedNamePrompt("rr-snap"));
    s.send("rr-snap\n");
    await s.expect(RUNNING_PROMPT);
    s.send("s\n");
    await s.expect(finalPrompt("rr-snap"));
    s.send("y\n");
    const { code, output } = await s.done(90_000);
    assert.equal(code, 0, output);

    // Stop, safety snapshot, restore, start again — in that order.
    const events = await realWrites(since);
    assert.deepEqual(
      events.map((e) => `${e.verb} ${e.objectRef?.resource}`),
      [
        "patch virtualmachines",
        "create virtualmachinesnapshots",
        "create virtualmachinerestores",
        "patch virtualmachines",
      ],
    );
    const runStrategies = events
      .filter((e) => e.objectRef?.resource === "virtualmachines")
      .map((e) => (e.requestObject as Json | undefined)?.spec?.runStrategy);
    assert.deepEqual(runStrategies, ["Halted", "Always"]);

    const v = await waitFor(
      c,
      KubeVirt.vms,
      "rr",
      ns,
      (x) => x.status?.printableStatus === "Running",
      30_000,
    );
    assert.equal(v.spec.runStrategy, "Always");
    const vmiAfter = await c.get(KubeVirt.vmis, "rr", ns);
    assert.notEqual(
      vmiAfter.metadata.uid,
      vmiBefore.metadata.uid,
      "the VM was stopped and restarted",
    );
    assert.deepEqual(await fingerprints("rr"), { root: "rr-v1" });
  });
});
