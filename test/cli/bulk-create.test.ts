// vmsnap create -l SELECTOR [-A]: every matching VM with one confirmation, per-VM results, a
// partial failure that keeps the successes visible (exit 1), usage errors (exit 2), an empty
// match, and the audit log showing exactly the snapshots the human confirmed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import {
  STORAGE,
  ensureSimStorage,
  pvcManifest,
  vmManifest,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { SnapshotBatch } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, type CliResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { waitFor, type Json } from "../helpers/kube.js";

let c: KubeClient;
let ns: string;
let ns2: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-bulk");
  ns2 = await newNamespace(c, "cli-bulk2");
});

after(() => c?.close());

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

interface VmSpec {
  run?: boolean;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  storageClassName?: string;
}

async function makeVm(namespace: string, name: string, o: VmSpec): Promise<Json> {
  await c.create(
    Core.pvcs,
    pvcManifest({
      name: `${name}-rootdisk`,
      namespace,
      data: `${name}-v1`,
      storageClassName: o.storageClassName,
    }),
  );
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace,
      runStrategy: o.run ? "Always" : "Halted",
      labels: o.labels,
      annotations: o.annotations,
      disks: [{ name: "rootdisk", claimName: `${name}-rootdisk` }],
    }),
  );
  return waitFor(
    c,
    KubeVirt.vms,
    name,
    namespace,
    (vm) => vm.status?.printableStatus === (o.run ? "Running" : "Stopped"),
  );
}

const created = (writes: { verb: string; objectRef?: { resource?: string; name?: string } }[]) =>
  writes.map((e) => `${e.verb} ${e.objectRef?.resource ?? "?"} ${e.objectRef?.name ?? ""}`).sort();

