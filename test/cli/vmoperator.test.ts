// vmsnap on VMware vSphere VM Operator, end to end through the built CLI, as vmsnap-user, against
// the real API server (the project's CRDs or the upstream ones, VMSNAP_CRDS_DIR) and the simulated
// VM Operator: inventory, preflight findings with their fixes, create with the VM Operator flags,
// the snapshot tree, revert as `restore` (refusals, exact data back, the VM powered on again),
// delete with children, clone refused; and the audit log shows only SPEC §2 writes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, Csi, apiVersionOf } from "../../src/kube/resources.js";
import { WRITE_VERBS, isDryRun, type AuditEvent } from "../../src/playground/audit.js";
import { ensureSimStorage, pvcManifest, vmoVmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import {
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
import { isAccessReview, requestsSince } from "../helpers/audit.js";
import { volumeSnapshotManifest, waitFor, type Json } from "../helpers/kube.js";

const GROUP = "vmoperator.vmware.com";
const VM_NAME_LABEL = "snapshot.vmoperator.vmware.com/vm-name";
const READY = "VirtualMachineSnapshotReady";

let c: KubeClient;
let ns: string;
let fileStart: Date;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-vmop");
  fileStart = new Date();
});

after(() => c?.close());

/** vmsnap -n <ns> …, as vmsnap-user. */
function vmsnap(...args: string[]): Promise<CliResult> {
  return runCli(["-n", ns, ...args]);
}

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

function expectExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, show(r));
}

/** -o json: the Error object on stdout, with its code and exit code. */
function expectJsonError(r: CliResult, code: string, exitCode: number, message: RegExp) {
  expectExit(r, exitCode);
  const e = ErrorObject.parse(json(r));
  assert.equal(e.code, code, show(r));
  assert.equal(e.exitCode, exitCode);
  assert.match(e.message, message, show(r));
  return e;
}

// ---- audit (files run two at a time as the same user: only this file's namespace counts) -----

/** Every write request (dry runs included) by vmsnap-user since the instant, here or cluster-wide. */
async function allWritesHere(since: Date): Promise<AuditEvent[]> {
  return (await requestsSince(since, VMSNAP_USER.name)).filter(
    (e) =>
      WRITE_VERBS.has(e.verb) &&
      (e.objectRef?.namespace === undefined || e.objectRef.namespace === ns) &&
      !isAccessReview(e),
  );
}

/** The real (non-dry-run) writes by vmsnap-user since the instant, here or cluster-wide. */
async function writesHere(since: Date): Promise<AuditEvent[]> {
  return (await allWritesHere(since)).filter((e) => !isDryRun(e));
}

const describeWrite = (e: AuditEvent) =>
  `${e.verb} ${e.objectRef?.resource ?? "?"}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""} ${e.objectRef?.name ?? ""}`.trim();

async function assertNoWrites(since: Date): Promise<void> {
  assert.deepEqual((await writesHere(since)).map(describeWrite), [], "a refusal writes nothing");
}

// ---- fixtures (as admin) ----------------------------------------------------------------------

interface VmoSpec {
  power?: "PoweredOn" | "PoweredOff";
  tools?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  sharedScsi?: boolean;
  /** Give the VM a PVC `<vm>-data` (data `<vm>-data-v1`); default true. */
  disk?: boolean;
}

/** A VM Operator VM (boot data `<vm>-boot-v1`), observed in its power state. */
async function makeVm(name: string, o: VmoSpec = {}): Promise<Json> {
  const disk = o.disk ?? true;
  if (disk)
    await c.create(
      Core.pvcs,
      pvcManifest({ name: `${name}-data`, namespace: ns, data: `${name}-data-v1` }),
    );
  const power = o.power ?? "PoweredOn";
  await c.create(
    VmOp.vms,
    vmoVmManifest({
      name,
      namespace: ns,
      powerState: power,
      claims: disk ? [{ name: "data", claimName: `${name}-data` }] : [],
      labels: o.labels,
      sharedScsi: o.sharedScsi,
      annotations: {
        [SIM.data]: `${name}-boot-v1`,
        ...(o.tools ? { [SIM.guestAgent]: "true" } : {}),
        ...(o.annotations ?? {}),
      },
    }),
  );
  return waitFor(
    c,
    VmOp.vms,
    name,
    ns,
    (v) =>
      v.status?.powerState === power &&
      Boolean(v.status?.uniqueID) &&
      Boolean(v.status?.guest) === Boolean(o.tools && power === "PoweredOn"),
  );
}

