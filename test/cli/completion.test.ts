// Shell completion against the real API server: the `__complete` protocol (cobra's, as kubectl
// speaks it), the bash, zsh and fish scripts run in the real shells, and `kubectl vmsnap …`
// completed by kubectl itself through kubectl_complete-vmsnap.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { findBinaries } from "../../src/playground/binaries.js";
import { KubeVirt, apiVersionOf } from "../../src/kube/resources.js";
import { vmManifest } from "../../src/playground/fixtures.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { CLI, runCli } from "../helpers/cli.js";
import { shellQuote, startPty } from "../helpers/pty.js";

const exec = promisify(execFile);
let binDir: string;
let ns: string;
let env: Record<string, string>;

interface Completed {
  values: string[];
  descriptions: Map<string, string>;
  directive: number;
}

function parse(stdout: string): Completed {
  const lines = stdout.split("\n").filter(Boolean);
  const last = lines.pop() ?? "";
  assert.match(last, /^:\d+$/, `the last line is the directive:\n${stdout}`);
  const descriptions = new Map<string, string>();
  const values = lines.map((l) => {
    const [v, d] = l.split("\t");
    if (d) descriptions.set(v!, d);
    return v!;
  });
  return { values, descriptions, directive: Number(last.slice(1)) };
}

async function complete(...words: string[]): Promise<Completed> {
  const r = await runCli(["__complete", ...words]);
  assert.equal(r.code, 0, r.stderr);
  return parse(r.stdout);
}

const NO_FILES = 4;

before(async () => {
  binDir = await mkdtemp(path.join(tmpdir(), "completion-"));
  for (const name of ["vmsnap", "kubectl-vmsnap", "kubectl_complete-vmsnap"])
    await symlink(CLI, path.join(binDir, name));
  const c = await adminClient();
  ns = await newNamespace(c, "compl");
  for (const vm of ["web", "db"])
    await c.create(KubeVirt.vms, vmManifest({ name: vm, namespace: ns, runStrategy: "Halted" }));
  for (const [name, vm] of [
    ["web-before-upgrade", "web"],
    ["web-later", "web"],
    ["db-before-upgrade", "db"],
  ] as const)
    await c.create(KubeVirt.snapshots, {
      apiVersion: apiVersionOf(KubeVirt.snapshots),
      kind: "VirtualMachineSnapshot",
      metadata: { name, namespace: ns },
      spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
    });
  c.close();
  env = {
    ...(process.env as Record<string, string>),
    PATH: `${binDir}:${path.dirname(findBinaries().kubectl!)}:${path.dirname(process.execPath)}:${process.env.PATH}`,
    KUBECONFIG: kubeconfigOf(VMSNAP_USER.name),
    NO_COLOR: "1",
  };
});

after(async () => {
  await rm(binDir, { recursive: true, force: true });
});

