// Faults from other actors, on the shared environment: a snapshot deleted while create waits,
// the same create run twice (one after the other, and both at once: the second is a conflict), and two restores of one VM
// at once. Each ends with the right exit code, one object where one is due, and the disks'
// data fingerprints proving nothing was lost.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt, type ResourceType } from "../../src/kube/resources.js";
import { Informer } from "../../src/kube/watch.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { Snapshot } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, type CliResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { cond, waitFor, type Json } from "../helpers/kube.js";
import {
  expectExit,
  makeSnapshot,
  makeVm,
  objectsOf,
  rootData,
  show,
  snapshotData,
  writeRoot,
} from "./fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "fault-race");
});

after(() => c?.close());

const vmsnap = (...args: string[]): Promise<CliResult> => runCli(["-n", ns, ...args]);

describe("a snapshot deleted while create waits", () => {
  it("fault 1: deleted by someone else during the wait → exit 4, saying it was deleted", async () => {
    await makeVm(c, ns, "del", { annotations: { [SIM.snapshotDelay]: "60s" } });
    const run = vmsnap("create", "del", "--name", "del-snap", "--yes");
    // The CLI created it and waits (the volume snapshots take a minute): delete it now.
    await waitFor(c, KubeVirt.snapshots, "del-snap", ns, () => true, 60_000);
    await c.delete(KubeVirt.snapshots, "del-snap", ns);
    const r = await run;
    expectExit(r, 4, /del-snap was deleted while waiting for it to be ready/);
    assert.equal(await rootData(c, ns, "del"), "del-v1", "the VM's disk is untouched");
  });
});

describe("the same create run twice", () => {
  it("one after the other: the second is a conflict (7) stating the snapshot's age, writes nothing", async () => {
    await makeVm(c, ns, "twice");
    const first = await vmsnap("create", "twice", "--name", "twice-snap", "--yes", "-o", "json");
    expectExit(first, 0);
    const since = new Date();
    const second = await vmsnap("create", "twice", "--name", "twice-snap", "--yes");
    expectExit(
      second,
      7,
      /snapshot [a-z0-9-]+\/twice-snap of VM twice already exists, created \d+s ago \(\d{4}-\d\d-\d\dT[^)]+\), ready: nothing was created/,
      /vmsnap describe -n [a-z0-9-]+ twice-snap.*--name/,
    );
    assert.deepEqual(
      (await writesIn(ns, since)).map((e) => `${e.verb} ${e.requestURI}`),
      [],
      "the second run writes nothing",
    );
    assert.equal((await objectsOf(c, ns, KubeVirt.snapshots, "twice")).length, 1);
    assert.equal(await snapshotData(c, ns, "twice-snap"), "twice-v1");
  });

  it("fault 2: both at once: one creates it (0), the other is a conflict (7); one snapshot", async () => {
    await makeVm(c, ns, "both");
    const results = await Promise.all([
      vmsnap("create", "both", "--name", "both-snap", "--yes", "-o", "json"),
      vmsnap("create", "both", "--name", "both-snap", "--yes", "-o", "json"),
    ]);
    assert.deepEqual(
      results.map((r) => r.code).sort(),
      [0, 7],
      results.map(show).join("\n=====\n"),
    );
    const [won, lost] = results[0].code === 0 ? results : [results[1], results[0]];
    assert.equal(Snapshot.parse(json(won!)).readyToUse, true);
    assert.match(
      lost!.stdout,
      /both-snap of VM both already exists, created \d+s ago/,
      show(lost!),
    );
    const snaps = await objectsOf(c, ns, KubeVirt.snapshots, "both");
    assert.deepEqual(
      snaps.map((s) => s.metadata.name),
      ["both-snap"],
    );
    assert.equal(await snapshotData(c, ns, "both-snap"), "both-v1");
  });

  it("the name taken by another VM's snapshot → exit 7, nothing written", async () => {
    await makeVm(c, ns, "mine");
    await makeVm(c, ns, "theirs");
    await makeSnapshot(c, ns, "taken-snap", "theirs");
    const since = new Date();
    const r = await vmsnap("create", "mine", "--name", "taken-snap", "--yes");
    expectExit(r, 7, /taken-snap already exists and belongs to VM theirs, not to mine/);
    assert.deepEqual(await writesIn(ns, since), []);
  });
});

