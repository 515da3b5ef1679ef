// Locating (and, once, building) the control-plane binaries.
// Order: KUBEBUILDER_ASSETS (the envtest convention) → etcd on PATH or Debian's etcd-server →
// kube-apiserver and kubectl built from the published Go modules into a cache outside the repo.
import { existsSync } from "node:fs";
import { mkdir, writeFile, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";

export const KUBERNETES_VERSION = "1.33.13";

/** Staging modules that k8s.io/kubernetes maps to ./staging; each needs a replace to its published tag. */
const STAGING_MODULES = [
  "api",
  "apiextensions-apiserver",
  "apimachinery",
  "apiserver",
  "cli-runtime",
  "client-go",
  "cloud-provider",
  "cluster-bootstrap",
  "code-generator",
  "component-base",
  "component-helpers",
  "controller-manager",
  "cri-api",
  "cri-client",
  "csi-translation-lib",
  "dynamic-resource-allocation",
  "endpointslice",
  "externaljwt",
  "kms",
  "kube-aggregator",
  "kube-controller-manager",
  "kube-proxy",
  "kube-scheduler",
  "kubectl",
  "kubelet",
  "metrics",
  "mount-utils",
  "pod-security-admission",
  "sample-apiserver",
];

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
}

export type ProgressFn = (line: string) => void;

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache");
  return path.join(base, "vmsnap");
}

export function kubeBuildDir(): string {
  return path.join(cacheRoot(), `kube-v${KUBERNETES_VERSION}`);
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Finds the binaries without building anything; undefined entries are missing. */
export function findBinaries(): Partial<Binaries> {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets) {
    const inAssets = (name: string) =>
      existsSync(path.join(assets, name)) ? path.join(assets, name) : undefined;
    return {
      etcd: inAssets("etcd"),
      kubeApiserver: inAssets("kube-apiserver"),
      kubectl: inAssets("kubectl"),
    };
  }
  const built = path.join(kubeBuildDir(), "bin");
  const etcd = which("etcd") ?? (existsSync("/usr/bin/etcd") ? "/usr/bin/etcd" : undefined);
  return {
    etcd,
    kubeApiserver: existsSync(path.join(built, "kube-apiserver"))
      ? path.join(built, "kube-apiserver")
      : undefined,
    kubectl: existsSync(path.join(built, "kubectl")) ? path.join(built, "kubectl") : undefined,
  };
}

/**
 * Finds the binaries, building kube-apiserver and kubectl once if they are missing (and
 * kube-controller-manager in the same build when it is missing too).
 */
export async function ensureBinaries(progress: ProgressFn = () => {}): Promise<Binaries> {
  let found = findBinaries();
  if (!found.etcd) {
    throw new Error(
      "etcd not found: install Debian's etcd-server (apt-get install etcd-server), put etcd on PATH, " +
        "or set KUBEBUILDER_ASSETS to a directory holding etcd, kube-apiserver and kubectl",
    );
  }
  if (!found.kubeApiserver || !found.kubectl) {
    if (process.env.KUBEBUILDER_ASSETS) {
      throw new Error(
        `KUBEBUILDER_ASSETS=${process.env.KUBEBUILDER_ASSETS} lacks kube-apiserver or kubectl`,
      );
    }
    // kube-controller-manager with them when it is missing too: one build, shared links.
    const kcm = path.join(kubeBuildDir(), "bin", "kube-controller-manager");
    await buildKubeBinaries(progress, [
      "kube-apiserver",
      "kubectl",
      ...(existsSync(kcm) ? [] : (["kube-controller-manager"] as const)),
    ]);
    found = findBinaries();
  }
  return found as Binaries;
}

/** The commands built from k8s.io/kubernetes; kube-controller-manager runs beside the API server. */
export const KUBE_COMMANDS = ["kube-apiserver", "kubectl", "kube-controller-manager"] as const;
export type KubeCommand = (typeof KUBE_COMMANDS)[number];

