// Every refusal path of the CLI (SPEC §3, §6): the exit code, a helpful message (stderr, or the
// -o json Error object), and proof from the API server's audit log that nothing was written —
// or, for invalid input, that no request was sent at all.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import type { AuditEvent } from "../../src/playground/audit.js";
import {
  STORAGE,
  ensureSimStorage,
  pvcManifest,
  vmManifest,
} from "../../src/playground/fixtures.js";
import { READER, VMSNAP_USER } from "../../src/playground/identities.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { ErrorObject, Preflight, Snapshot } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, type CliOptions, type CliResult } from "../helpers/cli.js";
import { requestsSince, writesIn } from "../helpers/audit.js";
import { waitFor, type Json } from "../helpers/kube.js";

let c: KubeClient;
let ns: string;
let tmp: string;

// A stand-in API server that records every request: for invalid input, "no request at all" is
// proven exactly, independently of the other test files that run concurrently as vmsnap-user.
let recorder: Server;
let recorded: string[] = [];
let recorderKubeconfig: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-refuse");
  tmp = await mkdtemp(path.join(tmpdir(), "vmsnap-refusals-"));
  recorder = createServer((req, res) => {
    recorded.push(`${req.method} ${req.url}`);
    res.writeHead(503, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", status: "Failure", code: 503 }));
  });
  await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
  const port = (recorder.address() as AddressInfo).port;
  recorderKubeconfig = path.join(tmp, "recorder.kubeconfig");
  await writeFile(recorderKubeconfig, kubeconfigYaml(`http://127.0.0.1:${port}`, ns, true));
});

after(() => {
  c?.close();
  recorder?.close();
});

function kubeconfigYaml(server: string, namespace: string, insecure = false): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: test",
    "  cluster:",
    `    server: ${server}`,
    ...(insecure ? ["    insecure-skip-tls-verify: true"] : []),
    "users:",
    "- name: test",
    "  user:",
    "    token: not-a-real-token",
    "contexts:",
    "- name: test",
    "  context:",
    "    cluster: test",
    "    user: test",
    `    namespace: ${namespace}`,
    "current-context: test",
    "",
  ].join("\n");
}

/** vmsnap -n <ns> …, as vmsnap-user unless told otherwise. */
function vmsnap(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runCli(["-n", ns, ...args], options);
}

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

function expectExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, show(r));
}

/** Text output: exit code, `error: …` on stderr matching each pattern, nothing on stdout. */
function expectError(r: CliResult, code: number, ...patterns: RegExp[]): void {
  expectExit(r, code);
  assert.match(r.stderr, /^error: /m, show(r));
  for (const p of patterns) assert.match(r.stderr, p, show(r));
  assert.equal(r.stdout, "", show(r));
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

/** Real writes in this file's namespace or cluster-wide (files run concurrently). */
function realWritesHere(since: Date, user = VMSNAP_USER.name): Promise<AuditEvent[]> {
  return writesIn(ns, since, user);
}

/** No real write by the identity since the instant (see realWritesHere). */
async function assertNoWritesHere(since: Date, user = VMSNAP_USER.name): Promise<void> {
  assert.deepEqual(
    (await realWritesHere(since, user)).map((e) => `${e.verb} ${e.requestURI}`),
    [],
    "a refusal must write nothing",
  );
}

/** Requests by vmsnap-user since the instant that concern this namespace or mention the text. */
async function requestsAbout(since: Date, ...texts: string[]): Promise<AuditEvent[]> {
  return (await requestsSince(since)).filter(
    (e) =>
      e.objectRef?.namespace === ns ||
      texts.some((t) => e.requestURI.includes(encodeURIComponent(t)) || e.requestURI.includes(t)),
  );
}

async function makeVm(
  name: string,
  o: { run?: boolean; annotations?: Record<string, string>; sc?: string } = {},
): Promise<void> {
  await c.create(
    Core.pvcs,
    pvcManifest({
      name: `${name}-root`,
      namespace: ns,
      data: `${name}-v1`,
      storageClassName: o.sc,
    }),
  );
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy: o.run ? "Always" : "Halted",
      annotations: o.annotations,
      disks: [{ name: "rootdisk", claimName: `${name}-root` }],
    }),
  );
  await waitFor(
    c,
    KubeVirt.vms,
    name,
    ns,
    (vm) => vm.status?.printableStatus === (o.run ? "Running" : "Stopped"),
  );
}

