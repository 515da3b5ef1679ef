// Every vmsnap operation end to end through the built CLI, as the vmsnap-user identity, against
// the real API server and the simulated KubeVirt controllers: exit codes, the documented -o json
// objects (validated with their zod schemas) and the effects in the cluster (data fingerprints).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import type { AuditEvent } from "../../src/playground/audit.js";
import { ensureSimStorage, pvcManifest, vmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import {
  Clone,
  Deletion,
  Preflight,
  Restore,
  Snapshot,
  SnapshotList,
  VirtualMachineList,
} from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, type CliResult } from "../helpers/cli.js";
import { requestsSince, writesSince, writesIn } from "../helpers/audit.js";
import { waitFor, type Json, vmDiskFingerprints, waitClaimsBound } from "../helpers/kube.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-ops");
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

/** Real writes in this file's namespace or cluster-wide (files run concurrently). */
function realWritesHere(since: Date, user = VMSNAP_USER.name): Promise<AuditEvent[]> {
  return writesIn(ns, since, user);
}

const writesHere = (since: Date) => realWritesHere(since);

const describeWrite = (e: AuditEvent) =>
  `${e.verb} ${e.objectRef?.resource ?? "?"}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""} ${e.objectRef?.name ?? ""}`.trim();

interface VmSpec {
  run?: boolean;
  disks?: string[];
  annotations?: Record<string, string>;
}

/** PVCs (one per disk, data `<vm>-<disk>-v1`) and a VM, created as admin; waits for its state. */
async function makeVm(name: string, o: VmSpec = {}): Promise<Json> {
  const disks = o.disks ?? ["rootdisk"];
  for (const d of disks)
    await c.create(
      Core.pvcs,
      pvcManifest({ name: `${name}-${d}`, namespace: ns, data: `${name}-${d}-v1` }),
    );
  await waitClaimsBound(
    c,
    ns,
    disks.map((d) => `${name}-${d}`),
  );
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy: o.run ? "Always" : "Halted",
      annotations: o.annotations,
      disks: disks.map((d) => ({ name: d, claimName: `${name}-${d}` })),
    }),
  );
  return waitFor(
    c,
    KubeVirt.vms,
    name,
    ns,
    (vm) => vm.status?.printableStatus === (o.run ? "Running" : "Stopped"),
  );
}

/** The data fingerprint of each disk of a VM, by volume name, following its claims. */
async function fingerprints(vmName: string): Promise<Record<string, string>> {
  return vmDiskFingerprints(c, ns, vmName);
}

/** "Writes" new data to every disk of the VM, through the claims its volumes point at now. */
async function writeAll(vmName: string, suffix: string): Promise<Record<string, string>> {
  const vm = (await c.get(KubeVirt.vms, vmName, ns)) as Json;
  const out: Record<string, string> = {};
  for (const v of vm.spec.template.spec.volumes as Json[]) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const data = `${vmName}-${v.name}-${suffix}`;
    await c.patch(Core.pvcs, claim, ns, { metadata: { annotations: { [SIM.data]: data } } });
    out[v.name] = data;
  }
  return out;
}

async function snapshotsOf(vm: string): Promise<string[]> {
  const list = await c.list(KubeVirt.snapshots, ns);
  return list.items
    .filter((s) => (s.spec as Json | undefined)?.source?.name === vm)
    .map((s) => s.metadata.name)
    .sort();
}

/** Creates a snapshot through the CLI and returns its Snapshot object (ready). */
async function cliSnapshot(vm: string, name: string): Promise<Snapshot> {
  const r = await vmsnap("create", vm, "--name", name, "--yes", "-o", "json");
  expectExit(r, 0);
  const snap = Snapshot.parse(json(r));
  assert.equal(snap.readyToUse, true, show(r));
  return snap;
}

