// `vmsnap playground up|down|status|env`: the local stack as a background daemon.
// `up` builds what is missing (in the foreground, with progress), starts the daemon, waits until it
// is ready and seeded; `down` stops it and leaves nothing running.
import { spawn } from "node:child_process";
import { openSync, watch } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { findBinaries, type ProgressFn } from "./binaries.js";
import { startEnvironment } from "./environment.js";
import { ensurePlaygroundBinaries } from "./setup.js";
import { startPlaygroundController } from "./controller.js";
import { ADMIN, VMSNAP_USER } from "./identities.js";
import { seedPlayground, DECKHOUSE_SAMPLE_VMS, SAMPLE_VMS } from "./seed.js";

export interface PlaygroundState {
  pid: number;
  server: string;
  kubeconfig: string;
  /** vmsnap-user's kubeconfig: only the operator roles of deploy/rbac/. */
  leastPrivilegeKubeconfig?: string;
  dir: string;
  startedAt: string;
  readyMs: number;
  pids: { etcd?: number; apiserver?: number };
  kubectl?: string;
  auditLog: string;
  /** The policy controller's /metrics, /healthz and /readyz. */
  controllerUrl?: string;
}

export function playgroundDir(): string {
  if (process.env.VMSNAP_PLAYGROUND_DIR) return path.resolve(process.env.VMSNAP_PLAYGROUND_DIR);
  const base = process.env.XDG_STATE_HOME || path.join(homedir(), ".local", "state");
  return path.join(base, "vmsnap", "playground");
}

const stateFile = (dir: string) => path.join(dir, "state.json");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function readState(dir = playgroundDir()): Promise<PlaygroundState | undefined> {
  try {
    const state = JSON.parse(await readFile(stateFile(dir), "utf8")) as PlaygroundState;
    return alive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

export function envLine(state: Pick<PlaygroundState, "kubeconfig">): string {
  return `export KUBECONFIG=${state.kubeconfig}`;
}

/** Starts the playground daemon unless it is already running (idempotent). */
export async function playgroundUp(
  progress: ProgressFn,
  dir = playgroundDir(),
): Promise<{ state: PlaygroundState; started: boolean }> {
  const running = await readState(dir);
  if (running) return { state: running, started: false };
  await ensurePlaygroundBinaries(progress);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const logPath = path.join(dir, "daemon.log");
  const log = openSync(logPath, "a");
  const main = process.argv[1];
  if (!main) throw new Error("cannot locate the vmsnap entry point");
  progress(
    "starting the playground daemon (etcd, kube-apiserver, CRDs, admission webhooks, simulated controllers)",
  );
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [...process.execArgv, main, "playground", "serve", "--dir", dir],
    {
      detached: true,
      stdio: ["ignore", log, log],
      env: process.env,
    },
  );
  child.unref();
  const state = await new Promise<PlaygroundState>((resolve, reject) => {
    const check = async () => {
      const s = await readState(dir);
      if (s) finish(undefined, s);
    };
    const watcher = watch(dir, () => void check());
    const onExit = (code: number | null) =>
      void readFile(logPath, "utf8")
        .catch(() => "")
        .then((log) => {
          const tail = log.split("\n").slice(-15).join("\n");
          finish(
            new Error(
              `the playground daemon exited (code ${code}) before it was ready; ${logPath}:\n${tail}`,
            ),
          );
        });
    child.once("exit", onExit);
    const timer = setTimeout(
      () => finish(new Error(`the playground was not ready after 180 s; see ${logPath}`)),
      180_000,
    );
    const finish = (err?: Error, s?: PlaygroundState) => {
      clearTimeout(timer);
      watcher.close();
      child.removeListener("exit", onExit);
      if (err) reject(err);
      else resolve(s!);
    };
    void check();
  });
  progress(`playground ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { state, started: true };
}

/** Stops the daemon (SIGTERM, then SIGKILL) and removes its state; true if one was running. */
export async function playgroundDown(dir = playgroundDir()): Promise<boolean> {
  let state: PlaygroundState | undefined;
  try {
    state = JSON.parse(await readFile(stateFile(dir), "utf8")) as PlaygroundState;
  } catch {
    state = undefined;
  }
  if (!state) {
    await rm(dir, { recursive: true, force: true });
    return false;
  }
  const pids = [state.pid, state.pids.apiserver, state.pids.etcd].filter(
    (p): p is number => typeof p === "number",
  );
  if (alive(state.pid)) process.kill(state.pid, "SIGTERM");
  // Waiting for another process to exit has no event to watch; check liveness briefly.
  const deadline = Date.now() + 20_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) process.kill(pid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
  return true;
}

/** The daemon itself (`vmsnap playground serve`, hidden): runs until SIGTERM or SIGINT. */
export async function playgroundServe(dir: string): Promise<void> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const started = Date.now();
  const env = await startEnvironment({ dir: path.join(dir, "control-plane"), progress: log, log });
  // The policy controller runs beside the simulators, as deploy/controller/'s ServiceAccount.
  const controller = await startPlaygroundController((user) => env.controlPlane.kubeconfig(user), {
    listen: "127.0.0.1:0",
    log,
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    await controller.stop().catch((e) => log(`controller stop: ${(e as Error).message}`));
    await env.stop().catch((e) => log(`stop: ${(e as Error).message}`));
    await rm(stateFile(dir), { force: true });
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  await seedPlayground(env.admin);
  await env.simulator?.idle();
  const kubeconfig = path.join(dir, "kubeconfig");
  await writeFile(kubeconfig, await readFile(env.controlPlane.kubeconfig(ADMIN.name), "utf8"), {
    mode: 0o600,
  });
  // To try vmsnap with exactly the permissions deploy/rbac/ grants.
  const leastPrivilegeKubeconfig = path.join(dir, "kubeconfig-vmsnap-operator");
  await writeFile(
    leastPrivilegeKubeconfig,
    await readFile(env.controlPlane.kubeconfig(VMSNAP_USER.name), "utf8"),
    { mode: 0o600 },
  );
  const state: PlaygroundState = {
    pid: process.pid,
    server: env.info.server,
    kubeconfig,
    leastPrivilegeKubeconfig,
    dir,
    startedAt: new Date(started).toISOString(),
    readyMs: Date.now() - started,
    pids: env.info.pids,
    kubectl: findBinaries().kubectl,
    auditLog: env.info.auditLogPath,
    controllerUrl: controller.metricsUrl,
  };
  await writeFile(stateFile(dir) + ".tmp", JSON.stringify(state, null, 2));
  await rm(stateFile(dir), { force: true });
  await rename(stateFile(dir) + ".tmp", stateFile(dir));
  log(`ready: ${env.info.server} (${SAMPLE_VMS.length} sample VMs)`);
}

export { DECKHOUSE_SAMPLE_VMS, SAMPLE_VMS };
