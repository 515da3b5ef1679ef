// Two replicas of the policy controller on one Lease, as deploy/controller/'s identity: the
// second stays idle (no watch but the Lease's, no write at all) while the leader renews; when the
// leader crashes (stops without releasing) it takes over only after the Lease has lapsed, and
// then runs the schedule; a leader that stops gracefully releases the Lease and a standby takes
// over at once. The API server's audit log tells the replicas apart by their User-Agent.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import type { PolicyController } from "../../src/controller/controller.js";
import { CONTROLLER, CONTROLLER_NAMESPACE } from "../../src/playground/identities.js";
import type { AuditEvent } from "../../src/playground/audit.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { requestsSince } from "../helpers/audit.js";
import { waitFor, type Json } from "../helpers/kube.js";
import {
  ManualClock,
  Vmsnap,
  iso,
  live,
  makeVm,
  nextMonday,
  policyManifest,
  settled,
  stamp,
  startController,
  waitPolicy,
  waitRun,
  waitSnapshots,
} from "./fixtures.js";

const LEASE_MS = 3_000;
const RETRY_MS = 500;

let c: KubeClient;
let ns: string;
let clock: ManualClock;
const replicas: PolicyController[] = [];
const start = nextMonday();
const hour = (h: number) => new Date(start.getTime() + h * 3_600_000);

before(async () => {
  c = await adminClient();
  ns = await newNamespace(c, "pol-leader");
  await makeVm(c, "kubevirt", ns, "web", { backup: "hourly" });
  await c.create(
    Vmsnap.snapshotPolicies,
    policyManifest(ns, "hourly", {
      selector: { matchLabels: { backup: "hourly" } },
      schedule: "0 * * * *",
      startingDeadlineSeconds: 600,
      retention: { keepLast: 10 },
    }),
  );
  // 00:30: the 00:00 time is past its starting deadline; the first run is at 01:00.
  clock = new ManualClock(new Date(start.getTime() + 1_800_000));
});

after(async () => {
  for (const r of replicas) await r.halt().catch(() => {});
  c?.close();
});

const agent = (e: AuditEvent) => (e as AuditEvent & { userAgent?: string }).userAgent ?? "";
const by = (events: AuditEvent[], identity: string) =>
  events.filter((e) => agent(e).startsWith(`vmsnap-controller/${identity}`));
const describeEvent = (e: AuditEvent) =>
  `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""} ${e.objectRef?.namespace ?? ""}/${e.objectRef?.name ?? ""}`;

async function becomesLeader(r: PolicyController, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!r.isLeader) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${r.identity} did not become the leader`);
    await new Promise((res) => setTimeout(res, 25));
  }
  return Date.now();
}

describe("policy controller: leader election on a Lease", () => {
  it("a second replica stays idle while the leader renews, and takes over only after the Lease lapses", async () => {
    const since = new Date();
    const a = await startController(ns, clock, { identity: "replica-a", leaseName: `test-${ns}` });
    replicas.push(a);
    await settled(a);
    const b = await startController(ns, clock, { identity: "replica-b", leaseName: `test-${ns}` });
    replicas.push(b);

    // The leader takes the 01:00 snapshot; the standby does nothing for several lease durations.
    clock.set(hour(1));
    await waitRun(c, a, ns, "hourly", hour(1));
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    assert.equal(a.isLeader, true);
    assert.equal(b.isLeader, false);
    const lease = (await c.get(Vmsnap.leases, `test-${ns}`, CONTROLLER_NAMESPACE)) as Json;
    assert.equal(lease.spec.holderIdentity, "replica-a");
    assert.equal(lease.spec.leaseDurationSeconds, LEASE_MS / 1000);

    const whileLeading = await requestsSince(since, CONTROLLER.name);
    const standby = by(whileLeading, "replica-b");
    assert.ok(standby.length > 0, "the standby is seen in the audit log");
    assert.deepEqual(
      standby.filter((e) => e.objectRef?.resource !== "leases").map(describeEvent),
      [],
      "the standby touches nothing but the Lease",
    );
    assert.deepEqual(
      standby.filter((e) => !["get", "list", "watch"].includes(e.verb)).map(describeEvent),
      [],
      "the standby writes nothing, not even to the Lease",
    );
    // The standby watches the Lease rather than polling it: a handful of requests in 6+ s.
    assert.ok(standby.length <= 6, `standby requests: ${standby.map(describeEvent).join(", ")}`);
    assert.ok(
      by(whileLeading, "replica-a").some(
        (e) =>
          e.verb === "create" &&
          e.objectRef?.resource === "virtualmachinesnapshots" &&
          !/dryRun=All/.test(e.requestURI),
      ),
      "the leader took the snapshot",
    );

    // The leader crashes: it stops renewing without releasing the Lease (a renewal already on
    // its way completes, as it would on the wire).
    await a.halt();
    const crashed = Date.now();
    const lastRenew = Date.parse(
      ((await c.get(Vmsnap.leases, `test-${ns}`, CONTROLLER_NAMESPACE)) as Json).spec.renewTime,
    );
    const took = await becomesLeader(b, 3 * LEASE_MS);
    assert.ok(
      took - lastRenew >= LEASE_MS - 100,
      `took over ${took - lastRenew} ms after the last renewal (lease ${LEASE_MS} ms)`,
    );
    assert.ok(
      took - crashed <= LEASE_MS + 4 * RETRY_MS,
      `took over ${took - crashed} ms after the crash`,
    );
    await settled(b);

    // The new leader runs the schedule.
    clock.set(hour(2));
    await waitPolicy(c, ns, "hourly", (p) => p.status?.lastScheduleTime === iso(hour(2)));
    const snaps = await waitSnapshots(
      c,
      KubeVirt.snapshots,
      ns,
      (s) => live(s).length === 2,
      "two snapshots",
    );
    assert.deepEqual(live(snaps), [`web-hourly-${stamp(hour(1))}`, `web-hourly-${stamp(hour(2))}`]);
    const after = await requestsSince(new Date(crashed), CONTROLLER.name);
    assert.deepEqual(
      by(after, "replica-a")
        .filter((e) => e.verb !== "watch")
        .map(describeEvent),
      [],
      "the crashed replica sends nothing",
    );
    assert.ok(
      by(after, "replica-b").some(
        (e) =>
          e.verb === "create" &&
          e.objectRef?.resource === "virtualmachinesnapshots" &&
          !/dryRun=All/.test(e.requestURI),
      ),
      "the new leader took the 02:00 snapshot",
    );
  });

  it("a leader that stops gracefully releases the Lease: a standby takes over at once", async () => {
    const b = replicas[1]!;
    const cReplica = await startController(ns, clock, {
      identity: "replica-c",
      leaseName: `test-${ns}`,
    });
    replicas.push(cReplica);
    await new Promise((r) => setTimeout(r, RETRY_MS * 2));
    assert.equal(cReplica.isLeader, false);
    const stopped = Date.now();
    await b.stop();
    const took = await becomesLeader(cReplica, 3 * LEASE_MS);
    assert.ok(took - stopped < LEASE_MS, `took over ${took - stopped} ms after the release`);
    const lease = await waitFor(
      c,
      Vmsnap.leases,
      `test-${ns}`,
      CONTROLLER_NAMESPACE,
      (l) => l.spec?.holderIdentity === "replica-c",
    );
    assert.ok(lease.spec.leaseTransitions >= 2);
    await settled(cReplica);
    await cReplica.stop();
  });
});