describe("vmsnap vms, check", () => {
  it("vms lists the namespace's VMs (-o json), one VM by name, and all namespaces with -A", async () => {
    await makeVm("inv-a", { run: true, annotations: { [SIM.guestAgent]: "true" } });
    await makeVm("inv-b");

    const all = await vmsnap("vms", "-o", "json");
    expectExit(all, 0);
    const list = VirtualMachineList.parse(json(all));
    const byName = new Map(list.items.map((i) => [i.name, i]));
    assert.ok(byName.has("inv-a") && byName.has("inv-b"), show(all));
    assert.ok(list.items.every((i) => i.namespace === ns));
    const a = byName.get("inv-a")!;
    assert.equal(a.platform, "kubevirt");
    assert.equal(a.running, true);
    assert.equal(a.status, "Running");
    assert.equal(a.guestAgent, true);
    assert.equal(a.snapshotCount, 0);
    assert.equal(a.lastSnapshot, null);
    const b = byName.get("inv-b")!;
    assert.equal(b.running, false);
    assert.equal(b.status, "Stopped");
    assert.equal(b.guestAgent, false);

    const one = await vmsnap("vms", "inv-b", "-o", "json");
    expectExit(one, 0);
    const only = VirtualMachineList.parse(json(one));
    assert.deepEqual(
      only.items.map((i) => `${i.namespace}/${i.name}`),
      [`${ns}/inv-b`],
    );

    // -A ignores -n: run from another namespace, our VMs are listed with their namespace.
    const everywhere = await runCli(["-n", "default", "vms", "-A", "-o", "json"]);
    expectExit(everywhere, 0);
    const wide = VirtualMachineList.parse(json(everywhere));
    for (const name of ["inv-a", "inv-b"])
      assert.ok(
        wide.items.some((i) => i.namespace === ns && i.name === name),
        `${ns}/${name} in vms -A`,
      );

    const table = await vmsnap("vms");
    expectExit(table, 0);
    assert.match(table.stdout, /inv-a\s+Running/);
    assert.match(table.stdout, /inv-b\s+Stopped/);
  });

  it("check exits 0 on a snapshottable VM, with its Preflight", async () => {
    await makeVm("chk", { run: true, annotations: { [SIM.guestAgent]: "true" } });
    const r = await vmsnap("check", "chk", "-o", "json");
    expectExit(r, 0);
    const pre = Preflight.parse(json(r));
    assert.equal(pre.vm, "chk");
    assert.equal(pre.namespace, ns);
    assert.equal(pre.snapshottable, true);
    assert.equal(pre.mode, "online");
    assert.equal(pre.expectedConsistency, "application-consistent");
    assert.deepEqual(pre.problems, []);
    const root = pre.volumes.find((v) => v.name === "rootdisk");
    assert.equal(root?.included, true);
    assert.equal(root?.claimName, "chk-rootdisk");
    assert.equal(root?.volumeSnapshotClass, "sim-csi-snapclass");

    const text = await vmsnap("check", "chk");
    expectExit(text, 0);
  });
});

