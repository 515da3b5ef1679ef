// create and bulk create against a fake platform: the plan writes nothing but dry runs, execute
// acts only on a genuine plan with the consent made for it, and refusals come before any write.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { presetConfirmation, verifyConfirmation } from "../../src/core/confirmation.js";
import { phrase } from "../../src/core/advice.js";
import { cliWords, mcpWords } from "../../src/report/words.js";
import { planCreateMany } from "../../src/workflows/bulk-create.js";
import { planCreate } from "../../src/workflows/create.js";
import { confirmPlan, execute } from "../../src/workflows/execute.js";
import { createSnapshot } from "../../src/workflows/operations.js";
import { errorOf, fakeSession, NS } from "../helpers/fake-platform.js";

const yes = { confirmed: true };

describe("create: plan", () => {
  it("plans without writing: a dry run of the manifest, the preview, a yes/no question", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "web" }] });
    const plan = await planCreate(session, { vm: "web", name: "web-snap" });
    assert.deepEqual(kube.writes(), [], "nothing written");
    assert.deepEqual(
      kube.requests.map((r) => `${r.verb} ${r.name} dryRun=${r.dryRun}`),
      ["create web-snap dryRun=true"],
    );
    assert.equal(plan.operation, "create");
    assert.match(plan.preview, /kind: VirtualMachineSnapshot\n/);
    assert.match(plan.preview, /name: web-snap/);
    assert.equal(plan.confirmation?.kind, "yes-no");
    assert.equal(plan.confirmation?.planDigest, plan.digest);
    assert.equal(plan.planned.phase, "DryRun");
    assert.equal(plan.planned.name, "web-snap");
  });

  it("a generated name comes from the plan's moment; planned again with its pins, it is the same", async () => {
    let t = new Date("2026-11-24T02:00:34Z");
    const { session } = fakeSession({ vms: [{ name: "web" }] }, { now: () => t });
    const first = await planCreate(session, { vm: "web" });
    assert.equal(first.planned.name, "web-snapshot-20261124-020034");
    t = new Date("2026-11-24T02:03:00Z");
    const again = await planCreate(session, { vm: "web" }, first.pins);
    assert.equal(again.planned.name, first.planned.name);
    assert.equal(again.digest, first.digest);
    const fresh = await planCreate(session, { vm: "web" });
    assert.notEqual(fresh.planned.name, first.planned.name);
    assert.notEqual(fresh.digest, first.digest, "a plan with other names is another plan");
  });

  it("refuses a blocked VM before any write, advising the check in each face's words", async () => {
    const { session, kube } = fakeSession({
      vms: [{ name: "db", problems: ["no snapshot class"] }],
    });
    const e = await errorOf(planCreate(session, { vm: "db" }));
    assert.equal(e.code, "PreflightBlocked");
    assert.match(e.message, /no snapshot class/);
    assert.equal(
      phrase(e.advice!, cliWords),
      `run \`vmsnap check -n ${NS} db\` for the full analysis`,
    );
    assert.equal(
      phrase(e.advice!, mcpWords),
      `run vm_snapshot_check with namespace "${NS}", vm "db" for the full analysis`,
    );
    assert.deepEqual(kube.requests, []);
  });

  it("the name taken by another VM's snapshot is a conflict; a failed one too", async () => {
    const { session, kube } = fakeSession({
      vms: [{ name: "web" }, { name: "db" }],
      snapshots: { taken: "db", broken: "web" },
      failed: ["broken"],
    });
    assert.equal(
      (await errorOf(planCreate(session, { vm: "web", name: "taken" }))).code,
      "Conflict",
    );
    const failed = await errorOf(planCreate(session, { vm: "web", name: "broken" }));
    assert.equal(failed.code, "Conflict");
    assert.match(phrase(failed.advice!, cliWords), /`vmsnap delete -n unit broken`.*--name/);
    assert.deepEqual(kube.writes(), []);
  });

  it("the same create again (same name): a conflict that states the snapshot's age, no request", async () => {
    const { session, kube } = fakeSession({
      vms: [{ name: "web" }],
      snapshots: { "web-snap": "web" },
    });
    const e = await errorOf(planCreate(session, { vm: "web", name: "web-snap" }));
    assert.equal(e.code, "Conflict");
    assert.equal(e.exitCode, 7);
    assert.equal(
      e.message,
      "snapshot unit/web-snap of VM web already exists, created 327d2h ago (2026-01-01T00:00:00Z), ready: nothing was created",
    );
    assert.equal(
      phrase(e.advice!, cliWords),
      "see it with `vmsnap describe -n unit web-snap`, or choose another name (--name)",
    );
    assert.deepEqual(kube.requests, []);
  });
});

