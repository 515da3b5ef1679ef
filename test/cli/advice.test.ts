// The CLI's advice (issue 13): every vmsnap command it suggests can be pasted as it is — it carries
// -n NAMESPACE and every name — and none shows a way around a confirmation (no --yes, no
// --confirm): the command it names asks the human.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { adminSnapshot, makeVm, writeAll } from "../mcp/fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-advice");
  await makeVm(c, ns, "adv");
  await adminSnapshot(c, ns, "adv", "adv-snap");
  await writeAll(c, ns, "adv", "v2");
  await makeVm(c, ns, "adv-other");
  await adminSnapshot(c, ns, "adv-other", "adv-other-snap");
});

after(() => c?.close());

/** Every vmsnap command line the output suggests (hints, next steps, the undo line). */
function suggested(r: CliResult): string[] {
  const text = `${r.stdout}\n${r.stderr}`;
  return [
    ...[...text.matchAll(/`(vmsnap [^`]+)`/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^To undo: (vmsnap .+)$/gm)].map((m) => m[1]!),
  ];
}

function assertPasteable(r: CliResult, what: string, atLeast = 1): void {
  const commands = suggested(r);
  assert.ok(commands.length >= atLeast, `${what}: no command suggested:\n${r.stderr}${r.stdout}`);
  for (const cmd of commands) {
    assert.match(cmd, new RegExp(`^vmsnap \\S+ -n ${ns}\\b`), `${what}: ${cmd}`);
    assert.doesNotMatch(cmd, /--yes|--confirm\b/, `${what}: ${cmd}`);
  }
  assert.doesNotMatch(r.stderr, /--yes|--confirm\b/, what);
}

describe("CLI hints can be pasted and never skip a confirmation", () => {
  it("refusals: a missing snapshot, another VM's snapshot, a taken name", async () => {
    // A name no other test file uses: vmsnap rightly points at a snapshot of that name in another
    // namespace (`vmsnap describe -n OTHER NAME`), which would not carry this namespace.
    const absent = "adv-snap-never-made";
    const missing = await runCli(["-n", ns, "restore", "adv", absent, "--confirm", absent]);
    assert.equal(missing.code, 4, missing.stderr);
    assertPasteable(missing, "missing snapshot");
    assert.match(missing.stderr, new RegExp(`\`vmsnap list -n ${ns} adv\``));

    const foreign = await runCli(["-n", ns, "restore", "adv", "adv-other-snap", "--dry-run"]);
    assert.equal(foreign.code, 2, foreign.stderr);
    assertPasteable(foreign, "foreign snapshot", 2);
    assert.match(
      foreign.stderr,
      new RegExp(`\`vmsnap restore -n ${ns} adv-other adv-other-snap\``),
    );
    assert.match(
      foreign.stderr,
      new RegExp(`\`vmsnap clone -n ${ns} adv-other-snap --to NEW_VM\``),
    );

    const taken = await runCli(["-n", ns, "create", "adv", "--name", "adv-other-snap", "--yes"]);
    assert.equal(taken.code, 7, taken.stderr);
    assert.match(taken.stderr, /hint: choose another name \(--name\)/);
  });

  it("no terminal: the advice is to run it on one, not to add the flags that skip the question", async () => {
    const r = await runCli(["-n", ns, "restore", "adv", "adv-snap"]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /hint: run the command on a terminal/);
    assert.doesNotMatch(r.stderr, /--yes|--confirm\b/);
  });

  it("a restore's undo line", async () => {
    const r = await runCli([
      "-n",
      ns,
      "restore",
      "adv",
      "adv-snap",
      "--confirm",
      "adv-snap",
      "--yes",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertPasteable(r, "undo");
    assert.match(
      r.stdout,
      new RegExp(`^To undo: vmsnap restore -n ${ns} adv adv-pre-restore-\\S+$`, "m"),
    );
  });
});
