// Upstream controllers in the loop: kube-controller-manager (garbage collector, namespace
// deletion, the PV binder incl. WaitForFirstConsumer, PV protection) and the CSI
// external-snapshotter's snapshot-controller (VolumeSnapshot ↔ content binding, default class).
// Both are built once from the published Go modules into ~/.cache/vmsnap, like kube-apiserver,
// and run beside it; the simulators play only what cannot run here (CSI driver and sidecars,
// kubelet, the platforms' controllers). See docs/adr/0011-upstream-controllers.md.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  buildKubeBinaries,
  cacheRoot,
  findGo,
  kubeBuildDir,
  run,
  type ProgressFn,
} from "./binaries.js";
import { freePort, waitHttpOk, untilReadyOrExit, type ControlPlaneInfo } from "./control-plane.js";
import { KUBE_CONTROLLER_MANAGER, SNAPSHOT_CONTROLLER } from "./identities.js";
import { ManagedProcess } from "./processes.js";

/** kubernetes-csi/external-snapshotter release; its CRDs (crds/csi, upstream-crds) are this tag's. */
export const SNAPSHOTTER_VERSION = "8.6.0";
const SNAPSHOTTER_MODULE = "github.com/kubernetes-csi/external-snapshotter/v8";
const SNAPSHOTTER_CLIENT_MODULE = "github.com/kubernetes-csi/external-snapshotter/client/v8";

/**
 * The kube-controller-manager controllers that run. Not run: the PVC-protection controller (the
 * consumers here are simulated VMs, not pods, so the storage simulator keeps that part), and
 * everything about pods, nodes, services or workloads (nothing here schedules or runs pods).
 */
export const KCM_CONTROLLERS = [
  "garbage-collector-controller",
  "namespace-controller",
  "persistentvolume-binder-controller",
  "persistentvolume-protection-controller",
] as const;

export interface UpstreamControllerBinaries {
  kubeControllerManager: string;
  snapshotController: string;
}

export function snapshotterBuildDir(): string {
  return path.join(cacheRoot(), `external-snapshotter-v${SNAPSHOTTER_VERSION}`);
}

export function findUpstreamControllers(): Partial<UpstreamControllerBinaries> {
  const kcm = path.join(kubeBuildDir(), "bin", "kube-controller-manager");
  const snap = path.join(snapshotterBuildDir(), "bin", "snapshot-controller");
  return {
    kubeControllerManager: existsSync(kcm) ? kcm : undefined,
    snapshotController: existsSync(snap) ? snap : undefined,
  };
}

/** Finds the two controllers, building once what is missing. */
export async function ensureUpstreamControllers(
  progress: ProgressFn = () => {},
): Promise<UpstreamControllerBinaries> {
  let found = findUpstreamControllers();
  if (!found.kubeControllerManager) {
    await buildKubeBinaries(progress, ["kube-controller-manager"]);
  }
  if (!found.snapshotController) await buildSnapshotController(progress);
  found = findUpstreamControllers();
  if (!found.kubeControllerManager || !found.snapshotController)
    throw new Error("kube-controller-manager or snapshot-controller missing after the build");
  return found as UpstreamControllerBinaries;
}

/**
 * Builds cmd/snapshot-controller with the module graph of its own go.mod: a wrapper module
 * requires the tagged module and repeats its replace directives (Go ignores a dependency's
 * replaces), except that its `./client` replace becomes the client module of the same tag.
 */
