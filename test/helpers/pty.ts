// Running the built CLI inside a real pseudo-terminal, without native modules: util-linux
// `script` allocates the pty, forwards our writes to it and (-e) exits with the child's code.
// The child sees isTTY on stdin, stdout and stderr, so the CLI's confirmation is interactive.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { CLI } from "./cli.js";
import { kubeconfigOf } from "./env.js";

export interface PtyOptions {
  /** Identity to run as (default: vmsnap-user). */
  user?: string;
  /** Kubeconfig path (overrides user). */
  kubeconfig?: string;
  env?: Record<string, string>;
  /** Terminal width (a wide one keeps long prompts on one line). */
  columns?: number;
  /** Default timeout of expect() and done(). */
  timeoutMs?: number;
  /** Runs this command line instead of the CLI (e.g. an interactive shell); args are ignored. */
  command?: string[];
}

export interface PtyResult {
  code: number | null;
  /** Everything the terminal showed (stdout and stderr together), ANSI sequences and CRs removed. */
  output: string;
}

export interface PtySession {
  /**
   * Waits until the output after the previous match matches the pattern; fails with the output so
   * far after the timeout, or if the process exits first.
   */
  expect(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Types into the terminal (e.g. "y\n"). */
  send(text: string): void;
  /** Waits for the process to exit. */
  done(timeoutMs?: number): Promise<PtyResult>;
  /** The output so far (cleaned as in PtyResult). */
  readonly output: string;
  /** Kills the pty (the child gets SIGHUP). */
  kill(): void;
  /** Sends a signal to the CLI process itself (script's child), e.g. SIGTERM from a supervisor. */
  signal(name: NodeJS.Signals): void;
}

/** Quotes one word for /bin/sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

// CSI sequences (cursor moves, erase line, colours) and OSC sequences.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function cleanTerminalText(raw: string): string {
  return raw.replace(ANSI, "").replace(/\r/g, "");
}

export function startPty(args: string[], options: PtyOptions = {}): PtySession {
  const kubeconfig = options.kubeconfig ?? kubeconfigOf(options.user ?? VMSNAP_USER.name);
  const defaultTimeout = options.timeoutMs ?? 30_000;
  const cols = options.columns ?? 250;
  const command = [
    `stty cols ${cols} rows 50 2>/dev/null;`,
    "exec",
    ...(options.command ?? [process.execPath, CLI, ...args]).map(shellQuote),
  ].join(" ");
  const child = spawn("script", ["-q", "-e", "-f", "-c", command, "/dev/null"], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      TERM: "dumb",
      NO_COLOR: "1",
      SHELL: "/bin/sh",
      ...options.env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });

  let raw = "";
  let cursor = 0;
  let exited: { code: number | null } | undefined;
  let spawnError: Error | undefined;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  const onData = (d: Buffer) => {
    raw += d.toString("utf8");
    notify();
  };
  child.stdout.on("data", onData);
  // script itself reports its own problems on stderr; keep them in the transcript.
  child.stderr.on("data", onData);
  child.stdin.on("error", () => undefined);
  child.on("error", (err) => {
    spawnError = err;
    notify();
  });
  child.on("close", (code) => {
    exited = { code };
    notify();
  });

  const text = () => cleanTerminalText(raw);

  /** Resolves when check() returns a value; rejects on timeout with the transcript. */
  function waitUntil<T>(
    what: string,
    check: () => T | undefined,
    timeoutMs: number,
    failOnExit: boolean,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (err?: Error, value?: T) => {
        clearTimeout(timer);
        listeners.delete(listener);
        if (err) reject(err);
        else resolve(value as T);
      };
      const fail = (why: string) =>
        finish(
          new Error(
            `${why} while waiting for ${what}\n--- terminal output so far ---\n${text()}\n--- end ---`,
          ),
        );
      const listener = () => {
        if (spawnError) return fail(`cannot run script(1): ${spawnError.message}`);
        const v = check();
        if (v !== undefined) return finish(undefined, v);
        if (failOnExit && exited) fail(`the process exited with code ${exited.code}`);
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      listeners.add(listener);
      listener();
    });
  }

  return {
    expect(pattern, timeoutMs = defaultTimeout) {
      const re = new RegExp(pattern.source, pattern.flags.replace("g", ""));
      return waitUntil(
        String(pattern),
        () => {
          const all = text();
          const m = re.exec(all.slice(cursor));
          if (!m) return undefined;
          cursor += m.index + m[0].length;
          return m;
        },
        timeoutMs,
        true,
      );
    },
    send(input) {
      child.stdin.write(input);
    },
    async done(timeoutMs = defaultTimeout) {
      try {
        await waitUntil("the process to exit", () => (exited ? true : undefined), timeoutMs, false);
      } catch (err) {
        child.kill("SIGKILL");
        throw err;
      }
      return { code: exited!.code, output: text() };
    },
    get output() {
      return text();
    },
    kill() {
      if (!exited) child.kill("SIGKILL");
    },
    signal(name) {
      // script runs the command through sh -c "… exec node …": its only child is the CLI.
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8")
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      assert.equal(children.length, 1, `script's children: ${children.join(" ")}`);
      process.kill(Number(children[0]), name);
    },
  };
}
