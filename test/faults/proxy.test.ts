// Faults on the wire, injected by a proxy in front of the shared API server: 429 with
// Retry-After, a watch answered with 410 Gone, and connections cut before and after a request
// was processed. vmsnap retries only what is safe, waits as told, re-lists after a 410, and
// never creates a duplicate; data fingerprints show the snapshot holds the VM's data.
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
import { Snapshot } from "../../src/core/schema.js";
import { adminClient, newNamespace, testEnv } from "../helpers/env.js";
import { json, runCli, type CliResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { expectExit, makeVm, objectsOf, show, snapshotData } from "./fixtures.js";

let c: KubeClient;
let ns: string;
let proxy: FaultProxy;
let dir: string;
let kubeconfig: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "fault-wire");
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-fault-wire-"));
  proxy = await FaultProxy.start(testEnv());
  kubeconfig = await proxy.kubeconfig(VMSNAP_USER.name, dir, ns);
});

after(async () => {
  // For the closing note: every 429, 410 and cut connection the proxy injected in this file.
  process.stdout.write(`# fault proxy: ${proxy?.faults} faults injected (429/410/cut)\n`);
  await proxy?.close();
  c?.close();
  await rm(dir, { recursive: true, force: true });
});

/** vmsnap -v … through the proxy. */
function vmsnap(...args: string[]): Promise<CliResult> {
  return runCli(["-v", ...args], { kubeconfig });
}

const SNAPSHOTS = /\/virtualmachinesnapshots$/;

describe("429 Too Many Requests with Retry-After", () => {
  it("faults 1-4: a read, both creates (dry run and real) and a watch refused with 429 → waits 1 s each, retries, exit 0", async () => {
    // Volume snapshots take 2 s: the wait needs its watch (which gets a 429 too).
    await makeVm(c, ns, "busy", { annotations: { [SIM.snapshotDelay]: "2s" } });
    proxy.reset();
    proxy.inject({
      method: "GET",
      path: /\/virtualmachines\/busy$/,
      fault: { kind: "status", code: 429, retryAfter: 1 },
    });
    proxy.inject({
      method: "POST",
      path: SNAPSHOTS,
      times: 2,
      fault: { kind: "status", code: 429, retryAfter: 1 },
    });
    proxy.inject({
      method: "GET",
      path: SNAPSHOTS,
      watch: true,
      fault: { kind: "status", code: 429, retryAfter: 1 },
    });
    const before = proxy.faults;
    const since = new Date();
    const r = await vmsnap("create", "busy", "--name", "busy-snap", "--yes", "-o", "json");
    expectExit(r, 0);
    assert.equal(proxy.faults - before, 4, "four 429s were injected");
    const snap = Snapshot.parse(json(r));
    assert.equal(snap.readyToUse, true);
    // Each retry is reported with -v, with the server's Retry-After.
    const retries = r.stderr.split("\n").filter((l) => /^retrying /.test(l));
    assert.equal(retries.length, 4, show(r));
    assert.ok(
      retries.every((l) => /429 Too Many Requests, Retry-After 1s/.test(l)),
      show(r),
    );
    assert.match(r.stderr, /retrying POST \S+virtualmachinesnapshots in 1\.0s/, show(r));
    // vmsnap waited as told: each refused request was sent again only after Retry-After.
    for (const [method, p, watch] of [
      ["GET", /\/virtualmachines\/busy$/, false],
      ["POST", SNAPSHOTS, undefined],
      ["GET", SNAPSHOTS, true],
    ] as const) {
      const seen = proxy.matching(method, p, watch);
      const refused = seen.findIndex((x) => x.fault === "429");
      assert.ok(refused >= 0 && seen[refused + 1], `${method} ${p} was retried`);
      assert.ok(seen[refused + 1]!.at - seen[refused]!.at >= 950, "waited for Retry-After");
    }
    // The 429 was never processed: one snapshot, created once.
    const creates = (await writesIn(ns, since)).filter(
      (e) => e.verb === "create" && e.objectRef?.resource === "virtualmachinesnapshots",
    );
    assert.equal(creates.length, 1);
    assert.equal((await objectsOf(c, ns, KubeVirt.snapshots, "busy")).length, 1);
    assert.equal(await snapshotData(c, ns, "busy-snap"), "busy-v1");
  });

  it("fault 5: a Retry-After beyond the limit is not waited for → the 429 is reported", async () => {
    await makeVm(c, ns, "slowdown");
    proxy.reset();
    proxy.inject({
      method: "GET",
      path: /\/virtualmachines\/slowdown$/,
      fault: { kind: "status", code: 429, retryAfter: 3600 },
    });
    const r = await vmsnap("create", "slowdown", "--name", "slowdown-snap", "--yes");
    expectExit(r, 1, /HTTP 429/);
    assert.equal((await objectsOf(c, ns, KubeVirt.snapshots, "slowdown")).length, 0);
  });
});

