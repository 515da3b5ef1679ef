// The policy controller end to end, on each platform, against the real API server and the
// simulated platforms, as deploy/controller/'s identity, with a clock the test moves: a daily
// schedule creates each VM's snapshot exactly at its time (not a millisecond earlier), a time
// missed by more than the starting deadline is skipped and reported, and after three simulated
// weeks retention has kept exactly the expected snapshots — never one it did not make, one a
// restore is using, or a safety snapshot younger than the policy allows. The audit log proves
// that the controller deleted nothing but snapshots it had made.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt, apiVersionOf } from "../../src/kube/resources.js";
import type { PolicyController } from "../../src/controller/controller.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import type { Json } from "../helpers/kube.js";
import {
  DAY,
  ManualClock,
  SNAPSHOTS,
  Vmsnap,
  assertOnlyOwnSnapshotsDeleted,
  condition,
  iso,
  isReady,
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
  type PlatformName,
} from "./fixtures.js";

let c: KubeClient;
before(async () => {
  c = await adminClient();
});
after(() => c?.close());

/** Snapshots of the policy (by its label), live, per VM. */
function byVm(snaps: Json[], policy = "nightly"): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of snaps)
    if (!s.metadata.deletionTimestamp && s.metadata.labels?.["vmsnap.io/policy"] === policy) {
      const vm = s.metadata.name.replace(/-nightly-\d{8}-\d{6}$/, "");
      (out[vm] ??= []).push(s.metadata.name);
    }
  for (const v of Object.values(out)) v.sort();
  return out;
}

