// delete, clone, disk snapshot and disk restore against a fake platform; and the rule every
// operation shares: no write without the consent made for its plan.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { phrase } from "../../src/core/advice.js";
import { verifyConfirmation, type ConfirmationAnswer } from "../../src/core/confirmation.js";
import { cliWords, mcpWords } from "../../src/report/words.js";
import { planCreateMany } from "../../src/workflows/bulk-create.js";
import { planClone } from "../../src/workflows/clone.js";
import { planCreate } from "../../src/workflows/create.js";
import { planDelete } from "../../src/workflows/delete.js";
import { planDiskRestore, planDiskSnapshot } from "../../src/workflows/disk.js";
import { execute, type Plan } from "../../src/workflows/execute.js";
import { planRestore } from "../../src/workflows/restore.js";
import type { Session } from "../../src/workflows/session.js";
import { errorOf, fakeSession, putDiskSnapshot } from "../helpers/fake-platform.js";

const typed = (name: string): ConfirmationAnswer => ({ confirmed: true, typedName: name });

describe("delete", () => {
  it("plans with a dry run, warns when it is the only usable snapshot, deletes on the typed name", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "db" }], snapshots: { only: "db" } });
    const plan = await planDelete(session, { snapshot: "only" });
    assert.deepEqual(kube.writes(), []);
    assert.ok(kube.requests.some((r) => r.verb === "delete" && r.dryRun));
    assert.equal(plan.confirmation?.kind, "typed-name");
    assert.equal(plan.planned.wasOnlySnapshot, true);
    assert.match(plan.preview, /warning: this is the only usable snapshot of VM db/);
    assert.deepEqual(plan.lost, [
      "this is the only usable snapshot of VM db: after deleting it, the VM cannot be restored",
    ]);
    assert.throws(() => verifyConfirmation(plan.confirmation!, typed("ONLY")), /does not match/);
    const d = await execute(session, plan, verifyConfirmation(plan.confirmation!, typed("only")));
    assert.equal(d.phase, "Deleted");
    assert.deepEqual(kube.writes(), ["delete virtualmachinesnapshots only"]);
  });

  it("a missing snapshot: NotFound, advising the list in each face's words", async () => {
    const { session } = fakeSession({ vms: [{ name: "db" }] });
    const e = await errorOf(planDelete(session, { snapshot: "nope" }));
    assert.equal(e.code, "NotFound");
    assert.equal(phrase(e.advice!, cliWords), "list the snapshots with `vmsnap list -n unit`");
    assert.equal(
      phrase(e.advice!, mcpWords),
      'list the snapshots with vm_snapshot_list with namespace "unit"',
    );
  });
});

describe("clone", () => {
  it("a ready snapshot into a free name: dry run, yes/no, create", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "db" }], snapshots: { snap: "db" } });
    const plan = await planClone(session, { snapshot: "snap", target: "db-copy" });
    assert.equal(plan.operation, "clone");
    assert.match(plan.preview, /new VM unit\/db-copy from snapshot snap of VM db\nfake clone note/);
    assert.deepEqual(kube.writes(), []);
    const c = await execute(
      session,
      plan,
      verifyConfirmation(plan.confirmation!, { confirmed: true }),
    );
    assert.equal(c.phase, "Succeeded");
    assert.equal(c.cloneName, "db-copy-clone-20261124-020034");
    assert.deepEqual(kube.writes(), ["create virtualmachineclones db-copy-clone-20261124-020034"]);
  });

  it("refuses a taken target name, a failed or unready snapshot", async () => {
    const { session, kube } = fakeSession({
      vms: [{ name: "db" }, { name: "web" }],
      snapshots: { snap: "db", bad: "db", wip: "db" },
      failed: ["bad"],
      notReady: ["wip"],
    });
    const taken = await errorOf(planClone(session, { snapshot: "snap", target: "web" }));
    assert.equal(taken.code, "Conflict");
    assert.equal(
      phrase(taken.advice!, mcpWords),
      "choose another name for the new VM (the argument target)",
    );
    assert.equal(phrase(taken.advice!, cliWords), "choose another name for the new VM (--to)");
    assert.equal(
      (await errorOf(planClone(session, { snapshot: "bad", target: "x" }))).code,
      "OperationFailed",
    );
    assert.equal(
      (await errorOf(planClone(session, { snapshot: "wip", target: "x" }))).code,
      "Conflict",
    );
    assert.deepEqual(kube.writes(), []);
  });
});

