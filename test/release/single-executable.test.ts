// The single executable (Node SEA) and its krew plugin: built from this checkout (scripts/sea/build.ts,
// Node 24 from the npm registry), installed with real krew (built from its Go module) exactly as
// a user would — `kubectl krew install --manifest … --archive …` — and run as `kubectl vmsnap`
// against the real API server, without node on PATH.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, open, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { buildRelease, PLUGIN_BINARY, type Release } from "../../scripts/sea/build.js";
import { findBinaries } from "../../src/playground/binaries.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { vmManifest } from "../../src/playground/fixtures.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { ensureKrew, type Krew } from "../helpers/krew.js";

const exec = promisify(execFile);
const log = (line: string) => process.stderr.write(`[release] ${line}\n`);

let release: Release;
let krew: Krew;
let ns: string;
let work: string;
let kubectl: string;
/** An environment without node anywhere on PATH: the executable must not need it. */
let bareEnv: Record<string, string>;

const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

before(
  async () => {
    // Cold: krew's Go build takes minutes, each executable tens of seconds; warm: seconds.
    [release, krew] = await Promise.all([buildRelease({ log }), ensureKrew(log)]);
    kubectl = findBinaries().kubectl!;
    work = await mkdtemp(path.join(tmpdir(), "release-test-"));
    const bin = path.join(work, "bin");
    await exec("mkdir", ["-p", bin]);
    await symlink(kubectl, path.join(bin, "kubectl"));
    await symlink(krew.krew, path.join(bin, "kubectl-krew"));
    const c = await adminClient();
    ns = await newNamespace(c, "sea");
    await c.create(
      KubeVirt.vms,
      vmManifest({ name: "single", namespace: ns, runStrategy: "Halted" }),
    );
    c.close();
    bareEnv = {
      HOME: work,
      // Only kubectl, krew and the plugins krew installs: no node, no shell tools.
      PATH: `${path.join(work, "krew", "bin")}:${bin}`,
      KUBECONFIG: kubeconfigOf(VMSNAP_USER.name),
      KREW_ROOT: path.join(work, "krew"),
      KREW_NO_UPGRADE_CHECK: "1",
      NO_COLOR: "1",
    };
  },
  { timeout: 30 * 60_000 },
);

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const amd64 = () => release.archives.find((a) => a.arch === "amd64")!;
const arm64 = () => release.archives.find((a) => a.arch === "arm64")!;

describe("single executable (Node SEA)", () => {
  it("answers --version and lists VMs against the cluster, with no node involved", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
    const v = await exec(amd64().binary, ["--version"], { env: bareEnv });
    assert.equal(v.stdout, `${version}\n`);
    const vms = await exec(amd64().binary, ["-n", ns, "vms"], { env: bareEnv });
    assert.match(vms.stdout, /^single\s+Stopped/m);
    assert.equal(vms.stderr, "", "no experimental-feature warning");
    const json = JSON.parse(
      (await exec(amd64().binary, ["-n", ns, "vms", "-o", "json"], { env: bareEnv })).stdout,
    ) as { kind: string; items: { name: string }[] };
    assert.equal(json.kind, "VirtualMachineList");
    assert.deepEqual(
      json.items.map((i) => i.name),
      ["single"],
    );
  });

  it("compiles the CLI with the code cache built in (amd64)", async () => {
    const r = await exec(amd64().binary, ["-n", ns, "vms"], {
      env: { ...bareEnv, VMSNAP_SEA_DEBUG: "1" },
    });
    assert.match(r.stderr, /^vmsnap: vmsnap\.js: code cache used$/m);
  });

  it("loads a library when a command needs it: client-node for an exec-plugin kubeconfig", async () => {
    const user = parseYaml(await readFile(kubeconfigOf(VMSNAP_USER.name), "utf8")) as {
      users: { user: { token?: string } }[];
    };
    const token = user.users[0]!.user.token!;
    const plugin = path.join(work, "credential-plugin");
    await writeFile(
      plugin,
      `#!/bin/sh\nprintf '%s' '${JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token } })}'\n`,
      { mode: 0o755 },
    );
    const kc = parseYaml(await readFile(kubeconfigOf(VMSNAP_USER.name), "utf8")) as {
      users: { user: Record<string, unknown> }[];
    };
    kc.users[0]!.user = {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: plugin,
        interactiveMode: "Never",
      },
    };
    const kubeconfig = path.join(work, "exec-kubeconfig");
    await writeFile(kubeconfig, stringifyYaml(kc));
    const r = await exec(amd64().binary, ["-n", ns, "vms"], {
      env: { ...bareEnv, KUBECONFIG: kubeconfig, VMSNAP_SEA_DEBUG: "1" },
    });
    assert.match(r.stdout, /^single\s+Stopped/m);
    assert.match(r.stderr, /lib\/client-node\.js/);
    assert.doesNotMatch(r.stderr, /Warning/i);
  });

  it("serves MCP: zod and the MCP SDK load from their own assets", async () => {
    const child = spawn(amd64().binary, ["mcp", "--read-only"], {
      env: bareEnv,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let buffer = "";
    const next = () =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const check = () => {
          const line = lines.shift();
          if (line) return resolve(JSON.parse(line) as Record<string, unknown>);
          child.stdout.once("data", check);
        };
        child.once("exit", (code) => reject(new Error(`mcp exited ${code}`)));
        check();
      });
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts.filter(Boolean));
    });
    try {
      const send = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
      send({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "test", version: "1" },
        },
      });
      const init = (await next()) as { result: { serverInfo: { name: string } } };
      assert.equal(init.result.serverInfo.name, "vmsnap");
      send({ jsonrpc: "2.0", method: "notifications/initialized" });
      send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
      const tools = (await next()) as { result: { tools: { name: string }[] } };
      assert.deepEqual(tools.result.tools.map((t) => t.name).sort(), [
        "vm_list",
        "vm_snapshot_check",
        "vm_snapshot_get",
        "vm_snapshot_list",
        "vm_snapshot_policy_list",
      ]);
    } finally {
      child.kill();
    }
  });

  it("is kubectl_complete-vmsnap too: completes from the cluster when started by that name", async () => {
    const link = path.join(work, "bin", "kubectl_complete-vmsnap");
    await symlink(amd64().binary, link);
    const { stdout } = await exec(link, ["-n", ns, "check", ""], { env: bareEnv });
    assert.deepEqual(stdout.split("\n").filter(Boolean), ["single\tStopped", ":4"]);
  });

  it("refuses the playground clearly (it needs the npm package's files)", async () => {
    const r = await exec(amd64().binary, ["playground", "up"], { env: bareEnv }).then(
      () => assert.fail("playground up should be refused"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not part of the single executable/);
  });

  it("linux-amd64 carries V8's code cache; linux-arm64 is an aarch64 executable with the blob", async () => {
    assert.equal(amd64().codeCache, true);
    assert.equal(arm64().codeCache, false);
    const elfMachine = async (file: string) => {
      const fh = await open(file, "r");
      try {
        const head = Buffer.alloc(20);
        await fh.read(head, 0, 20, 0);
        assert.equal(head.subarray(0, 4).toString("latin1"), "\x7fELF");
        return head.readUInt16LE(18);
      } finally {
        await fh.close();
      }
    };
    assert.equal(await elfMachine(amd64().binary), 0x3e); // EM_X86_64
    assert.equal(await elfMachine(arm64().binary), 0xb7); // EM_AARCH64
    // postject flips the fuse to ":1" when it injects the blob.
    const body = await readFile(arm64().binary);
    assert.ok(body.includes(`${SEA_FUSE}:1`), "the arm64 binary has its blob injected");
  });
});