describe("a watch that expires (410 Gone)", () => {
  it("fault 6: the wait re-lists and finishes; the snapshot is ready with the VM's data", async () => {
    await makeVm(c, ns, "expiry", { annotations: { [SIM.snapshotDelay]: "2s" } });
    proxy.reset();
    proxy.inject({ method: "GET", path: SNAPSHOTS, watch: true, fault: { kind: "gone" } });
    const r = await vmsnap("create", "expiry", "--name", "expiry-snap", "--yes", "-o", "json");
    expectExit(r, 0);
    assert.equal(Snapshot.parse(json(r)).readyToUse, true);
    // After the 410: a fresh list (no watch), then a new watch from its resourceVersion.
    const seq = proxy.matching("GET", SNAPSHOTS);
    const gone = seq.findIndex((x) => x.fault === "gone");
    assert.ok(gone >= 0, "the 410 was injected");
    assert.equal(seq[gone + 1]?.watch, false, "re-list after 410");
    assert.equal(seq[gone + 2]?.watch, true, "watch again");
    assert.equal(await snapshotData(c, ns, "expiry-snap"), "expiry-v1");
  });
});

describe("connections cut", () => {
  it("fault 7: a read cut before it reached the server is retried → exit 0", async () => {
    await makeVm(c, ns, "blip");
    proxy.reset();
    proxy.inject({
      method: "GET",
      path: /\/virtualmachines\/blip$/,
      fault: { kind: "cut-before" },
    });
    const r = await vmsnap("create", "blip", "--name", "blip-snap", "--yes");
    expectExit(r, 0, /retrying GET \S+\/virtualmachines\/blip/);
    assert.equal(await snapshotData(c, ns, "blip-snap"), "blip-v1");
  });

  it("fault 8: the create processed but its answer lost → read back, no duplicate, exit 0", async () => {
    await makeVm(c, ns, "lost");
    proxy.reset();
    proxy.inject({ method: "POST", path: SNAPSHOTS, dryRun: false, fault: { kind: "cut-after" } });
    const since = new Date();
    const r = await vmsnap("create", "lost", "--name", "lost-snap", "--yes", "-o", "json");
    expectExit(r, 0, /the answer to creating snapshot lost-snap was lost; reading it back/);
    const snap = Snapshot.parse(json(r));
    assert.equal(snap.readyToUse, true);
    const creates = (await writesIn(ns, since)).filter(
      (e) => e.verb === "create" && e.objectRef?.resource === "virtualmachinesnapshots",
    );
    assert.equal(creates.length, 1, "created once, never sent again");
    assert.equal((await objectsOf(c, ns, KubeVirt.snapshots, "lost")).length, 1);
    assert.equal(await snapshotData(c, ns, "lost-snap"), "lost-v1");
  });

  it("fault 9: a create cut before it reached the server → read back, created once, exit 0", async () => {
    await makeVm(c, ns, "unsent");
    proxy.reset();
    proxy.inject({ method: "POST", path: SNAPSHOTS, dryRun: false, fault: { kind: "cut-before" } });
    const since = new Date();
    const r = await vmsnap("create", "unsent", "--name", "unsent-snap", "--yes");
    expectExit(r, 0, /reading it back/);
    const creates = (await writesIn(ns, since)).filter(
      (e) => e.verb === "create" && e.objectRef?.resource === "virtualmachinesnapshots",
    );
    assert.equal(creates.length, 1);
    assert.equal(await snapshotData(c, ns, "unsent-snap"), "unsent-v1");
  });
});