/** A ready snapshot, made directly as admin (the refusal is what is tested, not create). */
async function makeSnapshot(name: string, vm: string): Promise<void> {
  await c.create(KubeVirt.snapshots, {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
  });
  await waitFor(c, KubeVirt.snapshots, name, ns, (s) => s.status?.readyToUse === true);
}

/**
 * The snapshot exists and is not being deleted (the simulated controller removes its finalizer at
 * once when it is): its uid. Checked through the CLI's own describe as well, a moment later.
 */
async function intactSnapshot(name: string): Promise<string> {
  const s = await c.getIfExists(KubeVirt.snapshots, name, ns);
  assert.ok(s, `snapshot ${name} exists`);
  assert.equal(s.metadata.deletionTimestamp, undefined, `snapshot ${name} is not being deleted`);
  const d = await vmsnap(["describe", name]);
  assert.equal(d.code, 0, `snapshot ${name} still there:\n${show(d)}`);
  return s.metadata.uid!;
}

async function fingerprint(claim: string): Promise<string | undefined> {
  return (await c.get(Core.pvcs, claim, ns)).metadata.annotations?.[SIM.data];
}

describe("invalid input: exit 2 before any request", () => {
  const long = "a".repeat(64);
  const cases: { what: string; args: string[]; message: RegExp; mentions: string }[] = [
    {
      what: "VM name with an underscore and uppercase",
      args: ["-n", "NSX", "create", "Bad_Name", "--yes"],
      message: /invalid VM name "Bad_Name"/,
      mentions: "Bad_Name",
    },
    {
      what: "snapshot name with uppercase",
      args: ["-n", "NSX", "create", "okvm", "--name", "Snap-Upper", "--yes"],
      message: /invalid snapshot name "Snap-Upper"/,
      mentions: "Snap-Upper",
    },
    {
      what: "64-character VM name",
      args: ["-n", "NSX", "create", long, "--yes"],
      message: /invalid VM name "a{64}": it is 64 characters long \(at most 63\)/,
      mentions: long,
    },
    {
      what: "namespace in uppercase",
      args: ["-n", "UPPER", "vms"],
      message: /invalid namespace name "UPPER"/,
      mentions: "UPPER",
    },
    {
      what: "clone target bad..name!",
      args: ["-n", "NSX", "clone", "s", "--to", "bad..name!", "--yes"],
      message: /invalid clone target name "bad\.\.name!"/,
      mentions: "bad..name",
    },
    {
      what: "snapshot name with uppercase in restore",
      args: ["-n", "NSX", "restore", "okvm", "MySnap", "--confirm", "MySnap"],
      message: /invalid snapshot name "MySnap"/,
      mentions: "MySnap",
    },
    {
      what: "64-character snapshot name in delete",
      args: ["-n", "NSX", "delete", long, "--confirm", long],
      message: /invalid snapshot name "a{64}"/,
      mentions: long,
    },
    {
      what: "VM name with uppercase in check",
      args: ["-n", "NSX", "check", "MyVm"],
      message: /invalid VM name "MyVm"/,
      mentions: "MyVm",
    },
  ];

  for (const k of cases) {
    it(`${k.what}: exit 2, the rule in the message, no request`, async () => {
      const args = k.args.map((a) => (a === "NSX" ? ns : a));
      const since = new Date();
      const r = await runCli(args);
      expectError(r, 2, k.message, /hint: .*must match/);
      // The stand-in server sees no request at all.
      recorded = [];
      const rec = await runCli(args, { kubeconfig: recorderKubeconfig });
      expectError(rec, 2, k.message);
      assert.deepEqual(recorded, [], "no request may be sent for invalid input");
      // And the real API server saw nothing about it from vmsnap-user.
      assert.deepEqual(
        (await requestsAbout(since, k.mentions)).map((e) => `${e.verb} ${e.requestURI}`),
        [],
      );
    });
  }

  it("an invalid name under -o json: an Error object on stdout, exit 2, no request", async () => {
    recorded = [];
    const r = await runCli(["-o", "json", "create", "Bad_Name", "--yes"], {
      kubeconfig: recorderKubeconfig,
    });
    const e = expectJsonError(r, "InvalidInput", 2, /invalid VM name "Bad_Name"/);
    assert.match(e.hint ?? "", /\^\[a-z0-9\]/);
    assert.equal(r.stderr, "");
    assert.deepEqual(recorded, []);
  });

  it("usage errors exit 2: an unknown flag, a missing argument, -o xml; no request", async () => {
    recorded = [];
    const opts = { kubeconfig: recorderKubeconfig };
    const unknown = await runCli(["create", "okvm", "--yes", "--frobnicate"], opts);
    expectExit(unknown, 2);
    assert.match(unknown.stderr, /unknown option '--frobnicate'/, show(unknown));

    const missing = await runCli(["restore", "okvm"], opts);
    expectExit(missing, 2);
    assert.match(missing.stderr, /missing required argument 'snapshot'/, show(missing));

    const noTarget = await runCli(["clone", "snap"], opts);
    expectExit(noTarget, 2);
    assert.match(noTarget.stderr, /--to/, show(noTarget));

    const xml = await runCli(["-o", "xml", "vms"], opts);
    expectError(
      xml,
      2,
      /invalid output format "xml"/,
      /hint: use -o table\|wide\|json\|yaml\|name/,
    );

    assert.deepEqual(recorded, [], "usage errors send no request");
  });

  it("an invalid flag value exits 2 and writes nothing", async () => {
    const since = new Date();
    const deadline = await vmsnap(["create", "okvm", "--yes", "--deadline", "soon"]);
    expectError(deadline, 2, /invalid --deadline "soon"/, /hint: use a duration/);
    const consistency = await vmsnap(["create", "okvm", "--yes", "--consistency", "maybe"]);
    expectError(consistency, 2, /invalid --consistency maybe/);
    await assertNoWritesHere(since);
  });

  it("an invalid flag value is refused before any request (exit 2 even with no cluster)", async () => {
    recorded = [];
    const opts = { kubeconfig: recorderKubeconfig };
    const deadline = await runCli(["create", "okvm", "--yes", "--deadline", "soon"], opts);
    expectError(deadline, 2, /invalid --deadline "soon"/);
    const keepIp = await runCli(["create", "okvm", "--yes", "--keep-ip", "sometimes"], opts);
    expectError(keepIp, 2, /invalid --keep-ip sometimes/);
    assert.deepEqual(recorded, [], "invalid input sends no request");
  });
});