/** The boot disk's fingerprint and each PVC's, by volume name. */
async function fingerprints(vmName: string): Promise<Record<string, string>> {
  const vm = (await c.get(VmOp.vms, vmName, ns)) as Json;
  const out: Record<string, string> = { boot: vm.metadata.annotations?.[SIM.data] ?? "" };
  for (const v of (vm.spec.volumes ?? []) as Json[]) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const pvc = await c.get(Core.pvcs, claim, ns);
    out[v.name] = pvc.metadata.annotations?.[SIM.data] ?? "";
  }
  return out;
}

/** "Writes" new data to the boot disk and every PVC of the VM. */
async function writeAll(vmName: string, suffix: string): Promise<Record<string, string>> {
  const vm = (await c.get(VmOp.vms, vmName, ns)) as Json;
  const out: Record<string, string> = { boot: `${vmName}-boot-${suffix}` };
  await c.patch(VmOp.vms, vmName, ns, { metadata: { annotations: { [SIM.data]: out.boot } } });
  for (const v of (vm.spec.volumes ?? []) as Json[]) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const data = `${vmName}-${v.name}-${suffix}`;
    await c.patch(Core.pvcs, claim, ns, { metadata: { annotations: { [SIM.data]: data } } });
    out[v.name] = data;
  }
  return out;
}

/** Names of the VM's VirtualMachineSnapshots, sorted. */
async function snapshotsOf(vm: string): Promise<string[]> {
  const list = await c.list(VmOp.snapshots, ns);
  return list.items
    .filter((s) => (s.spec as Json | undefined)?.vmName === vm)
    .map((s) => s.metadata.name)
    .sort();
}

/** A snapshot through the CLI (--yes), ready. */
async function cliSnapshot(vm: string, name: string, ...extra: string[]): Promise<Snapshot> {
  const r = await vmsnap("create", vm, "--name", name, "--yes", "-o", "json", ...extra);
  expectExit(r, 0);
  const snap = Snapshot.parse(json(r));
  assert.equal(snap.readyToUse, true, show(r));
  assert.equal(snap.platform, "vmoperator");
  return snap;
}

async function describeJson(name: string): Promise<Snapshot> {
  const r = await vmsnap("describe", name, "-o", "json");
  expectExit(r, 0);
  return Snapshot.parse(json(r));
}

// ---------------------------------------------------------------------------------------------

describe("VM Operator: vms", () => {
  before(async () => {
    await Promise.all([
      makeVm("inv-on", { tools: true }),
      makeVm("inv-notools"),
      makeVm("inv-off", { power: "PoweredOff", tools: true }),
      makeVm("inv-vks", { labels: { "cluster.x-k8s.io/cluster-name": "tkc-1" } }),
      makeVm("inv-scsi", { sharedScsi: true }),
    ]);
  });

  it("lists power state, VMware Tools as the agent, and snapshottable false for VKS nodes and shared SCSI", async () => {
    const r = await vmsnap("--platform", "vmoperator", "vms", "-o", "json");
    expectExit(r, 0);
    const list = VirtualMachineList.parse(json(r));
    const by = new Map(list.items.map((i) => [i.name, i]));
    for (const n of ["inv-on", "inv-notools", "inv-off", "inv-vks", "inv-scsi"])
      assert.ok(by.has(n), `${n} listed:\n${show(r)}`);
    assert.ok(list.items.every((i) => i.platform === "vmoperator" && i.namespace === ns));

    const on = by.get("inv-on")!;
    assert.equal(on.status, "PoweredOn");
    assert.equal(on.running, true);
    assert.equal(on.guestAgent, true);
    assert.equal(on.snapshottable, true);
    assert.deepEqual(on.reasons, []);
    assert.equal(on.snapshotCount, 0);
    assert.equal(on.lastSnapshot, null);

    assert.equal(by.get("inv-notools")!.guestAgent, false);
    assert.equal(by.get("inv-notools")!.status, "PoweredOn");

    const off = by.get("inv-off")!;
    assert.equal(off.status, "PoweredOff");
    assert.equal(off.running, false);
    assert.equal(off.guestAgent, false, "a powered-off VM runs no VMware Tools");

    const vks = by.get("inv-vks")!;
    assert.equal(vks.snapshottable, false);
    assert.ok(
      vks.reasons.some((x) => /VKS|TKG/.test(x)),
      vks.reasons.join("; "),
    );
    const scsi = by.get("inv-scsi")!;
    assert.equal(scsi.snapshottable, false);
    assert.ok(
      scsi.reasons.some((x) => /SCSI/.test(x) && /Physical/.test(x)),
      scsi.reasons.join("; "),
    );

    // The table (auto platform): STATUS and AGENT columns.
    const table = await vmsnap("vms", "-o", "wide");
    expectExit(table, 0);
    assert.match(table.stdout, /^NAME\s+STATUS\s+AGENT\s+SNAPSHOTS/m, show(table));
    assert.match(table.stdout, /^inv-on\s+PoweredOn\s+yes\s+0\s+<none>\s+yes\s+vmoperator/m);
    assert.match(table.stdout, /^inv-notools\s+PoweredOn\s+no\s/m);
    assert.match(table.stdout, /^inv-off\s+PoweredOff\s+no\s/m);
    assert.match(table.stdout, /^inv-vks\s+PoweredOn\s+no\s+0\s+<none>\s+no\s+vmoperator/m);
    assert.match(table.stdout, /^inv-scsi\s+PoweredOn\s+no\s+0\s+<none>\s+no\s+vmoperator/m);
  });
});

