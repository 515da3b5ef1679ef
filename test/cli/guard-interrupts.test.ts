// vmsnap guard interrupted while its command runs, through a real pseudo-terminal (Ctrl-C typed
// into the terminal: the line discipline sends SIGINT to the foreground process group) and with
// SIGTERM sent to the CLI's process alone (a supervisor). Each time: the command gets the signal
// exactly once, nothing is restored (not even with --restore-on-failure --confirm NAME given
// ahead), exit 3, and the report states how the command ended, the VM's status and the snapshot
// taken before the change with the `vmsnap restore` command (KubeVirt; Ctrl-C also on Deckhouse
// and VM Operator). Also: a script's --confirm that does not repeat --name is refused before
// anything runs.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { ErrorObject } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { effectiveDryRun } from "../helpers/mcp.js";
import { startPty } from "../helpers/pty.js";
import { makeVm, restoresOf } from "../mcp/fixtures.js";
import { makeVm as makePlatformVm } from "../controller/fixtures.js";

let c: KubeClient;
let ns: string;
let dir: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-guard-int");
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-guard-int-"));
});

after(async () => {
  c?.close();
  await rm(dir, { recursive: true, force: true });
});

const CTRL_C = "\x03";

/**
 * A change that says it started, then waits; each SIGINT or SIGTERM it receives is appended to
 * the marker file, and it exits as a shell command would on that signal (128 + number).
 */
function slowChange(marker: string): string[] {
  const script = `
    const fs = require("node:fs");
    for (const [name, code] of [["SIGINT", 130], ["SIGTERM", 143]])
      process.on(name, () => {
        fs.appendFileSync(${JSON.stringify(marker)}, name + "\\n");
        setTimeout(() => process.exit(code), 300);
      });
    console.log("change started");
    setInterval(() => {}, 1000);
  `;
  return [process.execPath, "-e", script.replace(/\s*\n\s*/g, " ").trim()];
}

const realWrites = async (since: Date) =>
  (await writesIn(ns, since))
    .filter((e) => !effectiveDryRun(e))
    .map((e) => `${e.verb} ${e.objectRef?.resource ?? "?"}`);

async function runningVm(name: string) {
  await makeVm(c, ns, name, { run: true });
}

describe("vmsnap guard interrupted while the command runs", () => {
  it("Ctrl-C: the command gets SIGINT once, nothing is restored, exit 3 with the state and the restore command", async () => {
    const vm = "g-int";
    await runningVm(vm);
    const marker = path.join(dir, `${vm}.signals`);
    const since = new Date();
    const s = startPty(["-n", ns, "guard", vm, "--yes", "--", ...slowChange(marker)], {
      timeoutMs: 120_000,
    });
    await s.expect(/change started/);
    s.send(CTRL_C);
    const r = await s.done(120_000);
    assert.equal(r.code, 3, r.output);
    assert.equal(await readFile(marker, "utf8"), "SIGINT\n", "the command got SIGINT exactly once");
    assert.match(
      r.output,
      /interrupted \(SIGINT\): the guarded change of VM \S+\/g-int was stopped/,
    );
    assert.match(r.output, /change `.*`: interrupted, exited with code 130/);
    assert.match(
      r.output,
      new RegExp(
        `VM ${ns}/${vm}: Running \\(running\\) — as the change left it; nothing was restored`,
      ),
    );
    const snapshot = new RegExp(`snapshot ${ns}/(${vm}-\\S+): ready, taken before the change`).exec(
      r.output,
    )?.[1];
    assert.ok(snapshot, r.output);
    assert.ok(
      r.output.includes(`restore it with \`vmsnap restore -n ${ns} ${vm} ${snapshot}\``),
      r.output,
    );
    assert.doesNotMatch(r.output, /Type the snapshot name|--confirm|--yes/);
    assert.deepEqual(await realWrites(since), ["create virtualmachinesnapshots"]);
    assert.deepEqual(await restoresOf(c, ns, vm), []);
    const snap = await c.get(KubeVirt.snapshots, snapshot, ns);
    assert.equal((snap.status as { readyToUse?: boolean }).readyToUse, true);
  });

  it("SIGTERM to vmsnap alone is passed on; a script's --restore-on-failure --confirm does not restore after an interrupt", async () => {
    const vm = "g-term";
    await runningVm(vm);
    const marker = path.join(dir, `${vm}.signals`);
    const name = `${vm}-before`;
    const since = new Date();
    const s = startPty(
      [
        "-n",
        ns,
        "guard",
        vm,
        "--yes",
        "--name",
        name,
        "--restore-on-failure",
        "--confirm",
        name,
        "--stop",
        "--",
        ...slowChange(marker),
      ],
      { timeoutMs: 120_000 },
    );
    await s.expect(/change started/);
    s.signal("SIGTERM");
    const r = await s.done(120_000);
    assert.equal(r.code, 3, r.output);
    assert.equal(await readFile(marker, "utf8"), "SIGTERM\n", "the command got SIGTERM once");
    assert.match(r.output, /interrupted \(SIGTERM\)/);
    assert.match(r.output, /exited with code 143/);
    assert.ok(
      r.output.includes(`snapshot ${ns}/${name}: ready, taken before the change`),
      r.output,
    );
    assert.ok(r.output.includes(`\`vmsnap restore -n ${ns} ${vm} ${name}\``), r.output);
    assert.deepEqual(await realWrites(since), ["create virtualmachinesnapshots"]);
    assert.deepEqual(await restoresOf(c, ns, vm), []);
  });
});

