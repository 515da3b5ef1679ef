// Fuzzing the CLI's arguments (SPEC §3.1, §6): the real commander program, run in-process with
// captured streams (main(argv, io)) against the real API server as the dedicated vmsnap-fuzz
// identity, plus a sample through real CLI processes. Whatever the input: no crash, exit 2 with
// the field named for an invalid name, never exit 0 for one, no write, and no request path that
// carries an invalid name.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import fc from "fast-check";
import { main } from "../../src/cli/program.js";
import type { CliIo } from "../../src/cli/io.js";
import type { KubeClient } from "../../src/kube/client.js";
import { FUZZ } from "../../src/playground/identities.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { requestsSince } from "../helpers/audit.js";
import { runCli } from "../helpers/cli.js";
import { invalidName, isValidName, validName } from "./arbitraries.js";
import { WRITE_VERBS, type AuditEvent } from "../../src/playground/audit.js";

const IN_PROCESS_RUNS = 10_000;
const PROCESS_RUNS = 40;

let admin: KubeClient;
let ns: string;
let kubeconfig: string;
let started: Date;

before(async () => {
  admin = await adminClient();
  // An empty namespace: valid names find nothing there, so nothing can be written.
  ns = await newNamespace(admin, "fuzz-cli");
  kubeconfig = kubeconfigOf(FUZZ.name);
  started = new Date();
});

after(() => admin?.close());

type Field = "VM" | "namespace" | "snapshot" | "clone target";

interface Case {
  argv: string[];
  /** The name fields the case fills, with the value given. */
  names: [Field, string][];
  /** Every generated value (names and --confirm). */
  values: string[];
}

/** A name as a typo, an attacker or a prompt-injected agent would write it; valid now and then. */
// Mostly invalid: a valid command line costs a real session (tens of ms), an invalid one none.
const name = fc.oneof({ weight: 12, arbitrary: invalidName }, { weight: 1, arbitrary: validName });
const format = fc.constantFrom("table", "wide", "json", "yaml", "name");
const flags = (...f: string[]) => fc.subarray(f);

const command: fc.Arbitrary<Case> = fc
  .record({
    ns: fc.oneof(
      { weight: 1, arbitrary: fc.constant<string | undefined>(undefined) },
      { weight: 3, arbitrary: name },
    ),
    output: format,
    cmd: fc.oneof(
      fc.record({ c: fc.constant("vms"), vm: fc.option(name), f: flags("-A") }),
      fc.record({ c: fc.constant("list"), vm: fc.option(name), f: flags("-A", "--tree") }),
      fc.record({ c: fc.constant("check"), vm: name, f: flags() }),
      fc.record({ c: fc.constant("describe"), snap: name, f: flags() }),
      fc.record({
        c: fc.constant("create"),
        vm: name,
        to: fc.option(name),
        f: flags("--yes", "--dry-run", "--stop", "--no-wait"),
      }),
      fc.record({
        c: fc.constant("restore"),
        vm: name,
        snap: name,
        confirm: fc.option(name),
        f: flags("--yes", "--dry-run", "--stop", "--no-safety-snapshot"),
      }),
      fc.record({
        c: fc.constant("clone"),
        snap: name,
        to: name,
        f: flags("--yes", "--dry-run", "--no-wait"),
      }),
      fc.record({
        c: fc.constant("delete"),
        snap: name,
        confirm: fc.option(name),
        f: flags("--dry-run", "--no-wait"),
      }),
    ),
  })
  .map(({ ns: n, output, cmd }) => {
    const c = cmd as {
      c: string;
      vm?: string | null;
      snap?: string;
      to?: string | null;
      confirm?: string | null;
      f: string[];
    };
    const names: [Field, string][] = [];
    const argv = ["--kubeconfig", kubeconfig, "-o", output];
    // Without -n the fuzz namespace is used; with it, the generated one.
    argv.push("-n", n ?? ns);
    if (n !== undefined) names.push(["namespace", n]);
    argv.push(c.c);
    if (c.vm !== undefined && c.vm !== null) {
      argv.push(c.vm);
      names.push(["VM", c.vm]);
    }
    if (c.snap !== undefined) {
      argv.push(c.snap);
      names.push(["snapshot", c.snap]);
    }
    if (c.c === "create" && typeof c.to === "string") {
      argv.push("--name", c.to);
      names.push(["snapshot", c.to]);
    }
    if (c.c === "clone" && typeof c.to === "string") {
      argv.push("--to", c.to);
      names.push(["clone target", c.to]);
    }
    // --confirm is compared with the snapshot name, not validated: it can only fail to match.
    if (typeof c.confirm === "string") argv.push("--confirm", c.confirm);
    argv.push(...c.f);
    const values = [
      ...names.map(([, v]) => v),
      ...(typeof c.confirm === "string" ? [c.confirm] : []),
    ];
    return { argv, names, values };
  });

/** Flag values: durations, formats and enums, each refused with the flag named. */
const badFlag: fc.Arbitrary<{ argv: string[]; flag: RegExp; value: string }> = fc.oneof(
  fc
    .oneof(invalidName, fc.constantFrom("0", "-5s", "5", "1y", "1.5.5s", "9".repeat(40) + "h"))
    .map((d) => ({ argv: ["create", "vm", "--deadline", d], flag: /--deadline/, value: d })),
  fc.oneof(invalidName, fc.constantFrom("4m", "241m", "10")).map((d) => ({
    argv: ["create", "vm", "--quiesce-timeout", d],
    flag: /quiesce timeout/,
    value: d,
  })),
  invalidName
    .filter((o) => !["table", "wide", "json", "yaml", "name"].includes(o))
    .map((o) => ({ argv: ["-o", o, "vms"], flag: /output format/, value: o })),
  invalidName.map((v) => ({
    argv: ["create", "vm", "--consistency", v],
    flag: /--consistency/,
    value: v,
  })),
  invalidName.map((v) => ({ argv: ["create", "vm", "--keep-ip", v], flag: /--keep-ip/, value: v })),
);

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