describe("create: consent and execute", () => {
  it("executes with the consent made for the plan: one create, waited until ready", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "web" }] });
    const plan = await planCreate(session, { vm: "web", name: "web-snap" });
    const consent = verifyConfirmation(plan.confirmation!, yes);
    const s = await execute(session, plan, consent);
    assert.equal(s.readyToUse, true);
    assert.deepEqual(kube.writes(), ["create virtualmachinesnapshots web-snap"]);
  });

  it("no consent, another plan's consent, a spent consent: refused, nothing written", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "web" }, { name: "db" }] });
    const plan = await planCreate(session, { vm: "web", name: "web-snap" });
    const other = await planCreate(session, { vm: "db", name: "db-snap" });
    assert.equal((await errorOf(execute(session, plan, null))).code, "InvalidInput");
    const otherConsent = verifyConfirmation(other.confirmation!, yes);
    assert.equal((await errorOf(execute(session, plan, otherConsent))).code, "Cancelled");
    assert.deepEqual(kube.writes(), []);
    const consent = verifyConfirmation(plan.confirmation!, yes);
    await execute(session, plan, consent);
    assert.equal((await errorOf(execute(session, plan, consent))).code, "Cancelled", "spent");
    assert.deepEqual(kube.writes(), ["create virtualmachinesnapshots web-snap"]);
  });

  it("a plan not made by a planner (a copy, a forgery) is refused; a plan cannot be changed", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "web" }] });
    const plan = await planCreate(session, { vm: "web", name: "web-snap" });
    const consent = verifyConfirmation(plan.confirmation!, yes);
    const copy = { ...plan };
    assert.equal((await errorOf(execute(session, copy, consent))).code, "InvalidInput");
    assert.throws(() => {
      (plan as { confirmation: unknown }).confirmation = null;
    }, TypeError);
    assert.throws(() => {
      (plan.draft!.manifest.body.metadata as { name: string }).name = "other";
    }, TypeError);
    assert.deepEqual(kube.writes(), []);
  });

  it("a declined answer is Cancelled before anything is written", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "web" }] });
    const plan = await planCreate(session, { vm: "web", name: "web-snap" });
    const e = await errorOf(confirmPlan(plan, presetConfirmation({ confirmed: false })));
    assert.equal(e.code, "Cancelled");
    assert.equal((await errorOf(confirmPlan(plan, undefined))).code, "Cancelled", "no port");
    assert.deepEqual(kube.writes(), []);
  });

  it("--stop: the stop is validated while planning, the VM stopped and started around the create", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "web", running: true }] });
    const plan = await planCreate(session, { vm: "web", name: "web-snap", stop: true });
    assert.ok(
      kube.requests.some((r) => r.verb === "patch" && r.dryRun),
      "stop dry run",
    );
    assert.match(plan.preview, /stopped for the snapshot and started again/);
    await execute(session, plan, verifyConfirmation(plan.confirmation!, yes));
    assert.deepEqual(kube.writes(), [
      "patch virtualmachines web",
      "create virtualmachinesnapshots web-snap",
      "patch virtualmachines web",
    ]);
  });

  it("a failed snapshot is an error with the platform's diagnosis and the describe step", async () => {
    const { session } = fakeSession({ vms: [{ name: "web" }], snapshotsFail: true });
    const e = await errorOf(
      createSnapshot(session, { vm: "web", name: "web-snap" }, presetConfirmation(yes)),
    );
    assert.equal(e.code, "OperationFailed");
    assert.match(e.message, /the fake storage failed/);
    assert.equal(
      phrase(e.advice!, cliWords),
      "see `vmsnap describe -n unit web-snap` for the causes",
    );
  });

  it("the one-call createSnapshot: plan, the port's answer through verifyConfirmation, execute", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "web" }] });
    const dry = await createSnapshot(session, { vm: "web", name: "s1", dryRun: true });
    assert.equal(dry.snapshot.phase, "DryRun");
    assert.deepEqual(kube.writes(), []);
    const { snapshot } = await createSnapshot(
      session,
      { vm: "web", name: "s1" },
      presetConfirmation(yes),
    );
    assert.equal(snapshot.readyToUse, true);
    assert.deepEqual(kube.writes(), ["create virtualmachinesnapshots s1"]);
  });
});

