// Waiting for a snapshot (issue 13, item 4): a storage error after which the snapshot cannot be
// taken fails the wait as soon as the platform reports it, not at the 5-minute deadline; and the
// progress never says "Succeeded" while the snapshot is still not ready to use.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { runCli } from "../helpers/cli.js";
import { show } from "../faults/fixtures.js";
import { makeVm } from "../faults/fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-wait");
});

after(() => c?.close());

describe("waiting for a snapshot", () => {
  it("a final CSI error fails at once (exit 1), well before the 5-minute deadline", async () => {
    await makeVm(c, ns, "vserr", { annotations: { [SIM.fail]: "volume-snapshot" } });
    const started = Date.now();
    // The client gives up after a minute: a wait until the deadline would be killed (no exit code).
    const r = await runCli(["-n", ns, "create", "vserr", "--name", "vserr-a", "--yes"], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /snapshot \S+\/vserr-a cannot complete: the storage refused it/);
    assert.match(r.stderr, /rpc error: code = Internal/);
    assert.match(r.stderr, /hint: .*`vmsnap describe -n \S+ vserr-a`/);
    assert.ok(Date.now() - started < 60_000);
  });

  it("progress says the snapshot is taken, not Succeeded, until it is ready", async () => {
    await makeVm(c, ns, "slow", { annotations: { [SIM.snapshotDelay]: "3s" } });
    const r = await runCli(["-n", ns, "-v", "create", "slow", "--name", "slow-a", "--yes"]);
    assert.equal(r.code, 0, show(r));
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("snapshot slow-a: "));
    assert.ok(
      lines.includes("snapshot slow-a: taken, waiting until it is ready"),
      lines.join("\n"),
    );
    assert.deepEqual(
      lines.filter((l) => /Succeeded/.test(l)),
      lines.filter((l) => /Succeeded, ready/.test(l)),
      `"Succeeded" only once ready:\n${lines.join("\n")}`,
    );
  });
});