async function runInProcess(argv: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIo = { stdin, stdout, stderr, env: { NO_COLOR: "1" }, exitCode: undefined };
  const code = await main(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const STACK = /\n\s+at \S.*:\d+:\d+\)?$/m;

function checkOutcome(c: Case, r: { code: number | null; stdout: string; stderr: string }) {
  const what = `${JSON.stringify(c.argv.slice(2))} → exit ${r.code}\n${r.stderr}${r.stdout}`;
  const out = r.stdout + r.stderr;
  assert.doesNotMatch(out, STACK, `a stack trace: ${what}`);
  assert.doesNotMatch(out, /TypeError|ReferenceError|RangeError|SyntaxError/, what);
  // No VM exists in the fuzz namespace: nothing can succeed beyond listing, nor fail otherwise.
  assert.ok([0, 2, 3, 4].includes(r.code ?? -1), `unexpected exit: ${what}`);
  const invalid = c.names.filter(([, v]) => !isValidName(v));
  if (invalid.length === 0) return;
  // A value that starts with "-" is commander's to parse as an option (-q, -h, --dry-run…), not
  // a name: the general checks above and the audit check below cover it.
  if (c.values.some((v) => v.startsWith("-"))) return;
  assert.equal(r.code, 2, `an invalid name must exit 2: ${what}`);
  const kinds = invalid.map(([k]) => k.replace(" ", "\\s"));
  assert.match(out, new RegExp(`invalid (${kinds.join("|")}) name`), what);
}

/** Every namespace and object name in a request path (or name field selector) is valid. */
function namesInPath(e: AuditEvent): string[] {
  const url = new URL(e.requestURI, "https://x");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const out: string[] = [];
  const i = parts.indexOf("namespaces");
  if (i >= 0 && parts[i + 1] !== undefined) out.push(parts[i + 1]!);
  // /api/v1/namespaces/<ns>/<plural>/<name> or /apis/<g>/<v>/namespaces/<ns>/<plural>/<name>
  if (i >= 0 && parts[i + 3] !== undefined) out.push(parts[i + 3]!);
  const field = url.searchParams.get("fieldSelector");
  const m = field ? /^metadata\.name=(.*)$/.exec(field) : null;
  if (m) out.push(m[1]!);
  return out;
}

async function assertAuditClean(since: Date): Promise<number> {
  const events = await requestsSince(since, FUZZ.name);
  const writes = events.filter((e) => WRITE_VERBS.has(e.verb));
  assert.deepEqual(
    writes.map((e) => `${e.verb} ${e.requestURI}`),
    [],
    "the fuzz identity wrote",
  );
  const bad = events.filter((e) => namesInPath(e).some((n) => !isValidName(n)));
  assert.deepEqual(
    bad.map((e) => `${e.verb} ${e.requestURI}`),
    [],
    "a request path carries an invalid name",
  );
  return events.length;
}

describe(`fuzz: CLI arguments (${IN_PROCESS_RUNS} in-process + ${PROCESS_RUNS} processes)`, () => {
  it(`${IN_PROCESS_RUNS} generated command lines in-process: no crash, exit 2 naming the field, never 0 for an invalid name`, async (t) => {
    let count = 0;
    const exits = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(command, async (c) => {
        count++;
        const r = await runInProcess(c.argv);
        exits.set(r.code, (exits.get(r.code) ?? 0) + 1);
        checkOutcome(c, r);
      }),
      { numRuns: IN_PROCESS_RUNS },
    );
    assert.equal(count, IN_PROCESS_RUNS);
    t.diagnostic(
      `${count} generated command lines; exit codes: ${[...exits]
        .sort()
        .map(([k, v]) => `${k}×${v}`)
        .join(", ")}`,
    );
  });

  it("invalid flag values (durations, formats, enums): exit 2 naming the flag", async () => {
    await fc.assert(
      fc.asyncProperty(badFlag, async ({ argv, flag, value }) => {
        const r = await runInProcess(["--kubeconfig", kubeconfig, "-n", ns, ...argv]);
        const what = `${JSON.stringify(argv)} → ${r.code}\n${r.stderr}`;
        if (value.startsWith("-")) {
          // A value that looks like an option is commander's: a usage error, or the help.
          assert.ok(r.code === 2 || (r.code === 0 && /^Usage: /m.test(r.stdout)), what);
        } else {
          assert.equal(r.code, 2, what);
          assert.match(r.stderr + r.stdout, flag, what);
        }
        assert.doesNotMatch(r.stderr, STACK, what);
      }),
      { numRuns: 1000 },
    );
  });

  it(`${PROCESS_RUNS} generated invalid command lines through real CLI processes`, async () => {
    const cases = fc.sample(
      // A NUL byte cannot be passed in a process's argv at all.
      command.filter(
        (c) =>
          c.names.some(([, v]) => !isValidName(v)) && !c.argv.some((a) => a.includes("\u0000")),
      ),
      { numRuns: PROCESS_RUNS, seed: Date.now() & 0xffff },
    );
    // Four processes at a time: the machine is small.
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async (c) => {
          const r = await runCli(c.argv.slice(2), { user: FUZZ.name });
          checkOutcome(c, r);
        }),
      );
    }
  });

  it("the audit log: no write by the fuzz identity, no request path with an invalid name", async () => {
    const requests = await assertAuditClean(started);
    // Valid names did reach the server: the check above had requests to look at.
    assert.ok(requests > 0, "some generated command lines were valid and were sent");
  });
});