describe("VM Operator: check (each finding with its fix)", () => {
  it("a running VM with VMware Tools: snapshottable online, application-consistent with quiesce", async () => {
    await makeVm("chk-ok", { tools: true });
    const r = await vmsnap("check", "chk-ok", "-o", "json");
    expectExit(r, 0);
    const pre = Preflight.parse(json(r));
    assert.equal(pre.platform, "vmoperator");
    assert.equal(pre.snapshottable, true);
    assert.equal(pre.mode, "online");
    assert.match(pre.expectedConsistency, /^application-consistent/);
    assert.deepEqual(pre.problems, []);
    assert.deepEqual(pre.warnings, []);
    assert.equal(pre.existingSnapshots, 0);
    assert.deepEqual(
      pre.volumes.map((v) => `${v.name}:${v.claimName ?? "-"}:${v.included}`),
      ["boot disk:-:true", "data:chk-ok-data:true"],
    );
  });

  it("a VKS/TKG cluster node: blocked (exit 1), the fix says to back the cluster up with its own tools", async () => {
    await makeVm("chk-vks", { labels: { "capv.vmware.com/cluster.role": "node" } });
    const r = await vmsnap("check", "chk-vks", "-o", "json");
    expectExit(r, 1);
    const pre = Preflight.parse(json(r));
    assert.equal(pre.snapshottable, false);
    const p = pre.problems.find((x) => /VKS\/TKG cluster node/.test(x.message));
    assert.ok(p, JSON.stringify(pre.problems));
    assert.match(p.message, /capv\.vmware\.com\/cluster\.role/);
    assert.match(p.fix ?? "", /Velero|workload cluster/);

    const text = await vmsnap("--platform", "vmoperator", "check", "chk-vks");
    expectExit(text, 1);
    assert.match(text.stdout, /BLOCKED/);
    assert.match(text.stdout, /fix: .*workload cluster/);

    // create is refused by the same preflight, before anything is written.
    const since = new Date();
    const cr = await vmsnap("create", "chk-vks", "--name", "chk-vks-1", "--yes", "-o", "json");
    expectJsonError(cr, "PreflightBlocked", 1, /VKS\/TKG/);
    await assertNoWrites(since);
    assert.deepEqual(await snapshotsOf("chk-vks"), []);
  });

  it("shared SCSI controllers: blocked (exit 1), the fix says sharingMode None", async () => {
    await makeVm("chk-scsi", { sharedScsi: true });
    const r = await vmsnap("check", "chk-scsi", "-o", "json");
    expectExit(r, 1);
    const pre = Preflight.parse(json(r));
    assert.equal(pre.snapshottable, false);
    const p = pre.problems.find((x) => /shared SCSI/.test(x.message));
    assert.ok(p, JSON.stringify(pre.problems));
    assert.match(p.message, /SCSI controller 1 \(sharingMode Physical\)/);
    assert.match(p.fix ?? "", /sharingMode None/);
  });

  it("no VMware Tools: snapshottable, with a crash-consistent warning and its fix", async () => {
    await makeVm("chk-notools");
    const r = await vmsnap("check", "chk-notools", "-o", "json");
    expectExit(r, 0);
    const pre = Preflight.parse(json(r));
    assert.equal(pre.snapshottable, true);
    assert.equal(pre.expectedConsistency, "crash-consistent");
    const w = pre.warnings.find((x) => /VMware Tools are not running/.test(x.message));
    assert.ok(w, JSON.stringify(pre.warnings));
    assert.match(w.message, /crash-consistent/);
    assert.match(w.fix ?? "", /VMware Tools|power the VM off/);

    const text = await vmsnap("check", "chk-notools");
    expectExit(text, 0);
    assert.match(text.stdout, /Warnings:/);
    assert.match(text.stdout, /fix: /);
  });

  it("a powered-off VM: offline, consistent (VM stopped)", async () => {
    await makeVm("chk-off", { power: "PoweredOff" });
    const r = await vmsnap("check", "chk-off", "-o", "json");
    expectExit(r, 0);
    const pre = Preflight.parse(json(r));
    assert.equal(pre.mode, "offline");
    assert.equal(pre.expectedConsistency, "consistent (VM stopped)");
    assert.deepEqual(pre.problems, []);
  });

  it("the snapshot count: 28 warns (fewer than 32 advised), 32 blocks (exit 1)", async () => {
    // A VM whose vSphere snapshot task never ends: the simulator takes none of these snapshots,
    // and the count is what matters.
    await makeVm("chk-many", { power: "PoweredOff", annotations: { [SIM.fail]: "stuck" } });
    const snap = (i: number) =>
      c.create(VmOp.snapshots, {
        apiVersion: apiVersionOf(VmOp.snapshots),
        kind: "VirtualMachineSnapshot",
        metadata: {
          name: `chk-many-${String(i).padStart(2, "0")}`,
          namespace: ns,
          labels: { [VM_NAME_LABEL]: "chk-many" },
        },
        spec: { vmName: "chk-many" },
      });
    await Promise.all(Array.from({ length: 28 }, (_, i) => snap(i)));
    const warned = await vmsnap("check", "chk-many", "-o", "json");
    expectExit(warned, 0);
    const pre = Preflight.parse(json(warned));
    assert.equal(pre.existingSnapshots, 28);
    assert.equal(pre.snapshottable, true);
    const w = pre.warnings.find((x) => /28 snapshots/.test(x.message));
    assert.ok(w, JSON.stringify(pre.warnings));
    assert.match(w.message, /fewer than 32/);
    assert.match(w.fix ?? "", /delete/);

    await Promise.all([28, 29, 30, 31].map((i) => snap(i)));
    const blocked = await vmsnap("check", "chk-many", "-o", "json");
    expectExit(blocked, 1);
    const full = Preflight.parse(json(blocked));
    assert.equal(full.existingSnapshots, 32);
    assert.equal(full.snapshottable, false);
    const p = full.problems.find((x) => /32 snapshots/.test(x.message));
    assert.ok(p, JSON.stringify(full.problems));
    assert.match(p.message, /limit is 32/);
    assert.match(p.fix ?? "", /vmsnap delete/);
  });
});