for (const platform of ["kubevirt", "deckhouse", "vmoperator"] as PlatformName[]) {
  describe(`policy controller on ${platform}: schedule and three weeks of retention`, () => {
    const type = SNAPSHOTS[platform];
    const start = nextMonday();
    const slot = (day: number) => new Date(start.getTime() + day * DAY + 2 * 3_600_000);
    const nameOf = (vm: string, day: number) => `${vm}-nightly-${stamp(slot(day))}`;
    let ns: string;
    let clock: ManualClock;
    let controller: PolicyController;
    let since: Date;

    before(async () => {
      ns = await newNamespace(c, `pol-${platform.slice(0, 4)}`);
      await Promise.all([
        makeVm(c, platform, ns, "web", { backup: "nightly" }),
        makeVm(c, platform, ns, "db", { backup: "nightly" }),
        makeVm(c, platform, ns, "other", { backup: "never" }),
      ]);
      since = new Date();
      clock = new ManualClock(start);
      await c.create(
        Vmsnap.snapshotPolicies,
        policyManifest(ns, "nightly", {
          selector: { matchLabels: { backup: "nightly" } },
          schedule: "0 2 * * *",
          timeZone: "UTC",
          startingDeadlineSeconds: 3600,
          retention: {
            keepLast: 1,
            daily: 3,
            weekly: 3,
            ...(platform === "kubevirt" ? { safetySnapshotMaxAge: "7d" } : {}),
          },
        }),
      );
      controller = await startController(ns, clock);
    });

    after(async () => {
      await controller?.stop();
    });

    it("skips the time missed before it started (starting deadline) and waits for the first one", async () => {
      await settled(controller);
      const p = await waitPolicy(
        c,
        ns,
        "nightly",
        (x) => x.status?.nextScheduleTime === iso(slot(0)),
      );
      // Sunday 02:00 came after the policy's creation but 22 h before the clock started.
      assert.equal(p.status.lastMissedTime, iso(new Date(start.getTime() - DAY + 2 * 3_600_000)));
      assert.equal(p.status.lastScheduleTime, undefined);
      assert.equal(condition(p, "Scheduled")?.status, "True");
      clock.set(new Date(slot(0).getTime() - 1));
      await settled(controller);
      assert.deepEqual(live((await c.list(type, ns)).items as Json[]), [], "nothing before 02:00");
    });

    it("takes each selected VM's snapshot at 02:00, marked with the policy and the time", async () => {
      clock.set(slot(0));
      const p = await waitPolicy(
        c,
        ns,
        "nightly",
        (x) =>
          x.status?.lastScheduleTime === iso(slot(0)) &&
          condition(x, "SnapshotsReady")?.status === "True",
      );
      assert.deepEqual(
        p.status.vms.map((v: Json) => [v.name, v.platform, v.lastSnapshot, v.result]),
        [
          ["db", platform, nameOf("db", 0), "Ready"],
          ["web", platform, nameOf("web", 0), "Ready"],
        ],
      );
      assert.equal(p.status.nextScheduleTime, iso(slot(1)));
      assert.equal(p.status.lastSuccessfulTime, iso(slot(0)));
      const snaps = (await c.list(type, ns)).items as Json[];
      assert.deepEqual(
        live(snaps),
        [nameOf("db", 0), nameOf("web", 0)],
        "the unselected VM has none",
      );
      for (const s of snaps) {
        assert.equal(s.metadata.labels["vmsnap.io/policy"], "nightly");
        assert.equal(s.metadata.annotations["vmsnap.io/scheduled-time"], iso(slot(0)));
        assert.ok(isReady(platform, s));
      }
    });

    it("after three weeks keeps exactly keep-last 1, daily 3 and weekly 3 of each VM — and nothing it did not make", async () => {
      const extra: string[] = [];
      const safetyOld = `web-pre-restore-${stamp(new Date(slot(1).getTime() + 1_800_000))}`;
      const safetyNew = `web-pre-restore-${stamp(new Date(slot(20).getTime() + 36_000_000))}`;
      if (platform === "kubevirt") {
        // Not the policy's: a manual snapshot, another policy's, and two safety snapshots of
        // restores (the policy expires those older than 7 days).
        const snap = (name: string, labels: Record<string, string> = {}) =>
          c.create(KubeVirt.snapshots, {
            apiVersion: apiVersionOf(KubeVirt.snapshots),
            kind: "VirtualMachineSnapshot",
            metadata: { name, namespace: ns, labels },
            spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "web" } },
          });
        await snap("web-manual");
        await snap("web-weekly-20200106-020000", { "vmsnap.io/policy": "weekly" });
        await snap(safetyOld);
        await snap(safetyNew);
        extra.push("web-manual", "web-weekly-20200106-020000", safetyNew);
        await waitSnapshots(
          c,
          type,
          ns,
          (s) => s.filter((x) => isReady(platform, x)).length >= 6,
          "extra snapshots ready",
        );
      }
      for (let day = 1; day <= 21; day++) {
        clock.set(slot(day));
        await waitRun(c, controller, ns, "nightly", slot(day));
        if (day === 3 && platform === "kubevirt") {
          // A restore of the running VM that waits for it to stop: it holds day 2's snapshot.
          await c.create(KubeVirt.restores, {
            apiVersion: apiVersionOf(KubeVirt.restores),
            kind: "VirtualMachineRestore",
            metadata: { name: "web-restore-held", namespace: ns },
            spec: {
              target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "web" },
              virtualMachineSnapshotName: nameOf("web", 2),
              targetReadinessPolicy: "WaitEventually",
            },
          });
        }
      }
      // Days 21, 20, 19 (daily), weeks 3, 2, 1 → days 21, 20, 13 (weekly), day 21 (keep-last).
      const kept = (vm: string) => [13, 19, 20, 21].map((d) => nameOf(vm, d));
      const expected = {
        db: kept("db"),
        web: [...(platform === "kubevirt" ? [nameOf("web", 2)] : []), ...kept("web")].sort(),
      };
      const snaps = await waitSnapshots(
        c,
        type,
        ns,
        (s) => JSON.stringify(byVm(s)) === JSON.stringify(expected),
        "the expected set",
      );
      const p = await waitPolicy(
        c,
        ns,
        "nightly",
        (x) => x.status?.snapshotsKept === (platform === "kubevirt" ? 9 : 8),
      );
      assert.equal(condition(p, "RetentionApplied")?.status, "True");
      for (const name of extra) assert.ok(live(snaps).includes(name), `${name} is kept`);
      if (platform === "kubevirt") {
        assert.ok(
          !live(snaps).includes(safetyOld),
          "the safety snapshot older than 7 days is gone",
        );
        // Once the restore is gone, its snapshot is no longer held.
        await c.delete(KubeVirt.restores, "web-restore-held", ns);
        await waitSnapshots(
          c,
          type,
          ns,
          (s) => byVm(s).web?.join() === kept("web").join(),
          "day 2 deleted after the restore",
        );
      }
      const { deleted } = await assertOnlyOwnSnapshotsDeleted(
        ns,
        since,
        type.plural,
        platform === "kubevirt" ? [safetyOld] : [],
      );
      // 22 runs × 2 VMs, minus the 8 kept, were deleted (and the old safety snapshot).
      assert.equal(deleted.length, 44 - 8 + (platform === "kubevirt" ? 1 : 0));
    });
  });
}