describe("vmsnap create, list, describe", () => {
  it("create --name --yes: a ready, application-consistent snapshot; exactly one real write", async () => {
    await makeVm("web", { run: true, annotations: { [SIM.guestAgent]: "true" } });
    const since = new Date();
    const r = await vmsnap("create", "web", "--name", "web-snap", "--yes", "-o", "json");
    expectExit(r, 0);
    const snap = Snapshot.parse(json(r));
    assert.equal(snap.name, "web-snap");
    assert.equal(snap.namespace, ns);
    assert.equal(snap.vm, "web");
    assert.equal(snap.phase, "Succeeded");
    assert.equal(snap.readyToUse, true);
    assert.equal(snap.consistency, "application-consistent");
    assert.ok(snap.indications.includes("GuestAgent"), snap.indications.join(","));
    assert.deepEqual(snap.includedVolumes, ["rootdisk"]);
    assert.ok(snap.creationTime);
    assert.equal(snap.error, null);

    const inCluster = await c.get(KubeVirt.snapshots, "web-snap", ns);
    assert.equal((inCluster.status as Json).readyToUse, true);

    // Audit: the one real write is the snapshot itself (the server-side dry run is excluded).
    const writes = await writesHere(since);
    assert.deepEqual(writes.map(describeWrite), ["create virtualmachinesnapshots web-snap"]);
    // The shared helper agrees.
    assert.deepEqual(
      (await writesSince(since))
        .filter((e) => e.objectRef?.namespace === ns)
        .map((e) => `${e.user.username} ${e.verb} ${e.objectRef?.resource}`),
      ["vmsnap-user create virtualmachinesnapshots"],
    );
    assert.equal(writes[0]!.user.username, "vmsnap-user");
    assert.equal(writes[0]!.objectRef?.apiGroup, "snapshot.kubevirt.io");
  });

  it("create without --name uses <vm>-snapshot-<YYYYMMDD-HHMMSS>", async () => {
    await makeVm("dflt");
    const r = await vmsnap("create", "dflt", "--yes", "-o", "json");
    expectExit(r, 0);
    const snap = Snapshot.parse(json(r));
    assert.match(snap.name, /^dflt-snapshot-\d{8}-\d{6}$/);
    assert.equal(snap.readyToUse, true);
    assert.equal(snap.consistency, "consistent (VM stopped)");
    assert.deepEqual(await snapshotsOf("dflt"), [snap.name]);
  });

  it("create --no-wait returns right after creation; the snapshot becomes ready later", async () => {
    await makeVm("slow", { annotations: { [SIM.snapshotDelay]: "3s" } });
    const r = await vmsnap(
      "create",
      "slow",
      "--name",
      "slow-snap",
      "--no-wait",
      "--yes",
      "-o",
      "json",
    );
    expectExit(r, 0);
    const snap = Snapshot.parse(json(r));
    assert.equal(snap.name, "slow-snap");
    assert.equal(snap.readyToUse, false, show(r));
    assert.notEqual(snap.phase, "Succeeded");
    await waitFor(c, KubeVirt.snapshots, "slow-snap", ns, (s) => s.status?.readyToUse === true);
  });

  it("create --dry-run validates and creates nothing", async () => {
    await makeVm("dry", { run: true });
    const since = new Date();
    const r = await vmsnap("create", "dry", "--name", "dry-snap", "--dry-run", "-o", "json");
    expectExit(r, 0);
    const snap = Snapshot.parse(json(r));
    assert.equal(snap.phase, "DryRun");
    assert.equal(snap.name, "dry-snap");
    assert.equal(snap.readyToUse, false);
    assert.deepEqual(await snapshotsOf("dry"), []);
    assert.deepEqual((await writesHere(since)).map(describeWrite), []);
    // The server-side dry run did happen.
    const dryRuns = (await requestsSince(since)).filter(
      (e) => e.objectRef?.namespace === ns && e.verb === "create",
    );
    assert.ok(
      dryRuns.some(
        (e) =>
          e.objectRef?.resource === "virtualmachinesnapshots" && /dryRun=All/.test(e.requestURI),
      ),
      "validated by a server-side dry run",
    );

    const text = await vmsnap("create", "dry", "--name", "dry-snap", "--dry-run");
    expectExit(text, 0);
    assert.match(text.stdout, /Dry run/);
    assert.match(text.stdout, /kind: VirtualMachineSnapshot/);
    assert.deepEqual(await snapshotsOf("dry"), []);
  });

  it("list (namespace and one VM) and describe (-o json, with includedVolumes)", async () => {
    await makeVm("lst-a", { disks: ["rootdisk", "data"] });
    await makeVm("lst-b");
    await cliSnapshot("lst-a", "lst-a-1");
    await cliSnapshot("lst-b", "lst-b-1");

    const all = await vmsnap("list", "-o", "json");
    expectExit(all, 0);
    const names = SnapshotList.parse(json(all)).items.map((s) => s.name);
    assert.ok(names.includes("lst-a-1") && names.includes("lst-b-1"), names.join(","));

    const one = await vmsnap("list", "lst-a", "-o", "json");
    expectExit(one, 0);
    const items = SnapshotList.parse(json(one)).items;
    assert.deepEqual(
      items.map((s) => `${s.vm}/${s.name}`),
      ["lst-a/lst-a-1"],
    );

    const table = await vmsnap("list", "lst-a");
    expectExit(table, 0);
    assert.match(table.stdout, /lst-a-1/);
    assert.doesNotMatch(table.stdout, /lst-b-1/);

    const d = await vmsnap("describe", "lst-a-1", "-o", "json");
    expectExit(d, 0);
    const snap = Snapshot.parse(json(d));
    assert.equal(snap.name, "lst-a-1");
    assert.equal(snap.vm, "lst-a");
    assert.equal(snap.readyToUse, true);
    assert.deepEqual([...snap.includedVolumes].sort(), ["data", "rootdisk"]);
    assert.deepEqual(snap.excludedVolumes, []);
    assert.ok(snap.contentName);
    assert.ok(snap.conditions.some((x) => x.type === "Ready" && x.status === "True"));

    const dt = await vmsnap("describe", "lst-a-1");
    expectExit(dt, 0);
    assert.match(dt.stdout, /lst-a-1/);
  });

  it("create --stop on a running VM: offline snapshot, the VM is running again afterwards", async () => {
    await makeVm("stp", { run: true, annotations: { [SIM.guestAgent]: "true" } });
    const since = new Date();
    const r = await vmsnap("create", "stp", "--name", "stp-snap", "--stop", "--yes", "-o", "json");
    expectExit(r, 0);
    const snap = Snapshot.parse(json(r));
    assert.equal(snap.readyToUse, true);
    assert.equal(snap.consistency, "consistent (VM stopped)");
    assert.ok(!snap.indications.includes("Online"), snap.indications.join(","));
    // Stopped (a patch), snapshotted, started again (a patch).
    const writes = (await writesHere(since)).map(describeWrite);
    assert.deepEqual(writes, [
      "patch virtualmachines stp",
      "create virtualmachinesnapshots stp-snap",
      "patch virtualmachines stp",
    ]);
    await waitFor(c, KubeVirt.vms, "stp", ns, (vm) => vm.status?.printableStatus === "Running");
  });
});

