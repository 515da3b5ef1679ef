// The runtime: the suite itself runs on a supported Node (22 or 24), and scripts/node.sh picks the
// machine's node when it is new enough, Node 24 from ~/.cache/vmsnap otherwise — without taking
// its own Node 24, first on PATH under npm, for the machine's.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..", "..");
const nodeSh = path.join(root, "scripts", "node.sh");
let dir: string;
let cached: string;

/** A directory holding a `node` that reports this major version. */
async function fakeNode(major: number): Promise<string> {
  const bin = path.join(dir, `node${major}`);
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(bin, "node"), `#!/bin/sh\necho ${major}\n`);
  await chmod(path.join(bin, "node"), 0o755);
  return bin;
}

const binDir = async (PATH: string) =>
  (await exec("bash", [nodeSh, "bin-dir"], { env: { ...process.env, PATH } })).stdout.trim();

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "node-runtime-"));
  // Node 24 for this machine, installed by setup (or now, from the npm registry, once).
  cached = (await exec("bash", [nodeSh, "path"])).stdout.trim();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Node runtime", () => {
  it("the test suite runs on Node 22 or newer (npm's scripts use Node 24 after setup)", () => {
    const major = Number(process.versions.node.split(".")[0]);
    assert.ok(major >= 22, `running on ${process.version}`);
  });

  it("Node 24 from the npm package is cached outside the repository", async () => {
    assert.match(cached, /\/vmsnap\/node-v24\.\d+\.\d+-linux-(x64|arm64)\/bin\/node$/);
    assert.ok(!cached.startsWith(root));
    const { stdout } = await exec(cached, ["--version"]);
    assert.match(stdout, /^v24\./);
  });

  it("bin-dir: nothing when the machine's node is 22+, the cached Node 24 when it is older", async () => {
    const system = "/usr/bin:/bin";
    assert.equal(await binDir(`${await fakeNode(22)}:${system}`), "");
    assert.equal(await binDir(`${await fakeNode(20)}:${system}`), path.dirname(cached));
    // Our own Node 24 first on PATH (as under npm) is not the machine's: still ours.
    assert.equal(
      await binDir(`${path.dirname(cached)}:${await fakeNode(20)}:${system}`),
      path.dirname(cached),
    );
  });

  it("vmsnap_use_node links node_modules/.bin/node for npm, and keeps the link under npm", async () => {
    const project = path.join(dir, "project");
    await mkdir(path.join(project, "node_modules", ".bin"), { recursive: true });
    const use = (PATH: string) =>
      exec(
        "bash",
        ["-c", `source ${JSON.stringify(nodeSh)} && vmsnap_use_node && command -v node`],
        {
          cwd: project,
          env: { ...process.env, PATH },
        },
      );
    const old = `${await fakeNode(20)}:/usr/bin:/bin`;
    const first = await use(old);
    assert.equal(first.stdout.trim(), cached);
    const link = path.join(project, "node_modules", ".bin", "node");
    assert.equal(await readlink(link), cached);
    // Under npm, node_modules/.bin (our Node 24) comes first: the link must stay.
    await use(`${path.dirname(link)}:${old}`);
    assert.equal(await readlink(link), cached);
    // A machine whose node is new enough needs no link.
    await use(`${await fakeNode(24)}:/usr/bin:/bin`);
    await assert.rejects(readlink(link));
  });
});