/** The Go toolchain, needed once to build what is missing. */
export function findGo(what: string): string {
  const go =
    which("go") ?? (existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : undefined);
  if (!go)
    throw new Error(`${what} is not built yet and Go is not installed (needed once to build it)`);
  return go;
}

/**
 * Builds kube-apiserver, kubectl and kube-controller-manager (or the given subset) from the
 * published Go modules: a wrapper module requires k8s.io/kubernetes and replaces every staging
 * module with its published v0.x tag (Go ignores the replaces inside a dependency, so
 * `go install k8s.io/kubernetes/...@v1.x` is refused). All share one module graph and build cache.
 */
export async function buildKubeBinaries(
  progress: ProgressFn = () => {},
  commands: readonly KubeCommand[] = ["kube-apiserver", "kubectl"],
): Promise<void> {
  const go = findGo(commands.join(" and "));
  const dir = kubeBuildDir();
  const src = path.join(dir, "src");
  const bin = path.join(dir, "bin");
  await mkdir(src, { recursive: true });
  await mkdir(bin, { recursive: true });
  const staging = KUBERNETES_VERSION.replace(/^1\./, "0.");
  const goMod = [
    "module vmsnap.local/kubebuild",
    "",
    "go 1.24.0",
    "",
    `require k8s.io/kubernetes v${KUBERNETES_VERSION}`,
    "",
    "replace (",
    ...STAGING_MODULES.map((m) => `\tk8s.io/${m} => k8s.io/${m} v${staging}`),
    ")",
    "",
  ].join("\n");
  await writeFile(path.join(src, "go.mod"), goMod);
  await writeFile(
    path.join(src, "tools.go"),
    `//go:build tools\n\npackage kubebuild\n\nimport (\n${KUBE_COMMANDS.map((c) => `\t_ "k8s.io/kubernetes/cmd/${c}"\n`).join("")})\n`,
  );
  const [major, minor] = KUBERNETES_VERSION.split(".");
  const ldflags = [
    "-s -w",
    ...["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((pkg) => [
      `-X ${pkg}.gitVersion=v${KUBERNETES_VERSION}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    ]),
  ].join(" ");
  const env = { ...process.env, GOFLAGS: "-mod=mod", CGO_ENABLED: "0" };
  progress(
    `building ${commands.join(", ")} v${KUBERNETES_VERSION} from Go modules into ${dir} (once; several minutes cold)`,
  );
  const started = Date.now();
  progress("resolving Go modules (go mod tidy)…");
  await run(go, ["mod", "tidy"], src, env, progress);
  // One `go build` for all of them: one action graph, their links run side by side.
  progress(`compiling ${commands.join(", ")}…`);
  const tmp = path.join(bin, ".building");
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await run(
    go,
    [
      "build",
      "-trimpath",
      "-ldflags",
      ldflags,
      "-o",
      `${tmp}${path.sep}`,
      ...commands.map((cmd) => `k8s.io/kubernetes/cmd/${cmd}`),
    ],
    src,
    env,
    progress,
  );
  for (const cmd of commands) await rename(path.join(tmp, cmd), path.join(bin, cmd));
  await rm(tmp, { recursive: true, force: true });
  progress(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await rm(path.join(src, "go.sum.lock"), { force: true });
}

/** Runs a Go command, with progress every 30 s and the output's tail in the error. */
export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  progress: ProgressFn,
  onStdout?: (text: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    let downloads = 0;
    const ticker = setInterval(
      () =>
        progress(
          `  … still working (${args[0]}${downloads ? `, ${downloads} modules downloaded` : ""})`,
        ),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      downloads += (text.match(/go: downloading/g) ?? []).length;
      tail = (tail + text).slice(-4000);
    };
    child.stdout.on("data", (chunk: Buffer) => {
      onStdout?.(chunk.toString());
      onData(chunk);
    });
    child.stderr.on("data", onData);
    child.on("error", (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on("close", (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else
        reject(
          new Error(`${path.basename(cmd)} ${args.join(" ")} failed (exit ${code}):\n${tail}`),
        );
    });
  });
}
