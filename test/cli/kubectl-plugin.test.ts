// `kubectl vmsnap …`: the binary installed as kubectl-vmsnap on PATH works as a kubectl plugin.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { findBinaries } from "../../src/playground/binaries.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage, vmManifest } from "../../src/playground/fixtures.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { CLI } from "../helpers/cli.js";

const run = promisify(execFile);
let binDir: string;
let ns: string;

before(async () => {
  binDir = await mkdtemp(path.join(tmpdir(), "plugin-"));
  await symlink(CLI, path.join(binDir, "kubectl-vmsnap"));
  const c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "plugin");
  await c.create(KubeVirt.vms, vmManifest({ name: "plug", namespace: ns, runStrategy: "Halted" }));
  c.close();
});

describe("kubectl plugin", () => {
  it("kubectl finds kubectl-vmsnap on PATH and runs it with the user's kubeconfig", async () => {
    const kubectl = findBinaries().kubectl!;
    const env = {
      ...process.env,
      PATH: `${binDir}:${path.dirname(process.execPath)}:${process.env.PATH}`,
      KUBECONFIG: kubeconfigOf(VMSNAP_USER.name),
      NO_COLOR: "1",
    };
    const plugins = await run(kubectl, ["plugin", "list"], { env }).catch(
      (e: { stdout: string }) => e,
    );
    assert.match(plugins.stdout, /kubectl-vmsnap/);
    const { stdout } = await run(kubectl, ["vmsnap", "-n", ns, "vms"], { env });
    assert.match(stdout, /plug\s+Stopped/);
    const help = await run(kubectl, ["vmsnap", "--help"], { env });
    assert.match(help.stdout, /Usage: kubectl vmsnap/);
  });
});