describe("VM Operator: create, list --tree, describe", () => {
  it("create --memory --description --quiesce-timeout: the fields reach the object; consistent (memory included)", async () => {
    await makeVm("web", { tools: true });
    const dry = await vmsnap(
      "create",
      "web",
      "--name",
      "web-dry",
      "--memory",
      "--quiesce-timeout",
      "10m",
      "--description",
      "before the upgrade",
      "--dry-run",
    );
    expectExit(dry, 0);
    assert.match(dry.stdout, /kind: VirtualMachineSnapshot/);
    assert.match(dry.stdout, /memory: true/);
    assert.match(dry.stdout, /timeout: 10m/);
    assert.deepEqual(await snapshotsOf("web"), []);

    const since = new Date();
    const r = await vmsnap(
      "--platform",
      "vmoperator",
      "create",
      "web",
      "--name",
      "web-1",
      "--memory",
      "--description",
      "before the upgrade",
      "--quiesce-timeout",
      "10m",
      "--yes",
      "-o",
      "json",
    );
    expectExit(r, 0);
    const snap = Snapshot.parse(json(r));
    assert.equal(snap.name, "web-1");
    assert.equal(snap.vm, "web");
    assert.equal(snap.platform, "vmoperator");
    assert.equal(snap.readyToUse, true);
    assert.equal(snap.phase, "Ready");
    assert.equal(snap.consistency, "consistent (memory included)");
    assert.deepEqual([...snap.indications].sort(), ["Memory", "Quiesced"]);
    assert.ok(
      snap.notes.some((n) => /description: before the upgrade/.test(n)),
      snap.notes.join("\n"),
    );
    assert.match(snap.contentName ?? "", /^snapshot-\d+$/);
    assert.deepEqual(snap.tree, { parent: null, children: [], current: true });

    const obj = (await c.get(VmOp.snapshots, "web-1", ns)) as Json;
    assert.equal(obj.spec.vmName, "web");
    assert.equal(obj.spec.memory, true);
    assert.equal(obj.spec.description, "before the upgrade");
    assert.deepEqual(obj.spec.quiesce, { timeout: "10m" });
    assert.equal(obj.metadata.labels?.[VM_NAME_LABEL], "web");
    assert.equal(obj.status.quiesced, true);
    assert.equal(obj.status.powerState, "PoweredOn");

    const writes = await writesHere(since);
    assert.deepEqual(writes.map(describeWrite), ["create virtualmachinesnapshots web-1"]);
    assert.equal(writes[0]!.objectRef?.apiGroup, GROUP);

    // The preview of a revert to a memory snapshot says the VM resumes.
    const rd = await vmsnap("restore", "web", "web-1", "--stop", "--dry-run");
    expectExit(rd, 0);
    assert.match(rd.stdout, /includes memory: the VM resumes/);
  });

  it("create without flags on a VM with VMware Tools keeps the consistency the preview promised", async () => {
    await makeVm("quiet", { tools: true });
    const pre = Preflight.parse(json(await vmsnap("check", "quiet", "-o", "json")));
    const r = await vmsnap("create", "quiet", "--name", "quiet-1", "--yes", "-o", "json");
    expectExit(r, 0);
    const promised = /expected consistency: (.*)$/m.exec(r.stderr)?.[1] ?? pre.expectedConsistency;
    const snap = Snapshot.parse(json(r));
    // Promised "application-consistent (with quiesce)": the snapshot must have been quiesced.
    if (/^application-consistent/.test(promised)) {
      const obj = (await c.get(VmOp.snapshots, "quiet-1", ns)) as Json;
      assert.equal(
        snap.consistency,
        "application-consistent",
        `check and the create preview promised "${promised}", the snapshot is ${snap.consistency} (spec.quiesce ${JSON.stringify(obj.spec.quiesce)})`,
      );
    }
  });

  it("list VM --tree: two snapshots nested, the current one marked; describe -o json has the tree", async () => {
    await makeVm("tree", { power: "PoweredOff" });
    await cliSnapshot("tree", "tree-1");
    await cliSnapshot("tree", "tree-2");

    const r = await vmsnap("list", "tree", "--tree");
    expectExit(r, 0);
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], `VM ${ns}/tree`, show(r));
    assert.match(lines[1] ?? "", /^└─ tree-1 {2}Ready {2}/, show(r));
    assert.doesNotMatch(lines[1] ?? "", /current/);
    assert.match(lines[2] ?? "", /^ {3}└─ tree-2 {2}Ready {2}.*← current$/, show(r));

    const list = await vmsnap("--platform", "vmoperator", "list", "tree", "-o", "json");
    expectExit(list, 0);
    assert.deepEqual(
      SnapshotList.parse(json(list)).items.map((s) => s.name),
      ["tree-1", "tree-2"],
    );

    const one = await describeJson("tree-1");
    assert.deepEqual(one.tree, { parent: null, children: ["tree-2"], current: false });
    const two = await describeJson("tree-2");
    assert.deepEqual(two.tree, { parent: "tree-1", children: [], current: true });
    assert.equal(two.platform, "vmoperator");
  });
});

