// `vmsnap controller` as a process (the built CLI), as deploy/controller/'s identity: it takes its
// Lease, serves /healthz, /readyz and /metrics, reports a policy it cannot act on in its status
// and in an Event, reports a suspended one and one whose selector matches nothing, and on
// SIGTERM releases its Lease and exits 0. Bad flags exit 2 before anything is sent.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import type { KubeClient } from "../../src/kube/client.js";
import { Core } from "../../src/kube/resources.js";
import { CONTROLLER, CONTROLLER_NAMESPACE } from "../../src/playground/identities.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { CLI, runCli } from "../helpers/cli.js";
import { waitFor, type Json } from "../helpers/kube.js";
import { Vmsnap, condition, makeVm, policyManifest, waitPolicy } from "./fixtures.js";

let c: KubeClient;
let ns: string;
let proc: ChildProcess | undefined;
let stderr = "";

before(async () => {
  c = await adminClient();
  ns = await newNamespace(c, "pol-proc");
});

after(() => {
  proc?.kill("SIGKILL");
  c?.close();
});

function waitOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(stderr);
      if (m) {
        clearTimeout(timer);
        proc!.stderr!.off("data", check);
        resolve(m);
      }
    };
    const timer = setTimeout(
      () => reject(new Error(`no ${pattern} in the controller's output:\n${stderr}`)),
      timeoutMs,
    );
    proc!.stderr!.on("data", check);
    check();
  });
}

describe("vmsnap controller (process)", () => {
  it("refuses bad flags with exit 2, before anything is sent", async () => {
    const r = await runCli(["controller", "--lease-duration", "1s", "--renew-deadline", "2s"], {
      user: CONTROLLER.name,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--lease-duration > --renew-deadline > --retry-period/);
    const bad = await runCli(["controller", "--watch-namespace", "Not_Valid"], {
      user: CONTROLLER.name,
    });
    assert.equal(bad.code, 2, bad.stderr);
  });

  it("leads, serves its health and metrics, reports policies, and releases its Lease on SIGTERM", async () => {
    proc = spawn(
      process.execPath,
      [
        CLI,
        "controller",
        "--listen",
        "127.0.0.1:0",
        "--watch-namespace",
        ns,
        "--lease-namespace",
        CONTROLLER_NAMESPACE,
        "--lease-name",
        `test-${ns}`,
        "--identity",
        "proc-replica",
        "--lease-duration",
        "3s",
        "--renew-deadline",
        "2s",
        "--retry-period",
        "500ms",
      ],
      {
        env: { ...process.env, KUBECONFIG: kubeconfigOf(CONTROLLER.name) },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const [, url] = await waitOutput(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);
    await waitOutput(/became the leader/);
    // /readyz is 200 once the leader's caches are synced (a failed start of the watches is retried).
    await waitOutput(/caches synced/);
    const lease = await waitFor(
      c,
      Vmsnap.leases,
      `test-${ns}`,
      CONTROLLER_NAMESPACE,
      (l) => l.spec?.holderIdentity === "proc-replica",
    );
    assert.equal(lease.spec.leaseDurationSeconds, 3);

    assert.equal((await fetch(`${url}/healthz`)).status, 200, stderr);
    assert.equal((await fetch(`${url}/readyz`)).status, 200, stderr);
    assert.equal((await fetch(`${url}/nope`)).status, 404);

    await makeVm(c, "kubevirt", ns, "web", { tier: "web" });
    await c.create(
      Vmsnap.snapshotPolicies,
      policyManifest(ns, "yearly", {
        selector: { matchLabels: { tier: "web" } },
        schedule: "@yearly",
      }),
    );
    await c.create(
      Vmsnap.snapshotPolicies,
      policyManifest(ns, "broken", {
        selector: { matchLabels: { tier: "web" } },
        schedule: "0 2 * * *",
        timeZone: "Mars/Olympus_Mons",
      }),
    );
    await c.create(
      Vmsnap.snapshotPolicies,
      policyManifest(ns, "paused", {
        selector: { matchLabels: { tier: "web" } },
        schedule: "* * * * *",
        suspend: true,
      }),
    );
    await c.create(
      Vmsnap.snapshotPolicies,
      policyManifest(ns, "nobody", {
        selector: { matchLabels: { tier: "none" } },
        schedule: "* * * * *",
      }),
    );

    const yearly = await waitPolicy(c, ns, "yearly", (p) => Boolean(p.status?.nextScheduleTime));
    assert.match(yearly.status.nextScheduleTime, /-01-01T00:00:00Z$/);
    assert.equal(condition(yearly, "Ready")?.status, "True");
    assert.equal(condition(yearly, "SnapshotsReady")?.reason, "NotRunYet");

    const broken = await waitPolicy(
      c,
      ns,
      "broken",
      (p) => condition(p, "Ready")?.reason === "InvalidSpec",
    );
    assert.match(condition(broken, "Ready")!.message, /unknown time zone "Mars\/Olympus_Mons"/);
    assert.equal(broken.status.nextScheduleTime, undefined);

    const paused = await waitPolicy(
      c,
      ns,
      "paused",
      (p) => condition(p, "Scheduled")?.reason === "Suspended",
    );
    assert.equal(paused.status.nextScheduleTime, undefined);

    // A real minute passes for this one: its selector matches no VM.
    const nobody = await waitPolicy(
      c,
      ns,
      "nobody",
      (p) => condition(p, "SnapshotsReady")?.reason === "NoMatchingVMs",
      90_000,
    );
    assert.equal(condition(nobody, "Ready")?.status, "False");

    const events = (await c.list(Core.events, ns)).items as Json[];
    const reasons = (policy: string) =>
      events.filter((e) => e.involvedObject?.name === policy).map((e) => `${e.type}/${e.reason}`);
    assert.ok(reasons("broken").includes("Warning/InvalidSpec"), JSON.stringify(reasons("broken")));
    assert.ok(
      reasons("nobody").includes("Warning/NoMatchingVMs"),
      JSON.stringify(reasons("nobody")),
    );
    for (const e of events.filter((x) => x.reason === "InvalidSpec")) {
      assert.equal(e.source.component, "vmsnap-controller");
      assert.equal(e.involvedObject.kind, "SnapshotPolicy");
    }

    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^vmsnap_controller_leader 1$/m);
    assert.match(
      metrics,
      new RegExp(
        `^vmsnap_policy_next_schedule_timestamp_seconds\\{namespace="${ns}",policy="yearly"\\} \\d+`,
        "m",
      ),
    );
    assert.match(
      metrics,
      new RegExp(
        `^vmsnap_policy_runs_total\\{namespace="${ns}",policy="nobody",result="no_vms"\\} [1-9]`,
        "m",
      ),
    );
    assert.match(metrics, /^process_resident_memory_bytes \d+/m);
    assert.match(metrics, /^vmsnap_controller_reconcile_duration_seconds_count \d+/m);

    const exited = new Promise<number | null>((resolve) => proc!.once("exit", resolve));
    proc.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
    proc = undefined;
    const released = (await c.get(Vmsnap.leases, `test-${ns}`, CONTROLLER_NAMESPACE)) as Json;
    assert.equal(released.spec.holderIdentity, "");
    assert.equal(released.spec.leaseDurationSeconds, 1);
  });
});