describe("krew plugin", () => {
  it("the manifest passes krew's own validator", async () => {
    assert.equal(path.basename(release.manifest), "vmsnap.yaml");
    const r = await exec(krew.validateManifest, ["-manifest", release.manifest, "-skip-install"], {
      env: bareEnv,
    });
    assert.match(r.stderr + r.stdout, /structural validation OK/);
    assert.match(r.stderr + r.stdout, /no overlapping spec\.platform\[\]\.selector/);
    const manifest = await readFile(release.manifest, "utf8");
    for (const a of release.archives) assert.ok(manifest.includes(`sha256: ${a.sha256}`));
  });

  it("kubectl krew install --manifest --archive, then kubectl vmsnap vms -A", async () => {
    const install = await exec(
      kubectl,
      ["krew", "install", `--manifest=${release.manifest}`, `--archive=${amd64().archive}`],
      { env: bareEnv },
    );
    assert.match(install.stderr + install.stdout, /Installed plugin: vmsnap/);
    // krew's receipt of the install (`krew list` would need the index, which is never fetched here).
    const receipt = await readFile(path.join(work, "krew", "receipts", "vmsnap.yaml"), "utf8");
    assert.match(receipt, /name: vmsnap/);
    const linked = await readlink(path.join(work, "krew", "bin", PLUGIN_BINARY));
    assert.match(linked, /store\/vmsnap\/v\d+\.\d+\.\d+\/kubectl-vmsnap$/);

    const { stdout, stderr } = await exec(kubectl, ["vmsnap", "vms", "-A"], { env: bareEnv });
    // Under -A the playground's platforms mix: a PLATFORM column may follow the name.
    assert.match(stdout, new RegExp(`^${ns}\\s+single\\s+(kubevirt\\s+)?Stopped`, "m"));
    assert.equal(stderr, "");
    const help = await exec(kubectl, ["vmsnap", "--help"], { env: bareEnv });
    assert.match(help.stdout, /^Usage: kubectl vmsnap/m);
  });

  it("installs the arm64 archive where krew sees linux/arm64 (checksum and layout)", async () => {
    const root = path.join(work, "krew-arm64");
    const r = await exec(
      kubectl,
      ["krew", "install", `--manifest=${release.manifest}`, `--archive=${arm64().archive}`],
      { env: { ...bareEnv, KREW_ROOT: root, KREW_ARCH: "arm64" } },
    );
    assert.match(r.stderr + r.stdout, /Installed plugin: vmsnap/);
    const installed = await readlink(path.join(root, "bin", PLUGIN_BINARY));
    const body = await readFile(installed);
    assert.equal(body.readUInt16LE(18), 0xb7);
    assert.ok(body.includes(`${SEA_FUSE}:1`));
  });

  it("a tampered archive is refused by its sha256", async () => {
    const tampered = path.join(work, "tampered.tar.gz");
    await exec("cp", [amd64().archive, tampered]);
    await exec("sh", ["-c", `printf x >> "$0"`, tampered]);
    const r = await exec(
      kubectl,
      ["krew", "install", `--manifest=${release.manifest}`, `--archive=${tampered}`],
      { env: { ...bareEnv, KREW_ROOT: path.join(work, "krew-tampered") } },
    ).then(
      () => assert.fail("krew should refuse an archive whose sha256 differs"),
      (e: { stderr: string }) => e,
    );
    assert.match(r.stderr, /sha256|checksum/i);
  });
});