describe("confirmation: mismatch or no TTY → exit 3, nothing changed", () => {
  before(async () => {
    await makeVm("tm");
    await makeSnapshot("tm-snap", "tm");
    await c.patch(Core.pvcs, "tm-root", ns, { metadata: { annotations: { [SIM.data]: "tm-v2" } } });
  });

  it("restore --confirm with a wrong name, or the right name in another case", async () => {
    for (const typed of ["snap-WRONG", "TM-SNAP", "tm-snap "]) {
      const since = new Date();
      const r = await vmsnap(["restore", "tm", "tm-snap", "--confirm", typed]);
      expectError(
        r,
        3,
        new RegExp(
          `restore cancelled: the typed name ${JSON.stringify(typed)} does not match "tm-snap"`,
        ),
        /hint: type the snapshot name exactly \(case-sensitive\)/,
      );
      await assertNoWritesHere(since);
    }
    assert.equal(await fingerprint("tm-root"), "tm-v2");
    assert.deepEqual(
      (await c.list(KubeVirt.restores, ns)).items.filter(
        (x) => (x.spec as Json).target?.name === "tm",
      ),
      [],
    );
  });

  it("delete --confirm with another name, or another case", async () => {
    await makeSnapshot("tm-del", "tm");
    const uid = await intactSnapshot("tm-del");
    for (const typed of ["other", "TM-DEL", "tm-del-"]) {
      const since = new Date();
      const r = await vmsnap(["delete", "tm-del", "--confirm", typed]);
      expectError(
        r,
        3,
        new RegExp(
          `delete cancelled: the typed name ${JSON.stringify(typed)} does not match "tm-del"`,
        ),
        /hint: type the snapshot name exactly/,
      );
      await assertNoWritesHere(since);
      assert.equal(await intactSnapshot("tm-del"), uid, `after --confirm ${typed}`);
    }
  });

  it("a mismatch under -o json: Error Cancelled, exit 3", async () => {
    await makeSnapshot("tm-json", "tm");
    const uid = await intactSnapshot("tm-json");
    const since = new Date();
    const r = await vmsnap(["-o", "json", "delete", "tm-json", "--confirm", "nope"]);
    const e = expectJsonError(r, "Cancelled", 3, /does not match "tm-json"/);
    assert.match(e.hint ?? "", /case-sensitive/);
    assert.doesNotMatch(r.stderr, /^error:/m, "under -o json the error is the JSON object only");
    await assertNoWritesHere(since);
    assert.equal(await intactSnapshot("tm-json"), uid);
  });

  it("no TTY and no --yes / --confirm: create, delete, restore and clone refuse", async () => {
    await makeSnapshot("tm-tty", "tm");
    const uid = await intactSnapshot("tm-tty");
    let since = new Date();
    const create = await vmsnap(["create", "tm", "--name", "tm-other"]);
    // The advice names the terminal, where vmsnap asks; never the flags that skip the question.
    const onTerminal =
      /hint: run the command on a terminal: vmsnap shows the plan there and asks you/;
    expectError(create, 3, /refusing to create without confirmation: no TTY/, onTerminal);
    assert.doesNotMatch(create.stderr, /--yes|--confirm/);
    await assertNoWritesHere(since);
    assert.equal(await c.getIfExists(KubeVirt.snapshots, "tm-other", ns), undefined);

    since = new Date();
    const restore = await vmsnap(["restore", "tm", "tm-snap"]);
    expectError(restore, 3, /refusing to restore without confirmation: no TTY/, onTerminal);
    assert.doesNotMatch(restore.stderr, /--yes|--confirm/);
    await assertNoWritesHere(since);

    since = new Date();
    const clone = await vmsnap(["clone", "tm-snap", "--to", "tm-copy"]);
    expectError(clone, 3, /refusing to clone without confirmation: no TTY/, onTerminal);
    assert.doesNotMatch(clone.stderr, /--yes|--confirm/);
    await assertNoWritesHere(since);
    assert.equal(await c.getIfExists(KubeVirt.vms, "tm-copy", ns), undefined);
    assert.equal(await fingerprint("tm-root"), "tm-v2");

    since = new Date();
    const del = await vmsnap(["delete", "tm-tty"]);
    expectError(del, 3, /refusing to delete without confirmation: no TTY/, onTerminal);
    assert.doesNotMatch(del.stderr, /--yes|--confirm/);
    await assertNoWritesHere(since);
    assert.equal(await intactSnapshot("tm-tty"), uid);
  });
});