describe("VM Operator: restore (revert)", () => {
  it("refusals: running without --stop → 7, a wrong --confirm → 3; nothing written", async () => {
    await makeVm("app", { tools: true });
    const s1 = await cliSnapshot("app", "app-1");
    assert.deepEqual(
      s1.indications,
      ["Quiesced"],
      "no memory; quiesced by default because VMware Tools run",
    );
    const v2 = await writeAll("app", "v2");

    let since = new Date();
    const running = await vmsnap("restore", "app", "app-1", "--confirm", "app-1", "-o", "json");
    expectJsonError(running, "Conflict", 7, /running/);
    await assertNoWrites(since);

    since = new Date();
    const wrong = await vmsnap(
      "restore",
      "app",
      "app-1",
      "--stop",
      "--confirm",
      "APP-1",
      "-o",
      "json",
    );
    expectJsonError(wrong, "Cancelled", 3, /does not match/);
    await assertNoWrites(since);
    assert.deepEqual(await fingerprints("app"), v2);
    assert.deepEqual(await snapshotsOf("app"), ["app-1"]);
    const vm = (await c.get(VmOp.vms, "app", ns)) as Json;
    assert.equal(vm.spec.powerState, "PoweredOn");
    assert.equal(vm.spec.currentSnapshotName, undefined);
  });

  it("--dry-run: the revert patch, and that a memory-less snapshot brings the VM back powered off", async () => {
    const since = new Date();
    const r = await vmsnap("restore", "app", "app-1", "--stop", "--dry-run");
    expectExit(r, 0);
    assert.match(r.stdout, /# then: patch VirtualMachine .*\/app/);
    assert.match(r.stdout, /currentSnapshotName: app-1/);
    assert.match(r.stdout, /no memory: VM Operator leaves the VM powered off after the revert/);
    assert.match(r.stdout, /Dry run:/);
    const j = await vmsnap("restore", "app", "app-1", "--stop", "--dry-run", "-o", "json");
    expectExit(j, 0);
    const res = Restore.parse(json(j));
    assert.equal(res.phase, "DryRun");
    assert.equal(res.stoppedVm, true);
    assert.match(res.safetySnapshot ?? "", /^app-pre-restore-\d{8}-\d{6}$/);
    await assertNoWrites(since);
    assert.deepEqual(await snapshotsOf("app"), ["app-1"]);
  });

  it("restore --stop --confirm: the exact data back, a safety snapshot, the VM powered on again", async () => {
    const since = new Date();
    const r = await vmsnap("restore", "app", "app-1", "--stop", "--confirm", "app-1", "-o", "json");
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.equal(res.phase, "Succeeded");
    assert.equal(res.vm, "app");
    assert.equal(res.snapshot, "app-1");
    assert.equal(res.stoppedVm, true);
    assert.equal(res.restartedVm, true);
    assert.match(res.safetySnapshot ?? "", /^app-pre-restore-\d{8}-\d{6}$/);
    // The preview (stderr) told that the VM comes back powered off.
    assert.match(r.stderr, /powered off after the revert/);

    assert.deepEqual(await fingerprints("app"), { boot: "app-boot-v1", data: "app-data-v1" });
    const safety = (await c.get(VmOp.snapshots, res.safetySnapshot!, ns)) as Json;
    assert.equal(
      (safety.status.conditions as Json[]).find((x) => x.type === READY)?.status,
      "True",
    );
    const vm = await waitFor(c, VmOp.vms, "app", ns, (v) => v.status?.powerState === "PoweredOn");
    assert.equal(vm.spec.powerState, "PoweredOn");
    assert.equal(vm.spec.currentSnapshotName, undefined);
    assert.equal(vm.status.currentSnapshot?.name, "app-1");

    const writes = await writesHere(since);
    assert.deepEqual(writes.map(describeWrite), [
      "patch virtualmachines app",
      `create virtualmachinesnapshots ${res.safetySnapshot}`,
      "patch virtualmachines app",
      "patch virtualmachines app",
    ]);
    assert.deepEqual(
      writes.filter((e) => e.verb === "patch").map((e) => e.requestObject),
      [
        { spec: { powerState: "PoweredOff" } },
        { spec: { currentSnapshotName: "app-1" } },
        { spec: { powerState: "PoweredOn" } },
      ],
    );

    const d = await describeJson("app-1");
    assert.equal(d.tree?.current, true);
    assert.ok(d.tree?.children.includes(res.safetySnapshot!), JSON.stringify(d.tree));

    // The safety snapshot undoes the restore exactly.
    const undo = await vmsnap(
      "restore",
      "app",
      res.safetySnapshot!,
      "--stop",
      "--confirm",
      res.safetySnapshot!,
      "--no-safety-snapshot",
      "-o",
      "json",
    );
    expectExit(undo, 0);
    assert.deepEqual(await fingerprints("app"), { boot: "app-boot-v2", data: "app-data-v2" });
    await waitFor(c, VmOp.vms, "app", ns, (v) => v.status?.powerState === "PoweredOn");
  });

  it("a CSI VolumeSnapshot of a VM volume taken after the snapshot: refused up front (exit 7), nothing written", async () => {
    await makeVm("vsb", { power: "PoweredOff" });
    await cliSnapshot("vsb", "vsb-1");
    const v2 = await writeAll("vsb", "v2");
    await c.create(Csi.volumeSnapshots, volumeSnapshotManifest(ns, "vsb-data-vs", "vsb-data"));

    const since = new Date();
    const r = await vmsnap("restore", "vsb", "vsb-1", "--confirm", "vsb-1", "-o", "json");
    const e = expectJsonError(r, "Conflict", 7, /VolumeSnapshot vsb-data-vs/);
    assert.match(e.hint ?? "", /delete the VolumeSnapshot vsb-data-vs/);
    const text = await vmsnap("restore", "vsb", "vsb-1", "--confirm", "vsb-1");
    expectExit(text, 7);
    assert.match(text.stderr, /cannot revert across/);
    await assertNoWrites(since);
    assert.deepEqual(await snapshotsOf("vsb"), ["vsb-1"], "no safety snapshot");
    assert.deepEqual(await fingerprints("vsb"), v2);
    const vm = (await c.get(VmOp.vms, "vsb", ns)) as Json;
    assert.equal(vm.spec.currentSnapshotName, undefined);
  });

  it("a VolumeSnapshot taken while the VM snapshot was being taken also blocks: refused up front (exit 7)", async () => {
    // The simulated vSphere cuts the VM snapshot at `taken-at`, and completes it 2 s later. A
    // CSI VolumeSnapshot created in between is after the cut, so the revert cannot cross it.
    await makeVm("vse", { power: "PoweredOff", annotations: { [SIM.snapshotDelay]: "2s" } });
    await c.create(VmOp.snapshots, {
      apiVersion: apiVersionOf(VmOp.snapshots),
      kind: "VirtualMachineSnapshot",
      metadata: { name: "vse-1", namespace: ns },
      spec: { vmName: "vse" },
    });
    await waitFor(c, VmOp.snapshots, "vse-1", ns, (s) =>
      Boolean(s.metadata.annotations?.["sim.vmsnap.io/taken-at"]),
    );
    await c.create(Csi.volumeSnapshots, volumeSnapshotManifest(ns, "vse-data-vs", "vse-data"));
    await waitFor(
      c,
      VmOp.snapshots,
      "vse-1",
      ns,
      (s) =>
        (s.status?.conditions as Json[] | undefined)?.find((x) => x.type === READY)?.status ===
        "True",
    );

    const since = new Date();
    const r = await vmsnap("restore", "vse", "vse-1", "--confirm", "vse-1", "-o", "json");
    const writes = (await writesHere(since)).map(describeWrite);
    const vm = (await c.get(VmOp.vms, "vse", ns)) as Json;
    assert.equal(
      r.code,
      7,
      `expected a refusal up front (exit 7); vmsnap went ahead and wrote ${JSON.stringify(writes)}, leaving spec.currentSnapshotName=${JSON.stringify(vm.spec.currentSnapshotName)}\n${show(r)}`,
    );
    assert.deepEqual(writes, []);
  });
});

describe("VM Operator: delete, clone", () => {
  it("delete of a snapshot with children: the preview names them; the child's parent becomes the deleted one's parent", async () => {
    await makeVm("chain", { power: "PoweredOff" });
    await cliSnapshot("chain", "chain-1");
    await cliSnapshot("chain", "chain-2");
    await cliSnapshot("chain", "chain-3");
    assert.deepEqual((await describeJson("chain-3")).tree, {
      parent: "chain-2",
      children: [],
      current: true,
    });

    const since = new Date();
    const dry = await vmsnap("delete", "chain-2", "--dry-run");
    expectExit(dry, 0);
    assert.match(dry.stdout, /its children \(chain-3\) are kept and attached to chain-1/);
    const dryCurrent = await vmsnap("delete", "chain-3", "--dry-run");
    expectExit(dryCurrent, 0);
    assert.match(dryCurrent.stdout, /it has no child snapshots/);
    assert.match(dryCurrent.stdout, /current snapshot becomes chain-2/);
    await assertNoWrites(since);

    const wrong = await vmsnap("delete", "chain-2", "--confirm", "chain-3", "-o", "json");
    expectJsonError(wrong, "Cancelled", 3, /does not match/);
    await assertNoWrites(since);

    const r = await vmsnap("delete", "chain-2", "--confirm", "chain-2", "-o", "json");
    expectExit(r, 0);
    const d = Deletion.parse(json(r));
    assert.equal(d.phase, "Deleted");
    assert.equal(d.vm, "chain");
    assert.equal(d.wasOnlySnapshot, false);
    assert.match(r.stderr, /its children \(chain-3\) are kept and attached to chain-1/);
    assert.deepEqual((await writesHere(since)).map(describeWrite), [
      "delete virtualmachinesnapshots chain-2",
    ]);
    assert.equal(await c.getIfExists(VmOp.snapshots, "chain-2", ns), undefined);

    assert.deepEqual((await describeJson("chain-3")).tree, {
      parent: "chain-1",
      children: [],
      current: true,
    });
    assert.deepEqual((await describeJson("chain-1")).tree, {
      parent: null,
      children: ["chain-3"],
      current: false,
    });
  });

  it("clone: not supported by VM Operator (exit 2), nothing written", async () => {
    await makeVm("cl", { power: "PoweredOff" });
    await cliSnapshot("cl", "cl-1");
    const since = new Date();
    const r = await vmsnap("clone", "cl-1", "--to", "cl-copy", "--yes", "-o", "json");
    const e = expectJsonError(r, "InvalidInput", 2, /not supported by VM Operator/);
    assert.match(e.hint ?? "", /vmsnap restore/);
    const text = await vmsnap("--platform", "vmoperator", "clone", "cl-1", "--to", "cl-copy");
    expectExit(text, 2);
    assert.match(text.stderr, /^error: .*not supported by VM Operator/m);
    const dry = await vmsnap("clone", "cl-1", "--to", "cl-copy", "--dry-run");
    expectExit(dry, 2);
    // Nothing at all was sent for writing, not even a dry run.
    assert.deepEqual((await allWritesHere(since)).map(describeWrite), []);
    assert.equal(await c.getIfExists(VmOp.vms, "cl-copy", ns), undefined);
  });
});

describe("VM Operator: the audit log", () => {
  it("vmsnap-user wrote only VirtualMachineSnapshots (create/delete) and VM patches of powerState/currentSnapshotName", async () => {
    // This namespace only: the files running alongside write elsewhere as the same identity.
    const writes = (await allWritesHere(fileStart)).filter((e) => e.objectRef?.namespace === ns);
    assert.ok(writes.length > 0, "this file's operations wrote");
    const outside = writes.filter(
      (e) =>
        !(
          e.objectRef?.apiGroup === GROUP &&
          !e.objectRef.subresource &&
          ((e.objectRef.resource === "virtualmachinesnapshots" &&
            ["create", "delete"].includes(e.verb)) ||
            (e.objectRef.resource === "virtualmachines" && e.verb === "patch"))
        ),
    );
    assert.deepEqual(outside.map(describeWrite), [], "writes outside SPEC §2");
    for (const e of writes.filter((x) => x.objectRef?.resource === "virtualmachines")) {
      const body = e.requestObject as Json;
      assert.deepEqual(Object.keys(body), ["spec"], JSON.stringify(body));
      assert.deepEqual(
        Object.keys(body.spec).filter((k) => k !== "powerState" && k !== "currentSnapshotName"),
        [],
        JSON.stringify(body),
      );
      assert.equal(Object.keys(body.spec).length, 1, JSON.stringify(body));
    }
  });
});