describe("disks", () => {
  it("a disk snapshot: planned, created on the yes", async () => {
    const { session, kube } = fakeSession({ disks: { data: "10Gi" } });
    const plan = await planDiskSnapshot(session, { disk: "data", name: "data-snap" });
    assert.equal(plan.planned.disk, "data");
    assert.deepEqual(kube.writes(), []);
    const s = await execute(
      session,
      plan,
      verifyConfirmation(plan.confirmation!, { confirmed: true }),
    );
    assert.equal(s.readyToUse, true);
    assert.deepEqual(kube.writes(), ["create virtualdisksnapshots data-snap"]);
  });

  it("a disk restore: a new disk at least as large as the original; clone of a disk snapshot is one", async () => {
    const { session, kube } = fakeSession({ disks: { data: "10Gi" } });
    putDiskSnapshot(kube, "data-snap", "data");
    const small = await errorOf(
      planDiskRestore(session, { snapshot: "data-snap", target: "d2", size: "1Gi" }),
    );
    assert.equal(small.code, "InvalidInput");
    assert.doesNotMatch(small.message, /--/);
    const viaClone = await planClone(session, { snapshot: "data-snap", target: "d2" });
    assert.equal(viaClone.operation, "restore-disk");
    const c = await execute(
      session,
      viaClone,
      verifyConfirmation(viaClone.confirmation!, { confirmed: true }),
    );
    assert.equal(c.targetKind, "VirtualDisk");
    assert.deepEqual(kube.writes(), ["create virtualdisks d2"]);
  });

  it("no platform with disk snapshots: InvalidInput, advising a VM snapshot", async () => {
    const { session } = fakeSession({ vms: [{ name: "db" }] });
    const e = await errorOf(planDiskSnapshot(session, { disk: "data" }));
    assert.equal(e.code, "InvalidInput");
    assert.equal(phrase(e.advice!, cliWords), "snapshot the whole VM: `vmsnap create -n unit VM`");
  });
});

describe("every operation: no write without the consent made for its plan", () => {
  const plans: [string, (s: Session) => Promise<Plan>][] = [
    ["create", (s) => planCreate(s, { vm: "db", name: "n1" })],
    ["create-many", (s) => planCreateMany(s, { selector: "a=b" })],
    ["create-disk", (s) => planDiskSnapshot(s, { disk: "data", name: "n2" })],
    ["restore", (s) => planRestore(s, { vm: "db", snapshot: "snap" })],
    ["restore-disk", (s) => planDiskRestore(s, { snapshot: "dsnap", target: "d2" })],
    ["clone", (s) => planClone(s, { snapshot: "snap", target: "copy" })],
    ["delete", (s) => planDelete(s, { snapshot: "snap" })],
  ];
  for (const [operation, plan] of plans)
    it(`${operation}: without a consent, or with another plan's, nothing is written`, async () => {
      const { session, kube } = fakeSession({
        vms: [{ name: "db" }],
        snapshots: { snap: "db" },
        disks: { data: "10Gi" },
      });
      putDiskSnapshot(kube, "dsnap", "data");
      const p = await plan(session);
      assert.equal(p.operation, operation);
      assert.ok(p.confirmation, "it needs a confirmation");
      const before = kube.writes();
      assert.deepEqual(before, [], "planning writes nothing");
      assert.equal((await errorOf(execute(session, p, null))).code, "InvalidInput");
      const other = await planCreate(session, { vm: "db", name: "other" });
      const wrong = verifyConfirmation(other.confirmation!, { confirmed: true });
      assert.equal((await errorOf(execute(session, p, wrong))).code, "Cancelled");
      assert.deepEqual(kube.writes(), []);
    });
});