describe("vmsnap __complete (cobra's protocol)", () => {
  it("commands and flags come from the program; hidden ones stay hidden", async () => {
    const top = await complete("");
    for (const c of [
      "vms",
      "check",
      "create",
      "list",
      "describe",
      "restore",
      "delete",
      "completion",
    ])
      assert.ok(top.values.includes(c), `${c} in ${top.values.join(" ")}`);
    assert.ok(!top.values.some((v) => v.startsWith("__")), top.values.join(" "));
    assert.equal(top.directive, NO_FILES);
    assert.match(top.descriptions.get("restore") ?? "", /restore/i);

    assert.deepEqual((await complete("re")).values.sort(), ["restore", "restore-disk"]);
    // commander's help command is offered as cobra offers its own.
    assert.deepEqual((await complete("playground", "")).values.sort(), [
      "down",
      "env",
      "help",
      "status",
      "up",
    ]);

    const flags = await complete("restore", "--");
    for (const f of ["--stop", "--confirm", "--dry-run", "--no-safety-snapshot", "--namespace"])
      assert.ok(flags.values.includes(f), `${f} in ${flags.values.join(" ")}`);
    assert.ok(!flags.values.includes("--version"), "--version is not a restore flag");
    // A flag already given is not offered again.
    assert.ok(!(await complete("restore", "--stop", "--s")).values.includes("--stop"));
    assert.ok((await complete("-")).values.includes("-n"));
  });

  it("flag and argument values: choices, files for --kubeconfig, none for free text", async () => {
    assert.deepEqual((await complete("-o", "")).values, ["table", "wide", "json", "yaml", "name"]);
    assert.deepEqual((await complete("list", "--output=j")).values, ["--output=json"]);
    assert.deepEqual((await complete("--platform", "d")).values, ["deckhouse"]);
    assert.deepEqual((await complete("create", "web", "--consistency", "")).values, [
      "required",
      "best-effort",
    ]);
    assert.deepEqual((await complete("completion", "")).values, ["bash", "zsh", "fish"]);
    const files = await complete("--kubeconfig", "");
    assert.deepEqual(files, { values: [], descriptions: new Map(), directive: 0 });
    assert.deepEqual((await complete("create", "web", "--name", "")).values, []);
  });

  it("namespaces, VMs and snapshots come from the cluster", async () => {
    const vms = await complete("-n", ns, "restore", "");
    assert.deepEqual(vms.values.sort(), ["db", "web"]);
    assert.equal(vms.descriptions.get("web"), "Stopped");
    assert.equal(vms.directive, NO_FILES);

    // restore VM SNAPSHOT: only that VM's snapshots.
    const ofWeb = await complete("-n", ns, "restore", "web", "");
    assert.deepEqual(ofWeb.values.sort(), ["web-before-upgrade", "web-later"]);
    const all = await complete(`--namespace=${ns}`, "describe", "");
    assert.deepEqual(all.values.sort(), ["db-before-upgrade", "web-before-upgrade", "web-later"]);
    assert.match(all.descriptions.get("db-before-upgrade") ?? "", /^VM db, /);
    assert.deepEqual((await complete("delete", "-n", ns, "web-b")).values, ["web-before-upgrade"]);

    assert.ok((await complete("-n", "")).values.includes(ns));
    assert.ok((await complete("--namespace", ns.slice(0, 6))).values.includes(ns));
  });

  it("contexts come from every kubeconfig file kubectl would merge, the first one winning", async () => {
    const mine = parseYaml(await readFile(kubeconfigOf(VMSNAP_USER.name), "utf8")) as {
      contexts: { name: string }[];
    };
    const own = mine.contexts.map((c) => c.name);
    const dir = await mkdtemp(path.join(tmpdir(), "compl-ctx-"));
    const other = path.join(dir, "other");
    await writeFile(
      other,
      [
        "apiVersion: v1",
        "kind: Config",
        `contexts: [{name: staging, context: {cluster: c2, user: u2, namespace: apps}}, {name: ${own[0]}, context: {cluster: shadowed}}]`,
        "",
      ].join("\n"),
    );
    const merged = await runCli(["__complete", "--context", ""], {
      env: { KUBECONFIG: `${kubeconfigOf(VMSNAP_USER.name)}:${other}` },
    });
    const c = parse(merged.stdout);
    assert.deepEqual(c.values, [...own, "staging"]);
    assert.equal(c.descriptions.get("staging"), "c2, apps");
    assert.notEqual(c.descriptions.get(own[0]!), "shadowed");
    const only = await complete("--kubeconfig", other, "--context", "st");
    assert.deepEqual(only.values, ["staging"]);
    await rm(dir, { recursive: true, force: true });
  });

  it("a confirmation is never completed for the human", async () => {
    for (const words of [
      ["-n", ns, "restore", "web", "web-later", "--confirm", ""],
      ["-n", ns, "delete", "web-later", "--confirm", "web"],
      ["-n", ns, "delete", "web-later", "--confirm="],
    ]) {
      const c = await complete(...words);
      assert.deepEqual(c.values, [], words.join(" "));
      assert.equal(c.directive, NO_FILES);
    }
  });

  it("an unreachable cluster offers nothing and exits 0 at once", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "compl-kc-"));
    const kc = path.join(dir, "config");
    await writeFile(
      kc,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: demo}}]",
        "current-context: x",
        "",
      ].join("\n"),
    );
    const started = Date.now();
    const r = await runCli(["__complete", "restore", ""], { kubeconfig: kc });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout).values, []);
    assert.equal(r.stderr, "");
    // Bounded by the lookup deadline (5 s), not by retries.
    assert.ok(Date.now() - started < 30_000);
    await rm(dir, { recursive: true, force: true });
  });
});

/**
 * Calls a bash completion function as bash does on TAB (COMP_WORDS, COMP_CWORD, COMP_LINE,
 * COMP_POINT), after the setup lines; returns COMPREPLY, one candidate a line.
 */
async function bashCompletion(setup: string[], fn: string, words: string[]): Promise<string[]> {
  const script = [
    ...setup,
    `COMP_WORDS=(${words.map(shellQuote).join(" ")})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE=${shellQuote(words.join(" "))}`,
    "COMP_POINT=${#COMP_LINE}",
    fn,
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const { stdout } = await exec("bash", ["--norc", "--noprofile", "-c", script], { env });
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.trim());
}

const bashComplete = (words: string[]) =>
  bashCompletion(["source <(vmsnap completion bash) || exit 9"], "__vmsnap_complete", words);

