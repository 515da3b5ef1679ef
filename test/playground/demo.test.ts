// `bash scripts/demo.sh`, the README's main job, end to end on its own playground: vmsnap's story
// on demo/db — the snapshot, the broken disk and configuration, the restore bringing the data
// back (read with kubectl from the restored claim), and the undo bringing the broken state back.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..", "..");
const dir = await mkdtemp(path.join(tmpdir(), "vmsnap-demo-"));
const env = { ...process.env, VMSNAP_PLAYGROUND_DIR: dir };

after(async () => {
  await run(process.execPath, [path.join(root, "dist", "cli", "main.js"), "playground", "down"], {
    env,
  }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** The demo's output, by step ("==> title" → its lines). */
function steps(out: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of out.split(/^==> /m).slice(1)) {
    const nl = part.indexOf("\n");
    map.set(part.slice(0, nl), part.slice(nl + 1));
  }
  return map;
}

function step(all: Map<string, string>, prefix: string): string {
  const found = [...all].find(([title]) => title.startsWith(prefix));
  assert.ok(found, `a step "${prefix}…" in: ${[...all.keys()].join(" | ")}`);
  return found[1];
}

describe("the playground demo (scripts/demo.sh)", () => {
  it("runs vmsnap's story: snapshot, break, restore with preview, data back, undo", async () => {
    const { stdout } = await run("bash", [path.join(root, "scripts", "demo.sh"), "--no-setup"], {
      env,
      cwd: root,
      timeout: 280_000,
      maxBuffer: 16 << 20,
    });
    const s = steps(stdout);
    assert.match(step(s, "every VM"), /^\$ vmsnap vms -A$/m);
    assert.match(step(s, "every VM"), /^demo\s+db\s+kubevirt\s+Running/m);
    assert.match(step(s, "every VM"), /^deckhouse\s+/m);
    assert.match(step(s, "before an upgrade"), /^VM demo\/db: SNAPSHOTTABLE/m);
    assert.match(step(s, "the disk's data now"), /^db-root\s+db-root-v1$/m);
    assert.match(step(s, "snapshot it"), /^Phase:\s+Succeeded$/m);
    assert.match(step(s, "the upgrade goes wrong"), /^db-root\s+CORRUPTED$/m);

    const restore = step(s, "restore:");
    // The preview (what is lost, what changes back), then the report with the undo.
    assert.match(
      restore,
      /Everything written to its disks since then is lost, except in the safety snapshot db-pre-restore-/,
    );
    assert.match(restore, /spec\.template\.spec\.domain\.memory\.guest: 8Gi → 2Gi/);
    assert.match(restore, /^Restored VM demo\/db from snapshot db-before-upgrade/m);
    assert.match(restore, /^The VM now uses a new claim, restored from the snapshot/m);
    assert.match(restore, /^ {2}- rootdisk: \S+ → restore-[0-9a-f-]+-rootdisk$/m);
    assert.match(
      restore,
      /^To undo: vmsnap restore -n demo db db-pre-restore-\d{8}-\d{6} --stop$/m,
    );

    const back = step(s, "the data came back");
    assert.match(back, /^restore-[0-9a-f-]+-rootdisk\s+db-root-v1$/m);
    assert.match(back, /^2Gi$/m);

    const undo = step(s, "a restore can itself be undone");
    assert.match(undo, /^Restored VM demo\/db from snapshot db-pre-restore-/m);
    assert.match(undo, /^restore-[0-9a-f-]+-rootdisk\s+CORRUPTED$/m);

    const next = step(s, "next:");
    assert.match(next, /vmsnap -n demo restore db db-before-upgrade --stop/);
    assert.match(next, /playground down/);
  });
});
