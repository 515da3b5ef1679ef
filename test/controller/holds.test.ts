// VM Operator: the snapshot a VM runs on (status.currentSnapshot) is never deleted by retention,
// even when the rules would: after a revert to an older snapshot, keep-last 1 keeps both that
// one and the newest; once a new snapshot becomes current, the old one goes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import type { PolicyController } from "../../src/controller/controller.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { waitFor } from "../helpers/kube.js";
import {
  ManualClock,
  Vmsnap,
  assertOnlyOwnSnapshotsDeleted,
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

let c: KubeClient;
let ns: string;
let controller: PolicyController;
const start = nextMonday();
const hour = (h: number) => new Date(start.getTime() + h * 3_600_000);
const name = (h: number) => `app-hourly-${stamp(hour(h))}`;
const clock = new ManualClock(new Date(start.getTime() + 1_800_000));

before(async () => {
  c = await adminClient();
  ns = await newNamespace(c, "pol-hold");
  await makeVm(c, "vmoperator", ns, "app", { backup: "hourly" });
  await c.create(
    Vmsnap.snapshotPolicies,
    policyManifest(ns, "hourly", {
      selector: { matchLabels: { backup: "hourly" } },
      schedule: "0 * * * *",
      startingDeadlineSeconds: 600,
      retention: { keepLast: 2 },
    }),
  );
  controller = await startController(ns, clock);
  await settled(controller);
});

after(async () => {
  await controller?.stop();
  c?.close();
});

async function runAt(h: number): Promise<void> {
  clock.set(hour(h));
  await waitRun(c, controller, ns, "hourly", hour(h));
}

describe("policy controller: VM Operator's current snapshot is held", () => {
  it("keeps the snapshot the VM was reverted to, and lets it go once it is no longer current", async () => {
    const since = new Date();
    await runAt(1);
    await runAt(2);
    // Revert the VM to 01:00 (as `vmsnap restore` does on VM Operator): it becomes current.
    await c.patch(VmOp.vms, "app", ns, { spec: { currentSnapshotName: name(1) } });
    await waitFor(
      c,
      VmOp.vms,
      "app",
      ns,
      (v) => v.status?.currentSnapshot?.name === name(1) && !v.spec?.currentSnapshotName,
    );
    // keep-last 1 would delete 01:00; it is the VM's current snapshot, so it stays.
    await c.patch(Vmsnap.snapshotPolicies, "hourly", ns, { spec: { retention: { keepLast: 1 } } });
    await waitPolicy(c, ns, "hourly", (p) => p.status?.observedGeneration === 2);
    await settled(controller);
    assert.deepEqual(live((await c.list(VmOp.snapshots, ns)).items as never), [name(1), name(2)]);
    // The next snapshot becomes current: 01:00 and 02:00 go, 03:00 stays.
    await runAt(3);
    await waitSnapshots(
      c,
      VmOp.snapshots,
      ns,
      (s) => live(s).join() === name(3),
      "only 03:00 left",
    );
    const { deleted } = await assertOnlyOwnSnapshotsDeleted(ns, since, VmOp.snapshots.plural);
    assert.deepEqual(deleted.sort(), [name(1), name(2)]);
  });
});