describe("bulk create: plan each, one consent, execute each", () => {
  it("one question for all; blocked VMs are Skipped with the reason; each VM executed like a single create", async () => {
    const { session, kube } = fakeSession({
      vms: [{ name: "a" }, { name: "b", problems: ["blocked disk"] }, { name: "c", running: true }],
    });
    const plan = await planCreateMany(session, { selector: "app=web", stop: true });
    assert.deepEqual(kube.writes(), [], "planning writes nothing");
    assert.equal(plan.confirmation?.kind, "yes-no");
    assert.match(plan.title, /Create 2 snapshots/);
    assert.deepEqual(
      plan.planned.items.map((i) => `${i.vm}:${i.result}`),
      ["a:DryRun", "b:Skipped", "c:DryRun"],
    );
    assert.match(plan.planned.items[1]!.message!, /blocked: blocked disk/);
    const batch = await execute(session, plan, verifyConfirmation(plan.confirmation!, yes));
    assert.deepEqual(
      batch.items.map((i) => `${i.vm}:${i.result}`),
      ["a:Ready", "b:Skipped", "c:Ready"],
    );
    assert.deepEqual(batch.summary, { total: 3, succeeded: 2, failed: 0, skipped: 1 });
    assert.deepEqual(kube.writes().sort(), [
      "create virtualmachinesnapshots a-snapshot-20261124-020034",
      "create virtualmachinesnapshots c-snapshot-20261124-020034",
      "patch virtualmachines c",
      "patch virtualmachines c",
    ]);
    assert.equal(plan.planned.items[0]!.result, "DryRun", "executing does not change the plan");
  });

  it("nothing to create (every VM skipped): no question, nothing written", async () => {
    const { session, kube } = fakeSession({ vms: [{ name: "b", problems: ["blocked"] }] });
    const plan = await planCreateMany(session, { selector: "app=web" });
    assert.equal(plan.confirmation, null);
    const batch = await execute(session, plan, null);
    assert.deepEqual(batch.summary, { total: 1, succeeded: 0, failed: 0, skipped: 1 });
    assert.deepEqual(kube.writes(), []);
  });

  it("no VM matches: NotFound, advising the list in each face's words", async () => {
    const { session } = fakeSession({ vms: [] });
    const e = await errorOf(planCreateMany(session, { selector: "app=none" }));
    assert.equal(e.code, "NotFound");
    assert.equal(
      phrase(e.advice!, cliWords),
      "check the labels with `vmsnap vms -n unit -l app=none`, or add -A for every namespace",
    );
    assert.equal(
      phrase(e.advice!, mcpWords),
      'check the labels with vm_list with namespace "unit", labelSelector "app=none", or add allNamespaces: true for every namespace',
    );
  });
});