export async function buildSnapshotController(progress: ProgressFn = () => {}): Promise<void> {
  const go = findGo("snapshot-controller");
  const dir = snapshotterBuildDir();
  const src = path.join(dir, "src");
  const bin = path.join(dir, "bin");
  await mkdir(src, { recursive: true });
  await mkdir(bin, { recursive: true });
  const env = { ...process.env, GOFLAGS: "-mod=mod", CGO_ENABLED: "0" };
  const started = Date.now();
  progress(
    `building snapshot-controller v${SNAPSHOTTER_VERSION} from Go modules into ${dir} (once; a few minutes cold)`,
  );
  const upstreamGoMod = await goModOf(
    go,
    `${SNAPSHOTTER_MODULE}@v${SNAPSHOTTER_VERSION}`,
    src,
    env,
  );
  const goVersion = /^go (\S+)$/m.exec(upstreamGoMod)?.[1] ?? "1.24.0";
  const replaces = [...upstreamGoMod.matchAll(/^replace\s+(\S+)\s+=>\s+(\S+)(?:\s+(\S+))?\s*$/gm)]
    .map(([, from, to, version]) =>
      from === SNAPSHOTTER_CLIENT_MODULE
        ? `\t${from} => ${from} v${SNAPSHOTTER_VERSION}`
        : `\t${from} => ${to}${version ? ` ${version}` : ""}`,
    )
    .filter((line) => !/=> \.\.?\//.test(line));
  await writeFile(
    path.join(src, "go.mod"),
    [
      "module vmsnap.local/snapshotterbuild",
      "",
      `go ${goVersion}`,
      "",
      `require ${SNAPSHOTTER_MODULE} v${SNAPSHOTTER_VERSION}`,
      "",
      "replace (",
      ...replaces,
      ")",
      "",
    ].join("\n"),
  );
  await writeFile(
    path.join(src, "tools.go"),
    `//go:build tools\n\npackage snapshotterbuild\n\nimport _ "${SNAPSHOTTER_MODULE}/cmd/snapshot-controller"\n`,
  );
  progress("resolving Go modules (go mod tidy)…");
  await run(go, ["mod", "tidy"], src, env, progress);
  progress("compiling snapshot-controller…");
  const tmp = path.join(bin, ".snapshot-controller.tmp");
  await run(
    go,
    [
      "build",
      "-trimpath",
      "-ldflags",
      `-s -w -X main.version=v${SNAPSHOTTER_VERSION}`,
      "-o",
      tmp,
      `${SNAPSHOTTER_MODULE}/cmd/snapshot-controller`,
    ],
    src,
    env,
    progress,
  );
  await rename(tmp, path.join(bin, "snapshot-controller"));
  progress(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The go.mod of a module version, from the module proxy (via `go mod download`). */
async function goModOf(
  go: string,
  moduleAtVersion: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  // `go mod download -json` needs a module context; an empty one is enough.
  if (!existsSync(path.join(cwd, "go.mod")))
    await writeFile(path.join(cwd, "go.mod"), "module vmsnap.local/snapshotterbuild\n");
  let out = "";
  await run(
    go,
    ["mod", "download", "-json", moduleAtVersion],
    cwd,
    env,
    () => {},
    (text) => {
      out += text;
    },
  );
  const goModPath = (JSON.parse(out) as { GoMod?: string }).GoMod;
  if (!goModPath) throw new Error(`go mod download ${moduleAtVersion} gave no go.mod`);
  return readFile(goModPath, "utf8");
}

export interface UpstreamControllers {
  pids: { kubeControllerManager?: number; snapshotController?: number };
  stop(): Promise<void>;
}

/**
 * Starts kube-controller-manager and snapshot-controller against a running control plane whose
 * CRDs are installed, and resolves once both are ready: KCM's /healthz on its secure port answers
 * ok, and snapshot-controller serves its metrics endpoint — which it opens only after it has
 * listed VolumeSnapshots, VolumeSnapshotContents and VolumeSnapshotClasses (its CRD check).
 */
export async function startUpstreamControllers(
  info: ControlPlaneInfo,
  bins: UpstreamControllerBinaries,
  progress: ProgressFn = () => {},
): Promise<UpstreamControllers> {
  const kcmIdentity = info.identities[KUBE_CONTROLLER_MANAGER.name];
  const snapIdentity = info.identities[SNAPSHOT_CONTROLLER.name];
  if (!kcmIdentity || !snapIdentity)
    throw new Error(
      `identities ${KUBE_CONTROLLER_MANAGER.name} and ${SNAPSHOT_CONTROLLER.name} are required`,
    );
  const started: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((p) => p.stop()));
  };
  try {
    const startedAt = Date.now();
    const kcmPort = await freePort();
    const snapPort = await freePort();
    const kcmCertDir = path.join(info.dir, "kcm-certs");
    await mkdir(kcmCertDir, { recursive: true });
    progress(`starting kube-controller-manager (${KCM_CONTROLLERS.join(", ")})`);
    const kcm = new ManagedProcess(
      "kube-controller-manager",
      bins.kubeControllerManager,
      [
        `--kubeconfig=${kcmIdentity.kubeconfigPath}`,
        `--controllers=${KCM_CONTROLLERS.join(",")}`,
        // Each controller runs as its own ServiceAccount with the bootstrap RBAC a cluster gives
        // it (system:controller:*), its tokens requested from the API server as upstream does.
        `--use-service-account-credentials=true`,
        `--leader-elect=false`,
        `--secure-port=${kcmPort}`,
        `--bind-address=127.0.0.1`,
        `--cert-dir=${kcmCertDir}`,
        `--profiling=false`,
        `--v=1`,
      ],
      path.join(info.dir, "kube-controller-manager.log"),
    );
    started.push(kcm);
    progress("starting snapshot-controller");
    const snap = new ManagedProcess(
      "snapshot-controller",
      bins.snapshotController,
      [
        `--kubeconfig=${snapIdentity.kubeconfigPath}`,
        `--leader-election=false`,
        `--http-endpoint=127.0.0.1:${snapPort}`,
        // The default 1 s–5 min backoff stays; only the client rate limit is raised, so that a
        // test suite's bursts of snapshots are not throttled to 5 requests a second.
        `--kube-api-qps=100`,
        `--kube-api-burst=200`,
        `--v=2`,
      ],
      path.join(info.dir, "snapshot-controller.log"),
    );
    started.push(snap);
    await Promise.all([
      untilReadyOrExit(kcm, (signal) =>
        waitHttpOk(`https://127.0.0.1:${kcmPort}/healthz`, 120_000, {}, signal),
      ),
      untilReadyOrExit(snap, (signal) =>
        waitHttpOk(`http://127.0.0.1:${snapPort}/metrics`, 120_000, {}, signal),
      ),
    ]);
    progress(
      `kube-controller-manager and snapshot-controller ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    );
    return { pids: { kubeControllerManager: kcm.pid, snapshotController: snap.pid }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
