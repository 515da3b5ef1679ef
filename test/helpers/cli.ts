// Running the built CLI as a process, as a given identity, against the shared environment.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { kubeconfigOf } from "./env.js";

export const CLI = path.resolve(import.meta.dirname, "..", "..", "dist", "cli", "main.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Identity to run as (default: vmsnap-user, the identity vmsnap runs as in tests). */
  user?: string;
  /** Kubeconfig path (overrides user). */
  kubeconfig?: string;
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** The CLI as a running process (to signal it), and its result once it exits. */
export function startCli(
  args: string[],
  options: CliOptions = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const kubeconfig = options.kubeconfig ?? kubeconfigOf(options.user ?? VMSNAP_USER.name);
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: "1", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A process may exit before reading its input (usage errors, --version): not an error.
    child.stdin!.on("error", () => {});
    child.stdin!.end(options.input ?? "");
  });
  return { child, done };
}

/** Parses stdout as JSON (for -o json). */
/** A CLI run for an assertion's message: the exit code, stdout and stderr. */
export const showResult = (r: CliResult): string =>
  `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

export function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(
      `stdout is not JSON (exit ${r.code}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`,
    );
  }
}