describe("restore refusals", () => {
  it("a running VM without --stop → 7, and it keeps running", async () => {
    await makeVm("runner", { run: true });
    await makeSnapshot("runner-snap", "runner");
    const since = new Date();
    const r = await vmsnap(["restore", "runner", "runner-snap", "--confirm", "runner-snap"]);
    expectError(r, 7, /the VM is running/, /--stop/);
    await assertNoWritesHere(since);
    const vm = (await c.get(KubeVirt.vms, "runner", ns)) as Json;
    assert.equal(vm.spec.runStrategy, "Always");
    assert.equal(vm.status.printableStatus, "Running");
  });

  it("a missing snapshot → 4 (text and -o json)", async () => {
    await makeVm("lonely");
    const since = new Date();
    const r = await vmsnap(["restore", "lonely", "nope", "--confirm", "nope"]);
    expectError(r, 4, /snapshot .*nope not found/, /`vmsnap list -n \S+ lonely`/);
    const j = await vmsnap(["-o", "json", "restore", "lonely", "nope", "--confirm", "nope"]);
    expectJsonError(j, "NotFound", 4, /snapshot .*nope not found/);
    for (const args of [
      ["describe", "nope"],
      ["delete", "nope", "--confirm", "nope"],
      ["clone", "nope", "--to", "nope-copy", "--yes"],
    ]) {
      const x = await vmsnap(args);
      expectError(x, 4, /nope/);
    }
    await assertNoWritesHere(since);
  });

  it("a failed snapshot → 1", async () => {
    await makeVm("stuck", { annotations: { [SIM.fail]: "stuck" } });
    const made = await vmsnap([
      "create",
      "stuck",
      "--name",
      "stuck-snap",
      "--yes",
      "--deadline",
      "2s",
    ]);
    expectExit(made, 6);
    await waitFor(c, KubeVirt.snapshots, "stuck-snap", ns, (s) => s.status?.phase === "Failed");
    const since = new Date();
    const r = await vmsnap(["restore", "stuck", "stuck-snap", "--confirm", "stuck-snap"]);
    expectError(r, 1, /snapshot stuck-snap failed and cannot be restored/, /hint: pick another/);
    await assertNoWritesHere(since);
  });

  it("a snapshot that is not ready yet → 7", async () => {
    await makeVm("slow", { annotations: { [SIM.snapshotDelay]: "30s" } });
    const made = await vmsnap(["create", "slow", "--name", "slow-snap", "--no-wait", "--yes"]);
    expectExit(made, 0);
    const since = new Date();
    const r = await vmsnap(["restore", "slow", "slow-snap", "--confirm", "slow-snap"]);
    expectError(r, 7, /snapshot slow-snap is not ready yet/);
    await assertNoWritesHere(since);
    const clone = await vmsnap(["clone", "slow-snap", "--to", "slow-copy", "--yes"]);
    expectError(clone, 7, /not ready/);
    await assertNoWritesHere(since);
  });

  it("a snapshot of another VM → 2", async () => {
    await makeVm("own-a");
    await makeVm("own-b");
    await makeSnapshot("own-a-snap", "own-a");
    const since = new Date();
    const r = await vmsnap(["restore", "own-b", "own-a-snap", "--confirm", "own-a-snap"]);
    expectError(r, 2, /snapshot own-a-snap belongs to VM own-a, not to own-b/, /vmsnap clone/);
    await assertNoWritesHere(since);
    assert.equal(await fingerprint("own-b-root"), "own-b-v1");
  });

  it("a restore of the VM already in progress → 7", async () => {
    await makeVm("busy");
    await makeSnapshot("busy-snap", "busy");
    await c.create(KubeVirt.restores, {
      apiVersion: "snapshot.kubevirt.io/v1beta1",
      kind: "VirtualMachineRestore",
      metadata: { name: "busy-pending", namespace: ns },
      spec: {
        target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "busy" },
        virtualMachineSnapshotName: "does-not-exist",
      },
    });
    // The controller has seen it and keeps it incomplete.
    await waitFor(
      c,
      KubeVirt.restores,
      "busy-pending",
      ns,
      (x) => (x.status?.conditions ?? []).length > 0 && x.status?.complete !== true,
    );
    const since = new Date();
    const r = await vmsnap(["restore", "busy", "busy-snap", "--confirm", "busy-snap"]);
    expectError(r, 7, /a restore of VM busy is already in progress \(busy-pending\b/);
    await assertNoWritesHere(since);
  });
});