/** Resolves once an object of the type whose name matches appears in the namespace (a watch). */
async function firstMatching(type: ResourceType, name: RegExp): Promise<void> {
  const inf = new Informer(c, type, { namespace: ns });
  const seen = new Promise<void>((resolve) =>
    inf.on((_e, o) => name.test(o.metadata.name) && resolve()),
  );
  await inf.start();
  try {
    await seen;
  } finally {
    await inf.stop();
  }
}

describe("two restores of one VM at once", () => {
  /**
   * Two restore processes of one VM: together, or the second once the first has begun writing
   * (its safety snapshot exists). Returns them as [winner, loser].
   */
  async function race(
    vm: string,
    snap: string,
    staggered: boolean,
  ): Promise<[CliResult, CliResult]> {
    const args = ["restore", vm, snap, "--confirm", snap, "--yes"];
    const first = vmsnap(...args);
    if (staggered) await firstMatching(KubeVirt.snapshots, new RegExp(`^${vm}-pre-restore-`));
    const results = await Promise.all([first, vmsnap(...args)]);
    const codes = results.map((r) => r.code).sort();
    assert.deepEqual(codes, [0, 7], results.map(show).join("\n=====\n"));
    return results[0].code === 0 ? [results[0], results[1]] : [results[1], results[0]];
  }

  for (const [n, label, staggered] of [
    [3, "both started at the same moment", false],
    [4, "the second started while the first takes its safety snapshot", true],
  ] as const) {
    it(`fault ${n}: ${label}: one restores (0), the other is refused (7); data = snapshot`, async () => {
      const vm = `two-${n}`;
      await makeVm(c, ns, vm);
      await makeSnapshot(c, ns, `${vm}-snap`, vm);
      // Safety snapshots take 6 s from here on: ample for a second process slowed by a loaded
      // machine to start while the first is under way (it has no restore object yet), instead
      // of after the first has finished (then they would be sequential, not concurrent).
      await c.patch(KubeVirt.vms, vm, ns, {
        metadata: { annotations: { [SIM.snapshotDelay]: "6s" } },
      });
      await writeRoot(c, ns, vm, `${vm}-v2`);
      const [win, lose] = await race(vm, `${vm}-snap`, staggered);
      assert.match(win.stdout, /Restored VM/, show(win));
      process.stdout.write(
        `# loser: ${lose.stderr
          .split("\n")
          .filter((l) => /^(error|hint| {2}- )/.test(l))
          .join(" | ")}\n`,
      );
      assert.match(
        lose.stderr,
        /(a restore of VM \S+ (is already|started meanwhile)|another restore of VM \S+ is in progress|already exists: a restore of this VM started at the same moment)/,
        show(lose),
      );
      // At most one restore of the VM completed; any other was refused by the controller.
      const restores = await objectsOf(c, ns, KubeVirt.restores, vm);
      const complete = restores.filter((r) => r.status?.complete === true);
      assert.equal(complete.length, 1, JSON.stringify(restores.map((r) => r.status)));
      for (const r of restores.filter((x) => x.status?.complete !== true)) {
        const failed = await waitFor(
          c,
          KubeVirt.restores,
          r.metadata.name,
          ns,
          (x: Json) => cond(x, "Failure")?.status === "True",
        );
        assert.match(String(cond(failed, "Failure")?.reason), /in progress/);
      }
      assert.equal(await rootData(c, ns, vm), `${vm}-v1`, "the disk holds the snapshot's data");
      // Every safety snapshot taken holds the data from before the restore.
      const safeties = (await objectsOf(c, ns, KubeVirt.snapshots, vm)).filter((s) =>
        /pre-restore/.test(s.metadata.name),
      );
      assert.ok(safeties.length >= 1);
      for (const s of safeties) {
        await waitFor(c, KubeVirt.snapshots, s.metadata.name, ns, (x) => x.status?.readyToUse);
        assert.equal(await snapshotData(c, ns, s.metadata.name), `${vm}-v2`);
      }
    });
  }
});
