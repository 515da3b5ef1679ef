// Child processes that must never outlive their owner: on stop(), on Ctrl-C, on an uncaught
// failure, and even when the owner is killed with SIGKILL (a watchdog notices its stdin close).
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";

const live = new Set<ManagedProcess>();
const exitCleanups = new Set<() => void>();
let hooksInstalled = false;

/** Registers synchronous clean-up (e.g. removing a tmpfs data dir) to run if the process dies. */
export function onExitSync(fn: () => void): () => void {
  installExitHooks();
  exitCleanups.add(fn);
  return () => exitCleanups.delete(fn);
}

function killAllNow(): void {
  for (const p of live) p.killNow();
  for (const fn of exitCleanups) {
    try {
      fn();
    } catch {
      // best effort while exiting
    }
  }
  exitCleanups.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = () => {
      killAllNow();
      // A program with its own handler for the signal (the playground daemon) finishes its clean
      // shutdown itself; otherwise keep the default behaviour: exit by the signal.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, handler);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, handler);
  }
}

// The watchdog is a second tiny node process holding a pipe from us. When this process dies by
// any means the pipe closes, and the watchdog kills what we registered.
const WATCHDOG_SOURCE = `
const pids = new Set();
let buf = "";
process.stdin.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const [op, pid] = line.split(" ");
    if (op === "+") pids.add(Number(pid)); else pids.delete(Number(pid));
  }
});
process.stdin.on("end", () => {
  for (const pid of pids) { try { process.kill(pid, "SIGTERM"); } catch {} }
  setTimeout(() => { for (const pid of pids) { try { process.kill(pid, "SIGKILL"); } catch {} } process.exit(0); }, 3000).unref();
  if (pids.size === 0) process.exit(0);
});
`;

let watchdog: ChildProcess | undefined;

function watchdogTell(line: string): void {
  if (!watchdog) {
    watchdog = spawn(process.execPath, ["-e", WATCHDOG_SOURCE], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    watchdog.unref();
    // The pipe must not keep our event loop alive.
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
    (watchdog.stdin as unknown as { _handle?: { unref?: () => void } })._handle?.unref?.();
    watchdog.stdin?.on("error", () => {});
  }
  watchdog.stdin?.write(line + "\n");
}

export class ManagedProcess {
  readonly child: ChildProcess;
  private exited = false;
  readonly exitPromise: Promise<number | null>;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    logFile: string,
  ) {
    installExitHooks();
    const log = createWriteStream(logFile, { flags: "a" });
    this.child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    this.exitPromise = new Promise((resolve) => {
      this.child.once("exit", (code) => {
        this.exited = true;
        live.delete(this);
        if (this.child.pid) watchdogTell(`- ${this.child.pid}`);
        resolve(code);
      });
      this.child.once("error", () => {
        this.exited = true;
        live.delete(this);
        resolve(null);
      });
    });
    live.add(this);
    if (this.child.pid) watchdogTell(`+ ${this.child.pid}`);
  }

  get running(): boolean {
    return !this.exited;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  killNow(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

/** Resolves when the process exits, to race against readiness checks. */
export async function exitOf(p: ManagedProcess): Promise<never> {
  const code = await p.exitPromise;
  throw new Error(`${p.name} exited early (code ${code})`);
}