describe("vmsnap restore", () => {
  it("restores a stopped 2-disk VM exactly, and the safety snapshot undoes the restore", async () => {
    await makeVm("db", { disks: ["root", "data"] });
    const original = { root: "db-root-v1", data: "db-data-v1" };
    assert.deepEqual(await fingerprints("db"), original);
    await cliSnapshot("db", "db-snap");
    const changed = await writeAll("db", "v2");
    assert.deepEqual(await fingerprints("db"), changed);

    const since = new Date();
    const r = await vmsnap("restore", "db", "db-snap", "--confirm", "db-snap", "-o", "json");
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.deepEqual((await writesHere(since)).map(describeWrite), [
      `create virtualmachinesnapshots ${res.safetySnapshot}`,
      `create virtualmachinerestores ${res.restoreName}`,
    ]);
    assert.equal(res.phase, "Succeeded");
    assert.equal(res.vm, "db");
    assert.equal(res.snapshot, "db-snap");
    assert.equal(res.stoppedVm, false);
    assert.equal(res.restartedVm, false);
    assert.match(res.safetySnapshot ?? "", /^db-pre-restore-\d{8}-\d{6}$/);
    assert.ok(typeof res.durationMs === "number");
    assert.deepEqual(await fingerprints("db"), original);
    // KubeVirt restores into new claims: the report names them, volume by volume.
    const replaced = res.claimsReplaced ?? [];
    assert.equal(replaced.length, 2, JSON.stringify(replaced));
    for (const c of replaced) assert.match(c.after, new RegExp(`^restore-.+-${c.volume}$`));
    assert.ok(replaced.every((c) => c.before !== c.after));
    const restore = await c.get(KubeVirt.restores, res.restoreName, ns);
    assert.equal((restore.status as Json).complete, true);

    // The safety snapshot holds the state before the restore: restoring it brings that back.
    const safety = res.safetySnapshot!;
    const s = await c.get(KubeVirt.snapshots, safety, ns);
    assert.equal((s.status as Json).readyToUse, true);
    const back = await vmsnap("restore", "db", safety, "--confirm", safety, "-o", "json");
    expectExit(back, 0);
    const res2 = Restore.parse(json(back));
    assert.equal(res2.phase, "Succeeded");
    assert.deepEqual(await fingerprints("db"), changed);
    const vm = (await c.get(KubeVirt.vms, "db", ns)) as Json;
    assert.equal(vm.spec.runStrategy, "Halted");
  });

  it("restores a running VM with --stop: stopped, restored, running again", async () => {
    await makeVm("app", { run: true, disks: ["root", "data"] });
    await cliSnapshot("app", "app-snap");
    await writeAll("app", "v2");

    const since = new Date();
    const r = await vmsnap(
      "restore",
      "app",
      "app-snap",
      "--confirm",
      "app-snap",
      "--stop",
      "-o",
      "json",
    );
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.equal(res.phase, "Succeeded");
    assert.equal(res.stoppedVm, true);
    assert.equal(res.restartedVm, true);
    assert.match(res.safetySnapshot ?? "", /^app-pre-restore-\d{8}-\d{6}$/);
    // Stopped first, then the safety snapshot and the restore, then started again.
    assert.deepEqual((await writesHere(since)).map(describeWrite), [
      "patch virtualmachines app",
      `create virtualmachinesnapshots ${res.safetySnapshot}`,
      `create virtualmachinerestores ${res.restoreName}`,
      "patch virtualmachines app",
    ]);
    await waitFor(c, KubeVirt.vms, "app", ns, (vm) => vm.status?.printableStatus === "Running");
    assert.deepEqual(await fingerprints("app"), { root: "app-root-v1", data: "app-data-v1" });
  });

  it("--no-safety-snapshot restores without taking any other snapshot", async () => {
    await makeVm("nos");
    await cliSnapshot("nos", "nos-snap");
    await writeAll("nos", "v2");
    const since = new Date();
    const r = await vmsnap(
      "restore",
      "nos",
      "nos-snap",
      "--confirm",
      "nos-snap",
      "--no-safety-snapshot",
      "-o",
      "json",
    );
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.equal(res.phase, "Succeeded");
    assert.equal(res.safetySnapshot, null);
    assert.deepEqual((await writesHere(since)).map(describeWrite), [
      `create virtualmachinerestores ${res.restoreName}`,
    ]);
    assert.deepEqual(await snapshotsOf("nos"), ["nos-snap"]);
    assert.deepEqual(await fingerprints("nos"), { rootdisk: "nos-rootdisk-v1" });
  });

  it("restore --dry-run: phase DryRun, lists the configuration that changes back, writes nothing", async () => {
    await makeVm("rdry");
    await cliSnapshot("rdry", "rdry-snap");
    await c.patch(KubeVirt.vms, "rdry", ns, {
      spec: { template: { spec: { domain: { memory: { guest: "4Gi" } } } } },
    });
    const written = await writeAll("rdry", "v2");
    const since = new Date();
    const r = await vmsnap("restore", "rdry", "rdry-snap", "--dry-run", "-o", "json");
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.equal(res.phase, "DryRun");
    assert.equal(res.durationMs, null);
    assert.ok(
      res.specChanges.some((l) => /memory/.test(l) && /4Gi/.test(l) && /2Gi/.test(l)),
      res.specChanges.join("\n"),
    );
    assert.deepEqual((await writesHere(since)).map(describeWrite), []);
    assert.deepEqual(await snapshotsOf("rdry"), ["rdry-snap"]);
    assert.deepEqual(
      (await c.list(KubeVirt.restores, ns)).items.filter(
        (x) => (x.spec as Json).target?.name === "rdry",
      ),
      [],
    );
    const vm = (await c.get(KubeVirt.vms, "rdry", ns)) as Json;
    assert.equal(vm.spec.template.spec.domain.memory.guest, "4Gi");
    assert.deepEqual(await fingerprints("rdry"), written);
  });
});