describe("create refusals", () => {
  it("a missing VM → 4 (text and -o json)", async () => {
    const since = new Date();
    const r = await vmsnap(["create", "nope", "--yes"]);
    expectError(r, 4, /nope/);
    const j = await vmsnap(["-o", "json", "create", "nope", "--yes"]);
    expectJsonError(j, "NotFound", 4, /nope/);
    const chk = await vmsnap(["check", "nope"]);
    expectError(chk, 4, /nope/);
    await assertNoWritesHere(since);
  });

  it("the deadline passes on a stuck snapshot → 6, with the diagnosis", async () => {
    await makeVm("dl", { annotations: { [SIM.fail]: "stuck" } });
    const r = await vmsnap(["create", "dl", "--name", "dl-snap", "--yes", "--deadline", "2s"]);
    expectError(r, 6, /dl-snap/, /deadline/i);
    // The diagnosis names the cause, not only the symptom.
    assert.match(r.stderr, /did not complete within its failureDeadline \(2s\)/, show(r));
    const failed = await waitFor(
      c,
      KubeVirt.snapshots,
      "dl-snap",
      ns,
      (s) => s.status?.phase === "Failed",
    );
    assert.equal(failed.spec.failureDeadline, "2s");
    const d = await vmsnap(["-o", "json", "describe", "dl-snap"]);
    expectExit(d, 0);
    const snap = Snapshot.parse(json(d));
    assert.equal(snap.phase, "Failed");
    assert.ok(
      snap.diagnosis.some((l) => /failureDeadline/.test(l)),
      snap.diagnosis.join("\n"),
    );
  });

  it("forbidden for a read-only identity → 5, naming the verb and the resource", async () => {
    await makeVm("ro");
    const since = new Date();
    const r = await vmsnap(["create", "ro", "--yes"], { user: READER.name });
    expectError(r, 5, /forbidden/, /verb "create"/, /resource "virtualmachinesnapshots"/);
    const j = await vmsnap(["-o", "json", "create", "ro", "--yes"], { user: READER.name });
    const e = expectJsonError(j, "Forbidden", 5, /virtualmachinesnapshots/);
    assert.match(e.hint ?? "", /verb "create" on resource "virtualmachinesnapshots"/);
    await assertNoWritesHere(since, READER.name);
    assert.deepEqual(
      (await c.list(KubeVirt.snapshots, ns)).items.filter(
        (s) => (s.spec as Json).source?.name === "ro",
      ),
      [],
    );
    // Credentials never appear in messages.
    assert.doesNotMatch(r.stderr + j.stdout, /token/i);
  });

  // The same name for the same VM is a conflict too, stating its age (test/faults/races).
  it("a snapshot name that another VM's snapshot has → 7", async () => {
    await makeVm("cf");
    await makeVm("cf-other");
    await makeSnapshot("cf-snap", "cf-other");
    const before = await c.get(KubeVirt.snapshots, "cf-snap", ns);
    const since = new Date();
    const r = await vmsnap(["create", "cf", "--name", "cf-snap", "--yes"]);
    expectError(r, 7, /cf-snap/, /already exists and belongs to VM cf-other/);
    await assertNoWritesHere(since);
    const now = await c.get(KubeVirt.snapshots, "cf-snap", ns);
    assert.equal(now.metadata.uid, before.metadata.uid);
  });

  it("a VM whose disk has no VolumeSnapshotClass → 1 with the problem and the fix", async () => {
    await makeVm("nfs", { sc: STORAGE.noSnapshot });
    const since = new Date();
    const r = await vmsnap(["create", "nfs", "--yes"]);
    expectError(
      r,
      1,
      /cannot be snapshotted safely/,
      /VolumeSnapshotClass/,
      /nfs\.sim\.vmsnap\.io/,
      /fix: /,
      /hint: run `vmsnap check -n \S+ nfs`/,
    );
    const j = await vmsnap(["-o", "json", "create", "nfs", "--yes"]);
    expectJsonError(j, "PreflightBlocked", 1, /VolumeSnapshotClass/);
    const chk = await vmsnap(["check", "nfs", "-o", "json"]);
    expectExit(chk, 1);
    const pre = Preflight.parse(json(chk));
    assert.equal(pre.snapshottable, false);
    assert.ok(
      pre.problems.some((p) => /VolumeSnapshotClass/.test(p.message) && p.fix),
      JSON.stringify(pre.problems),
    );
    await assertNoWritesHere(since);
    assert.deepEqual(
      (await c.list(KubeVirt.snapshots, ns)).items.filter(
        (s) => (s.spec as Json).source?.name === "nfs",
      ),
      [],
    );
  });

  it("an unreachable cluster → 8 (text and -o json)", async () => {
    const kubeconfig = path.join(tmp, "unreachable.kubeconfig");
    await writeFile(kubeconfig, kubeconfigYaml("https://127.0.0.1:1", "default", true));
    const r = await runCli(["vms"], { kubeconfig });
    expectError(r, 8, /127\.0\.0\.1:1/, /hint: check the kubeconfig/);
    assert.doesNotMatch(r.stderr, /not-a-real-token/);
    const j = await runCli(["-o", "json", "vms"], { kubeconfig });
    expectJsonError(j, "Unreachable", 8, /127\.0\.0\.1:1/);
    assert.doesNotMatch(j.stdout, /not-a-real-token/);
  });
});