describe("vmsnap create -l SELECTOR", () => {
  it("usage errors exit 2 before any request", async () => {
    const since = new Date();
    const cases: [string[], RegExp][] = [
      [["create"], /needs a VM name or -l/],
      [["create", "web", "-l", "tier=web"], /either a VM name or -l/],
      [["create", "-A"], /-A needs -l/],
      [["create", "-l", "tier=web", "--parallel", "0"], /invalid --parallel/],
      [["create", "-l", "tier=web", "--name", "x"], /--name names one snapshot/],
      [["create", "-l", "tier=web;rm"], /invalid label selector/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(["-n", ns, ...args, "--yes"]);
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, message, show(r));
    }
    assert.deepEqual(await writesIn(ns, since), [], "a refusal writes nothing");
  });

  it("no matching VM: a clear message, exit 4, nothing written", async () => {
    const since = new Date();
    const r = await runCli(["-n", ns, "create", "-l", "tier=nothing-here", "--yes"]);
    assert.equal(r.code, 4, show(r));
    assert.match(
      r.stderr,
      new RegExp(`no VM matches the selector tier=nothing-here in namespace ${ns}`),
    );
    assert.match(r.stderr, /add -A/);
    assert.deepEqual(await writesIn(ns, since), [], "a refusal writes nothing");
  });

  it("one confirmation for all, a partial failure per VM (exit 1) with the successes listed", async () => {
    await makeVm(ns, "web-a", { labels: { tier: "web" } });
    await makeVm(ns, "web-b", {
      run: true,
      labels: { tier: "web" },
      annotations: { [SIM.guestAgent]: "true" },
    });
    await makeVm(ns, "web-nfs", { labels: { tier: "web" }, storageClassName: STORAGE.noSnapshot });
    await makeVm(ns, "web-vserr", {
      labels: { tier: "web" },
      annotations: { [SIM.fail]: "volume-snapshot" },
    });
    await makeVm(ns, "db-a", { labels: { tier: "db" } });

    // Without a TTY and without --yes: refused after the preview, nothing written.
    let since = new Date();
    const refused = await runCli(["-n", ns, "create", "-l", "tier=web"]);
    assert.equal(refused.code, 3, show(refused));
    assert.match(refused.stderr, /hint: run the command on a terminal/);
    assert.doesNotMatch(refused.stderr, /--yes/);
    assert.deepEqual(await writesIn(ns, since), [], "a refusal writes nothing");

    since = new Date();
    const r = await runCli(["-n", ns, "create", "-l", "tier=web", "--deadline", "5s", "--yes"]);
    assert.equal(r.code, 1, show(r));
    // One confirmation listing every VM, with the blocked one named as skipped.
    assert.equal(r.stderr.match(/^Create 3 snapshots of the VMs matching tier=web/gm)?.length, 1);
    for (const vm of ["web-a", "web-b", "web-vserr"])
      assert.match(r.stderr, new RegExp(`${ns}/${vm} → ${vm}-snapshot-\\d{8}-\\d{6}`));
    assert.match(r.stderr, /1 skipped[\s\S]*web-nfs: blocked: .*no VolumeSnapshotClass/);
    assert.doesNotMatch(r.stderr, /db-a/);

    // The per-VM table: the successes stay visible next to the failures.
    const row = (vm: string) => r.stdout.split("\n").find((l) => l.startsWith(`${vm} `)) ?? "";
    assert.match(row("web-a"), /web-a-snapshot-\d{8}-\d{6}\s+Ready\s+consistent/, show(r));
    assert.match(row("web-b"), /Ready\s+application-consistent/, show(r));
    assert.match(row("web-nfs"), /Skipped\s+.*blocked/, show(r));
    assert.match(row("web-vserr"), /Failed\s+/, show(r));
    assert.match(r.stdout, /4 VMs: 2 succeeded, 1 failed, 1 skipped/);

    const writes = created(await writesIn(ns, since));
    assert.equal(writes.length, 3, writes.join("\n"));
    assert.ok(
      writes.every((w) => /^create virtualmachinesnapshots web-(a|b|vserr)-snapshot-/.test(w)),
      writes.join("\n"),
    );
  });

  it("-A: every namespace, one watch per namespace, -o json SnapshotBatch (exit 0)", async () => {
    const label = `bulk-${ns}`;
    await makeVm(ns, "all-a", { labels: { batch: label } });
    await makeVm(ns2, "all-b", { labels: { batch: label } });
    await makeVm(ns2, "all-c", { labels: { batch: label } });

    // A tight client-side rate limit: every request waits for its token, and the run completes.
    const dry = await runCli(["create", "-l", `batch=${label}`, "-A", "--dry-run", "-o", "json"], {
      env: { VMSNAP_QPS: "20", VMSNAP_BURST: "1" },
    });
    assert.equal(dry.code, 0, show(dry));
    const planned = SnapshotBatch.parse(json(dry));
    assert.deepEqual(
      planned.items.map((i) => i.result),
      ["DryRun", "DryRun", "DryRun"],
    );

    const since = new Date();
    const r = await runCli(["create", "-l", `batch=${label}`, "-A", "--yes", "-o", "json"]);
    assert.equal(r.code, 0, show(r));
    const batch = SnapshotBatch.parse(json(r));
    assert.equal(batch.namespace, null);
    assert.deepEqual(
      batch.items.map((i) => [i.namespace, i.vm, i.result]),
      [
        [ns, "all-a", "Ready"],
        [ns2, "all-b", "Ready"],
        [ns2, "all-c", "Ready"],
      ],
    );
    assert.deepEqual(batch.summary, { total: 3, succeeded: 3, failed: 0, skipped: 0 });
    for (const i of batch.items) {
      const snap = (await c.get(KubeVirt.snapshots, i.snapshot, i.namespace)) as Json;
      assert.equal(snap.status?.readyToUse, true);
      assert.equal(snap.spec.source.name, i.vm);
    }
    const writes = [...(await writesIn(ns, since)), ...(await writesIn(ns2, since))];
    assert.equal(
      new Set(writes.filter((e) => e.objectRef?.namespace).map((e) => `${e.objectRef?.name}`)).size,
      3,
    );
  });
});