describe("vmsnap restore --dry-run on a running VM", () => {
  it("with --stop: stoppedVm tells that it would stop the VM; the VM keeps running", async () => {
    await makeVm("rdrun", { run: true });
    await cliSnapshot("rdrun", "rdrun-snap");
    const since = new Date();
    const r = await vmsnap("restore", "rdrun", "rdrun-snap", "--stop", "--dry-run", "-o", "json");
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.equal(res.phase, "DryRun");
    assert.match(res.safetySnapshot ?? "", /^rdrun-pre-restore-\d{8}-\d{6}$/);
    assert.deepEqual((await writesHere(since)).map(describeWrite), []);
    const vm = (await c.get(KubeVirt.vms, "rdrun", ns)) as Json;
    assert.equal(vm.spec.runStrategy, "Always");
    assert.equal(vm.status.printableStatus, "Running");
    assert.deepEqual(await snapshotsOf("rdrun"), ["rdrun-snap"]);
    // docs/output.md: stoppedVm — "vmsnap stopped the running VM for the restore (dry run: would
    // stop it)".
    assert.equal(res.stoppedVm, true, "a dry run with --stop on a running VM would stop it");
  });
});

describe("vmsnap clone, delete", () => {
  it("clone --to NEW --yes: a new VM with the snapshot's data", async () => {
    await makeVm("src", { disks: ["root", "data"] });
    await cliSnapshot("src", "src-snap");
    await writeAll("src", "v2");
    const r = await vmsnap("clone", "src-snap", "--to", "src-copy", "--yes", "-o", "json");
    expectExit(r, 0);
    const clone = Clone.parse(json(r));
    assert.equal(clone.phase, "Succeeded");
    assert.equal(clone.snapshot, "src-snap");
    assert.equal(clone.target, "src-copy");
    assert.equal(clone.namespace, ns);
    const done = await c.get(KubeVirt.clones, clone.cloneName, ns);
    assert.equal((done.status as Json).phase, "Succeeded");
    assert.ok(await c.getIfExists(KubeVirt.vms, "src-copy", ns));
    assert.deepEqual(await fingerprints("src-copy"), { root: "src-root-v1", data: "src-data-v1" });
    // The source VM is untouched.
    assert.deepEqual(await fingerprints("src"), { root: "src-root-v2", data: "src-data-v2" });
  });

  it("delete --dry-run: phase DryRun, the snapshot stays, no real write", async () => {
    await makeVm("ddry");
    await cliSnapshot("ddry", "ddry-1");
    const since = new Date();
    const r = await vmsnap("delete", "ddry-1", "--dry-run", "-o", "json");
    expectExit(r, 0);
    const d = Deletion.parse(json(r));
    assert.equal(d.phase, "DryRun");
    assert.equal(d.wasOnlySnapshot, true);
    const kept = await c.getIfExists(KubeVirt.snapshots, "ddry-1", ns);
    assert.ok(kept, "the snapshot still exists");
    assert.equal(kept.metadata.deletionTimestamp, undefined, "the snapshot is not being deleted");
    // A moment later (the simulated controller drops its finalizer at once on deletion).
    const still = await vmsnap("describe", "ddry-1", "-o", "json");
    expectExit(still, 0);
    assert.equal(Snapshot.parse(json(still)).readyToUse, true);
    // The dry run is validated by the API server (a DELETE with DeleteOptions.dryRun=["All"]):
    // the audit helpers must not count it as a real write.
    assert.deepEqual((await writesHere(since)).map(describeWrite), []);
  });

  it("delete --confirm: the snapshot is gone; wasOnlySnapshot tells the last one", async () => {
    await makeVm("del");
    await cliSnapshot("del", "del-1");
    await cliSnapshot("del", "del-2");

    const first = await vmsnap("delete", "del-1", "--confirm", "del-1", "-o", "json");
    expectExit(first, 0);
    const d1 = Deletion.parse(json(first));
    assert.equal(d1.phase, "Deleted");
    assert.equal(d1.snapshot, "del-1");
    assert.equal(d1.vm, "del");
    assert.equal(d1.wasOnlySnapshot, false);
    assert.equal(await c.getIfExists(KubeVirt.snapshots, "del-1", ns), undefined);

    const last = await vmsnap("delete", "del-2", "--confirm", "del-2", "-o", "json");
    expectExit(last, 0);
    const d2 = Deletion.parse(json(last));
    assert.equal(d2.phase, "Deleted");
    assert.equal(d2.wasOnlySnapshot, true);
    assert.equal(await c.getIfExists(KubeVirt.snapshots, "del-2", ns), undefined);
    assert.deepEqual(await snapshotsOf("del"), []);
  });
});
