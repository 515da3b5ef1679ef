// What a command loads before it answers (issue 14's start-up cuts, docs/performance.md): `list`
// and `--version` load neither the other faces (MCP server, playground, policy controller) nor the
// libraries only they need, nor the Node modules the cuts removed from start-up (readline,
// perf_hooks, node:module). Measured with a load hook (test/helpers/module-probe.mjs) against the
// probe's own loads, so Node's internals the probe itself needs do not count.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { CLI, runCli, showResult } from "../helpers/cli.js";
import { makeSnapshot, makeVm } from "../faults/fixtures.js";

const PROBE = path.resolve(import.meta.dirname, "..", "helpers", "module-probe.mjs");
const ROOT = path.resolve(import.meta.dirname, "..", "..");

interface Loaded {
  /** Project files relative to the repository (dist/…), packages by name, built-ins as node:x. */
  modules: Set<string>;
  /** Node's built-ins, loaded by anything (moduleLoadList), less those the probe alone loads. */
  builtins: Set<string>;
}

let c: KubeClient;
let ns: string;
let dir: string;
let probeAlone: Set<string>;

async function probeOut(name: string): Promise<{ urls: string[]; builtins: string[] }> {
  return JSON.parse(await readFile(path.join(dir, name), "utf8")) as {
    urls: string[];
    builtins: string[];
  };
}

function moduleName(url: string): string {
  if (url.startsWith("node:")) return url;
  const file = url.replace(/^file:\/\//, "");
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  return pkg ? pkg[1]! : path.relative(ROOT, file);
}

async function loadedBy(args: string[]): Promise<Loaded> {
  const out = `${args.join("-").replace(/\W+/g, "_")}.json`;
  const r = await runCli(args, {
    env: { NODE_OPTIONS: `--import ${PROBE}`, VMSNAP_MODULE_PROBE_OUT: path.join(dir, out) },
  });
  assert.equal(r.code, 0, showResult(r));
  const probed = await probeOut(out);
  return {
    modules: new Set(probed.urls.map(moduleName)),
    builtins: new Set(probed.builtins.filter((b) => !probeAlone.has(b))),
  };
}

function assertNone(loaded: Set<string>, forbidden: RegExp, what: string): void {
  const found = [...loaded].filter((m) => forbidden.test(m));
  assert.deepEqual(found, [], `${what} loads ${found.join(", ")}`);
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "startup-modules");
  await makeVm(c, ns, "vm");
  await makeSnapshot(c, ns, "vm-snap", "vm");
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-module-probe-"));
  await promisify(execFile)(process.execPath, ["--import", PROBE, "--eval", ""], {
    env: { ...process.env, VMSNAP_MODULE_PROBE_OUT: path.join(dir, "alone.json") },
  });
  probeAlone = new Set((await probeOut("alone.json")).builtins);
});

after(async () => {
  c?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const OTHER_FACES = /^dist\/(mcp|playground|controller)\//;
const THEIR_LIBRARIES =
  /^(@modelcontextprotocol\/|@kubernetes\/client-node$|zod$|croner$|prom-client$|jsonpath-plus$)/;
const CUT_BUILTINS = /^NativeModule (readline|readline\/promises|perf_hooks)$/;

describe("start-up: what a command loads", () => {
  it("the probe sees the loads (a check that could not fail would prove nothing)", async () => {
    const loaded = await loadedBy(["-n", ns, "list"]);
    assert.ok(loaded.modules.has("dist/cli/commands/list.js"), [...loaded.modules].join(" "));
    assert.ok(loaded.modules.has("commander"), [...loaded.modules].join(" "));
    assert.ok(loaded.builtins.has("NativeModule tls"), [...loaded.builtins].join(" "));
  });

  it("list: no other face, none of their libraries, none of the cut built-ins", async () => {
    const loaded = await loadedBy(["-n", ns, "list"]);
    assertNone(loaded.modules, OTHER_FACES, "list");
    assertNone(loaded.modules, THEIR_LIBRARIES, "list");
    assertNone(loaded.builtins, CUT_BUILTINS, "list");
  });

  it("--version: the version alone — no command, no client, no commander", async () => {
    const loaded = await loadedBy(["--version"]);
    // net is not in the list: Node loads it for stdout itself when stdout is a pipe, as here.
    assertNone(
      loaded.modules,
      /^dist\/(cli\/commands|kube|platforms|workflows)\/|^commander$/,
      "--version",
    );
    assertNone(loaded.builtins, /^NativeModule (tls|https|http|crypto)$/, "--version");
    assert.ok(loaded.modules.has(path.relative(ROOT, CLI)), [...loaded.modules].join(" "));
  });
});