// The same on the other platforms: the VM's state is read from each platform's VM.
for (const platform of ["deckhouse", "vmoperator"] as const)
  describe(`vmsnap guard interrupted on ${platform}`, () => {
    it("Ctrl-C: exit 3, the VM's status, the snapshot and the restore command; only the snapshot was written", async () => {
      const vm = `g-${platform.slice(0, 2)}`;
      await makePlatformVm(c, platform, ns, vm, {});
      const marker = path.join(dir, `${vm}.signals`);
      const since = new Date();
      const s = startPty(["-n", ns, "guard", vm, "--yes", "--", ...slowChange(marker)], {
        timeoutMs: 120_000,
      });
      await s.expect(/change started/);
      s.send(CTRL_C);
      const r = await s.done(120_000);
      assert.equal(r.code, 3, r.output);
      assert.equal(await readFile(marker, "utf8"), "SIGINT\n");
      assert.match(
        r.output,
        new RegExp(
          `VM ${ns}/${vm}: \\w+ \\(running\\) — as the change left it; nothing was restored`,
        ),
      );
      const snapshot = new RegExp(
        `snapshot ${ns}/(${vm}-\\S+): ready, taken before the change`,
      ).exec(r.output)?.[1];
      assert.ok(snapshot, r.output);
      assert.ok(r.output.includes(`\`vmsnap restore -n ${ns} ${vm} ${snapshot}\``), r.output);
      assert.deepEqual(await realWrites(since), ["create virtualmachinesnapshots"]);
    });
  });

describe("vmsnap guard in a script", () => {
  it("--confirm that does not repeat --name is refused before the snapshot or the command", async () => {
    const vm = "g-name";
    await makeVm(c, ns, vm);
    const marker = path.join(dir, `${vm}.ran`);
    const since = new Date();
    const r = await runCli([
      "-n",
      ns,
      "guard",
      vm,
      "--yes",
      "--name",
      `${vm}-before`,
      "--restore-on-failure",
      "--confirm",
      `${vm}-befor`,
      "-o",
      "json",
      "--",
      process.execPath,
      "-e",
      `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran"); process.exit(1)`,
    ]);
    assert.equal(r.code, 2, showResult(r));
    const err = ErrorObject.parse(json(r));
    assert.match(err.message, /does not match the snapshot's name/);
    assert.equal(existsSync(marker), false, "the command did not run");
    assert.deepEqual(await realWrites(since), []);
  });
});