describe("vmsnap completion bash|zsh|fish, in the real shells", () => {
  it("bash: the completion function fills COMPREPLY from the cluster", async () => {
    assert.deepEqual((await bashComplete(["vmsnap", "-n", ns, "rest"])).sort(), [
      "restore",
      "restore-disk",
    ]);
    assert.deepEqual((await bashComplete(["vmsnap", "-n", ns, "restore", "web", ""])).sort(), [
      "web-before-upgrade",
      "web-later",
    ]);
    // bash splits --output=j into "--output" "=" "j" and replaces only "j".
    assert.deepEqual(await bashComplete(["vmsnap", "list", "--output", "=", "j"]), ["json"]);
    assert.deepEqual(
      await bashComplete(["vmsnap", "-n", ns, "delete", "db-", "--confirm", ""]),
      [],
    );
  });

  it("bash: TAB in an interactive shell completes a VM name", async () => {
    const pty = startPty([], {
      command: ["bash", "--norc", "--noprofile", "-i"],
      env: { ...env, PS1: "$ ", INPUTRC: "/dev/null" },
    });
    try {
      pty.send("source <(vmsnap completion bash); echo sourced\n");
      await pty.expect(/^sourced$/m);
      // "we" is only web: TAB completes it, then the snapshot after it. The line is not run:
      // Ctrl-A goes back to its start and turns it into an echo ("AR""GS" is not in what is typed).
      pty.send(`vmsnap -n ${ns} restore we\t`);
      pty.send("web-l\t");
      pty.send('\x01echo AR""GS: \n');
      await pty.expect(new RegExp(`^ARGS: vmsnap -n ${ns} restore web web-later$`, "m"));
      pty.send("exit\n");
      await pty.done();
    } finally {
      pty.kill();
    }
  });

  it("zsh: the completion function offers candidates with descriptions", async () => {
    // Inside a real completion widget compadd needs a terminal; _describe and _files are
    // replaced by functions that print what they were given.
    const script = [
      "autoload -Uz compinit && compinit -u -D",
      "source <(vmsnap completion zsh)",
      "_describe() { local -a c; c=(${(P)4}); print -rl -- $c; }",
      "_files() { print -r -- FILES; }",
      "_path_files() { print -r -- DIRS; }",
      `words=(vmsnap -n ${ns} restore web ''); CURRENT=6; _vmsnap`,
      "print -r -- ---",
      "words=(vmsnap --kubeconfig ''); CURRENT=3; _vmsnap",
    ].join("\n");
    const { stdout } = await exec("zsh", ["-f", "-c", script], { env });
    const [snaps, files] = stdout.split("---\n");
    const lines = snaps!.split("\n").filter(Boolean).sort();
    assert.equal(lines.length, 2, stdout);
    assert.match(lines[0]!, /^web-before-upgrade:\S/);
    assert.match(lines[1]!, /^web-later:\S/);
    assert.equal(files!.trim(), "FILES");
  });

  it("fish: complete -C lists the candidates with their descriptions", async () => {
    const script = [
      "vmsnap completion fish | source",
      `complete -C 'vmsnap -n ${ns} restore '`,
      "echo ---",
      `complete -C 'vmsnap -n ${ns} restore web web-'`,
    ].join("\n");
    const { stdout } = await exec("fish", ["--no-config", "-c", script], { env });
    const [vms, snaps] = stdout.split("---\n");
    // fish prints "value<TAB>description".
    const values = (text: string) =>
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0])
        .sort();
    assert.deepEqual(values(vms!), ["db", "web"]);
    assert.match(vms!, /web\tStopped/);
    assert.deepEqual(values(snaps!), ["web-before-upgrade", "web-later"]);
  });
});

describe("kubectl vmsnap: kubectl completes the plugin through kubectl_complete-vmsnap", () => {
  it("kubectl __complete vmsnap … asks kubectl_complete-vmsnap", async () => {
    const kubectl = findBinaries().kubectl!;
    const { stdout } = await exec(kubectl, ["__complete", "vmsnap", "-n", ns, "restore", ""], {
      env,
    });
    const c = parse(stdout);
    assert.deepEqual(c.values.sort(), ["db", "web"]);
    assert.equal(c.directive, NO_FILES);
  });

  it("bash with kubectl's own completion script completes `kubectl vmsnap` arguments", async () => {
    const words = ["kubectl", "vmsnap", "-n", ns, "restore", "web", "web-"];
    // kubectl's bash completion needs the bash-completion package, as its documentation says.
    const setup = [
      "source /usr/share/bash-completion/bash_completion || exit 8",
      "source <(kubectl completion bash) || exit 9",
    ];
    assert.deepEqual((await bashCompletion(setup, "__start_kubectl kubectl", words)).sort(), [
      "web-before-upgrade",
      "web-later",
    ]);
  });
});
