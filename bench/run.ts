// vmsnap's benchmarks, side by side with kubectl in one run against a fresh playground (real etcd +
// kube-apiserver + simulated controllers), written as one Markdown table. See bench/README.md.
//
//   npm run bench -- [--vms 1000] [--snapshots 10000] [--namespaces 100] [--runs 5]
//                    [--loop-sample 50] [--qps 200] [--out docs/performance.md] [--only 1,2,3,4,5]
//                    [--node20 PATH] [--sea-baseline PATH]
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startEnvironment, clientFor, type Environment } from "../src/playground/environment.js";
import { DEFAULT_IDENTITIES, PROBE, VMSNAP_USER } from "../src/playground/identities.js";
import { ensureBinaries, KUBERNETES_VERSION } from "../src/playground/binaries.js";
import { ensureSimStorage, pvcManifest, vmManifest } from "../src/playground/fixtures.js";
import { syncAuditLog } from "../src/playground/control-plane.js";
import { AuditLog } from "../src/playground/audit.js";
import { SIM } from "../src/playground/simulator/annotations.js";
import { Core, KubeVirt, apiVersionOf, type KubeObject } from "../src/kube/resources.js";
import { Informer } from "../src/kube/watch.js";
import { TokenBucket } from "../src/kube/rate-limit.js";
import { mapLimit } from "../src/core/concurrency.js";

const root = path.resolve(import.meta.dirname, "..");
const CLI = path.join(root, "dist", "cli", "main.js");
const SNAPSHOTS = "virtualmachinesnapshots.snapshot.kubevirt.io";

const { values: flags } = parseArgs({
  options: {
    vms: { type: "string", default: "1000" },
    snapshots: { type: "string", default: "10000" },
    namespaces: { type: "string", default: "100" },
    runs: { type: "string", default: "5" },
    "loop-sample": { type: "string", default: "50" },
    qps: { type: "string", default: "200" },
    out: { type: "string" },
    only: { type: "string", default: "1,2,3,4,5" },
    node20: { type: "string" },
    "sea-baseline": { type: "string" },
  },
});
const N_VMS = Number(flags.vms);
const N_SNAPS = Number(flags.snapshots);
const N_NS = Number(flags.namespaces);
const RUNS = Number(flags.runs);
const LOOP_SAMPLE = Math.min(Number(flags["loop-sample"]), N_VMS);
const QPS = Number(flags.qps);
const BURST = QPS * 2;
const ONLY = new Set(flags.only.split(",").map((s) => s.trim()));
for (const [k, v] of Object.entries({ N_VMS, N_SNAPS, N_NS, RUNS, LOOP_SAMPLE, QPS }))
  if (!Number.isInteger(v) || v < 1) throw new Error(`invalid ${k}: ${v}`);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---- measuring ---------------------------------------------------------------------------------

interface Sample {
  ms: number;
  /** performance.now() when the process exited. */
  exitedAt: number;
  /** Peak resident memory in KiB (from /usr/bin/time), when measured. */
  maxRssKiB?: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

const TIME_BIN = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/** Runs a process to completion; wall time from spawn to exit, and peak RSS when asked. */
async function run(
  cmd: string,
  args: string[],
  o: { env?: Record<string, string>; input?: string; memory?: boolean } = {},
): Promise<Sample> {
  const memFile = o.memory && TIME_BIN ? path.join(os.tmpdir(), `bench-mem-${process.pid}`) : "";
  const [bin, argv] = memFile
    ? [TIME_BIN!, ["-f", "%M", "-o", memFile, cmd, ...args]]
    : [cmd, args];
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, {
      env: { ...process.env, NO_COLOR: "1", ...o.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    const closed = async (code: number | null) => {
      const exitedAt = performance.now();
      const ms = exitedAt - start;
      let maxRssKiB: number | undefined;
      if (memFile) {
        maxRssKiB = Number((await readFile(memFile, "utf8")).trim().split("\n").pop());
        await rm(memFile, { force: true });
      }
      resolve({ ms, exitedAt, maxRssKiB, code, stdout, stderr });
    };
    child.on("close", (code) => void closed(code).catch(reject));
    // A process may exit before reading its input (vmsnap --version): that is not an error.
    child.stdin.on("error", () => {});
    child.stdin.end(o.input ?? "");
  });
}

function ensureOk(s: Sample, what: string): Sample {
  if (s.code !== 0)
    throw new Error(
      `${what} exited ${s.code}\n${s.stdout.slice(0, 2000)}\n${s.stderr.slice(0, 2000)}`,
    );
  return s;
}

interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)! };
}

interface Row {
  id: string;
  what: string;
  unit: "ms" | "MiB" | "requests" | "s";
  vmsnap: Stats;
  anchorName: string;
  anchor: Stats;
  target: string;
  /** vmsnap median / anchor median must satisfy this; undefined: reported, no target. */
  met?: (ratio: number) => boolean;
  note?: string;
}

const rows: Row[] = [];

// ---- runtimes for the start-up benchmark ------------------------------------------------------------

interface Runtime {
  label: string;
  command: string;
  args: string[];
  /** The start-up targets are for the single executable; the other runtimes are reported. */
  targeted: boolean;
}

function nodeVersion(node: string): string | undefined {
  try {
    return execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The single executable (built for this machine by scripts/sea/build.ts, reused when up to date),
 * Node 24 (scripts/node.sh) and the machine's Node 20 when it has one (`--node20 PATH` points at
 * another), each running the same CLI.
 */
async function startupRuntimes(): Promise<Runtime[]> {
  const { buildRelease } = await import("../scripts/sea/build.js");
  const arch = process.arch === "arm64" ? "arm64" : "amd64";
  const release = await buildRelease({ arches: [arch], log });
  const sea = release.archives[0]!;
  const out: Runtime[] = [
    {
      label: `single executable (Node ${release.nodeVersion}${sea.codeCache ? ", code cache" : ""})`,
      command: sea.binary,
      args: [],
      targeted: true,
    },
  ];
  // Another build of the executable (e.g. main's, built with `npm run package -- --out DIR`),
  // measured in the same round robin: a change's effect, before and after, in one run.
  const baseline = flags["sea-baseline"];
  if (baseline !== undefined) {
    if (!existsSync(baseline)) throw new Error(`--sea-baseline ${baseline}: no such file`);
    out.push({
      label: `single executable, baseline (${baseline})`,
      command: path.resolve(baseline),
      args: [],
      targeted: false,
    });
  }
  const seen = new Set<string>();
  const node24 = execFileSync("bash", [path.join(root, "scripts", "node.sh"), "path"], {
    encoding: "utf8",
  }).trim();
  for (const node of [node24, flags.node20 ?? "/usr/bin/node", process.execPath]) {
    const v = existsSync(node) ? nodeVersion(node) : undefined;
    if (!v || seen.has(v)) continue;
    seen.add(v);
    out.push({ label: `Node ${v}`, command: node, args: [CLI], targeted: false });
  }
  return out;
}

// ---- environment --------------------------------------------------------------------------------

const started = Date.now();
const tmp = await mkdtemp(path.join(os.tmpdir(), "vmsnap-bench-"));
const binaries = await ensureBinaries(log);
const KUBECTL = binaries.kubectl;
if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
const env: Environment = await startEnvironment({
  dir: path.join(tmp, "cp"),
  progress: log,
  log: () => {},
  identities: [...DEFAULT_IDENTITIES, PROBE],
});
const admin = env.admin;
const userKubeconfig = env.info.identities[VMSNAP_USER.name]!.kubeconfigPath;
const probeKubeconfig = env.info.identities[PROBE.name]!.kubeconfigPath;
const asUser = { KUBECONFIG: userKubeconfig };

const vmsnap = (args: string[], o: { env?: Record<string, string>; memory?: boolean } = {}) =>
  run(process.execPath, [CLI, ...args], { ...o, env: { ...asUser, ...o.env } });
const kubectl = (args: string[], o: { input?: string; memory?: boolean } = {}) =>
  run(KUBECTL, args, { ...o, env: asUser });

async function namespace(name: string): Promise<string> {
  await admin.create(Core.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  return name;
}

async function makeVm(
  ns: string,
  name: string,
  o: {
    disks?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
): Promise<void> {
  const disks = o.disks ?? ["rootdisk"];
  for (const d of disks)
    await admin.create(Core.pvcs, pvcManifest({ name: `${name}-${d}`, namespace: ns, data: name }));
  await admin.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy: "Halted",
      labels: o.labels,
      annotations: o.annotations,
      disks: disks.map((d) => ({ name: d, claimName: `${name}-${d}` })),
    }),
  );
}

/** Waits until every claim in the namespace is Bound and every VM reports Stopped (the simulator keeps up). */
async function settled(ns: string, vms: number): Promise<void> {
  for (;;) {
    const [pvcs, vmList] = await Promise.all([
      admin.list(Core.pvcs, ns),
      admin.list(KubeVirt.vms, ns),
    ]);
    const bound = pvcs.items.filter((p) => (p.status as { phase?: string })?.phase === "Bound");
    const stopped = vmList.items.filter(
      (v) => (v.status as { printableStatus?: string })?.printableStatus === "Stopped",
    );
    if (bound.length === pvcs.items.length && stopped.length === vms) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function snapshotBody(ns: string, name: string, vm: string): KubeObject {
  return {
    apiVersion: apiVersionOf(KubeVirt.snapshots),
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
  };
}

try {
  await ensureSimStorage(admin);
  const kubectlVersion = JSON.parse(
    ensureOk(await kubectl(["version", "--client", "-o", "json"]), "kubectl version").stdout,
  ).clientVersion.gitVersion as string;

  // ---- 1. readiness detection ---------------------------------------------------------------------
  if (ONLY.has("1")) {
    const ns = await namespace("bench-ready");
    await makeVm(ns, "ready-vm", { annotations: { [SIM.snapshotDelay]: "2s" } });
    await settled(ns, 1);
    const watcher = new Informer(admin, KubeVirt.snapshots, { namespace: ns });
    const seen = new Map<string, number>();
    const ready = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    watcher.on((_e, s) => {
      const t = performance.now();
      if (!seen.has(s.metadata.name)) {
        seen.set(s.metadata.name, t);
        waiters.get(s.metadata.name)?.();
      }
      if ((s.status as { readyToUse?: boolean })?.readyToUse && !ready.has(s.metadata.name))
        ready.set(s.metadata.name, t);
    });
    await watcher.start();
    const v: number[] = [];
    const k: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const name = `ready-${i}`;
      const appeared = new Promise<void>((r) => waiters.set(name, r));
      const create = vmsnap(["-n", ns, "create", "ready-vm", "--name", name, "--yes", "-q"]);
      await appeared;
      // kubectl wait starts while the snapshot is in progress and waits for the same event.
      const wait = kubectl([
        "wait",
        "-n",
        ns,
        `${SNAPSHOTS}/${name}`,
        "--for=jsonpath={.status.readyToUse}=true",
        "--timeout=60s",
      ]);
      const [cs, ws] = await Promise.all([create, wait]);
      ensureOk(cs, "vmsnap create");
      ensureOk(ws, "kubectl wait");
      // Exit times after the moment the bench's own watch saw readyToUse.
      const readyAt = ready.get(name)!;
      v.push(cs.exitedAt - readyAt);
      k.push(ws.exitedAt - readyAt);
    }
    await watcher.stop();
    rows.push({
      id: "1",
      what: "snapshot ready → command returns (ms after the ready event)",
      unit: "ms",
      vmsnap: stats(v),
      anchorName: "`kubectl wait --for=jsonpath={.status.readyToUse}=true`",
      anchor: stats(k),
      target: "≤ 1.0×",
      met: (r) => r <= 1.0,
    });
  }

  // ---- 4. start-up --------------------------------------------------------------------------------
  if (ONLY.has("4")) {
    const ns = await namespace("bench-small");
    for (let i = 0; i < 3; i++)
      await admin.create(KubeVirt.snapshots, snapshotBody(ns, `small-${i}`, "small-vm"));
    const runtimes = await startupRuntimes();
    const kubectlVersion = () => kubectl(["version", "--client"]);
    const kubectlGet = () => kubectl(["get", SNAPSHOTS, "-n", ns]);
    // Round robin, one warm-up call each: every command sees the same load over the run.
    const measureAll = async (cmds: { what: string; fn: () => Promise<Sample> }[]) => {
      for (const c of cmds) ensureOk(await c.fn(), c.what);
      const out = cmds.map(() => [] as number[]);
      for (let i = 0; i < RUNS; i++)
        for (const [j, c] of cmds.entries()) out[j]!.push(ensureOk(await c.fn(), c.what).ms);
      return out.map(stats);
    };
    const startupRows = async (
      id: string,
      what: string,
      args: string[],
      anchorName: string,
      anchor: () => Promise<Sample>,
      target: number,
    ) => {
      const [anchorStats, ...own] = await measureAll([
        { what: anchorName, fn: anchor },
        ...runtimes.map((r) => ({
          what: `${r.label} ${args.join(" ")}`,
          fn: () => run(r.command, [...r.args, ...args], { env: asUser }),
        })),
      ]);
      for (const [j, r] of runtimes.entries())
        rows.push({
          id: `${id}${j === 0 ? "" : `.${j}`}`,
          what: `${what}: ${r.label}`,
          unit: "ms",
          vmsnap: own[j]!,
          anchorName,
          anchor: anchorStats!,
          target: r.targeted ? `≤ ${target.toFixed(1)}×` : "—",
          met: r.targeted ? (ratio) => ratio <= target : undefined,
        });
    };
    await startupRows(
      "4a",
      "`--version`",
      ["--version"],
      "`kubectl version --client`",
      kubectlVersion,
      1.0,
    );
    await startupRows(
      "4b",
      "`list` of a small namespace (3 snapshots)",
      ["-n", ns, "list"],
      "`kubectl get vmsnapshot -n NS`",
      kubectlGet,
      1.2,
    );
  }

  // ---- 5. requests per check ----------------------------------------------------------------------
  if (ONLY.has("5")) {
    const ns = await namespace("bench-check");
    await makeVm(ns, "three-disks", { disks: ["root", "data", "logs"] });
    await settled(ns, 1);
    const audit = new AuditLog(env.info.auditLogPath);
    const counts: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await syncAuditLog(env.info);
      const since = new Date();
      ensureOk(
        await run(process.execPath, [CLI, "-n", ns, "check", "three-disks", "-o", "json"], {
          env: { KUBECONFIG: probeKubeconfig },
        }),
        "vmsnap check",
      );
      await syncAuditLog(env.info);
      counts.push((await audit.events({ user: PROBE.name, since })).length);
    }
    // SPEC §4/§9 floor: discovery, the VM, its VMI, the namespace's claims, its snapshots (the
    // count), and StorageClasses, VolumeSnapshotClasses, StorageProfiles once each.
    const FLOOR = 8;
    rows.push({
      id: "5",
      what: "API requests per `check` of a 3-disk VM (audit log)",
      unit: "requests",
      vmsnap: stats(counts),
      anchorName: "floor of SPEC §9",
      anchor: { median: FLOOR, min: FLOOR, max: FLOOR },
      target: "≤ floor + 1",
      met: () => stats(counts).max <= FLOOR + 1,
      note: "floor: discovery, VM, VMI, claims, snapshots, StorageClasses, VolumeSnapshotClasses, StorageProfiles",
    });
  }

  // The remaining benchmarks create thousands of objects: the simulator is stopped so that it
  // does not reconcile them in the background (they are measured without waiting for readiness).
  if (ONLY.has("2") || ONLY.has("3")) {
    if (ONLY.has("2")) {
      const ns = await namespace("bench-bulk");
      log(`seeding ${N_VMS} VMs`);
      await mapLimit(
        Array.from({ length: N_VMS }, (_, i) => i),
        32,
        (i) => makeVm(ns, `bulk-${String(i).padStart(5, "0")}`, { labels: { bench: "bulk" } }),
      );
      await settled(ns, N_VMS);
    }
    await env.simulator?.stop();
  }

  // ---- 2. bulk snapshots --------------------------------------------------------------------------
  if (ONLY.has("2")) {
    const ns = "bench-bulk";
    const clear = async () => {
      const list = await admin.list(KubeVirt.snapshots, ns);
      await mapLimit(list.items, 32, (s) => admin.delete(KubeVirt.snapshots, s.metadata.name, ns));
    };
    const v: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await clear();
      // Default snapshot names carry the second: runs must not share one.
      await new Promise((r) => setTimeout(r, 1100));
      const s = ensureOk(
        await vmsnap(
          ["-n", ns, "create", "-l", "bench=bulk", "--yes", "--no-wait", "-q", "-o", "name"],
          {
            env: { VMSNAP_QPS: String(QPS), VMSNAP_BURST: String(BURST) },
          },
        ),
        "vmsnap create -l",
      );
      const made = s.stdout.split("\n").filter(Boolean).length;
      if (made !== N_VMS) throw new Error(`vmsnap created ${made} of ${N_VMS} snapshots`);
      v.push(s.ms);
    }
    // The floor: N concurrent raw POSTs through the same token bucket, from a warm process.
    const floor: number[] = [];
    const raw = await clientFor(userKubeconfig);
    for (let i = 0; i < RUNS; i++) {
      await clear();
      raw.limiter = new TokenBucket({ qps: QPS, burst: BURST });
      const t = performance.now();
      await mapLimit(
        Array.from({ length: N_VMS }, (_, j) => j),
        16,
        (j) =>
          raw.create(
            KubeVirt.snapshots,
            snapshotBody(ns, `floor-${i}-${j}`, `bulk-${String(j).padStart(5, "0")}`),
          ),
      );
      floor.push(performance.now() - t);
    }
    raw.close();
    // The kubectl loop: one `kubectl create` per VM, over a sample, scaled to N.
    await clear();
    const t = performance.now();
    for (let j = 0; j < LOOP_SAMPLE; j++)
      ensureOk(
        await kubectl(["create", "-f", "-"], {
          input: JSON.stringify(
            snapshotBody(ns, `loop-${j}`, `bulk-${String(j).padStart(5, "0")}`),
          ),
        }),
        "kubectl create",
      );
    const loopMs = ((performance.now() - t) / LOOP_SAMPLE) * N_VMS;
    await clear();
    const vs = stats(v);
    const fs = stats(floor);
    rows.push({
      id: "2a",
      what: `snapshot ${N_VMS} VMs by selector (no wait)`,
      unit: "s",
      vmsnap: vs,
      anchorName: `\`kubectl create\` loop (${LOOP_SAMPLE} measured, × ${N_VMS / LOOP_SAMPLE})`,
      anchor: { median: loopMs, min: loopMs, max: loopMs },
      target: "≥ 20× faster (≤ 0.05×)",
      met: (r) => r <= 0.05,
    });
    rows.push({
      id: "2b",
      what: `snapshot ${N_VMS} VMs by selector (no wait)`,
      unit: "s",
      vmsnap: vs,
      anchorName: `floor: ${N_VMS} concurrent raw POSTs at ${QPS} QPS, burst ${BURST}`,
      anchor: fs,
      target: "≤ 1.3×",
      met: (r) => r <= 1.3,
    });
  }

  // ---- 3. listing many snapshots ------------------------------------------------------------------
  if (ONLY.has("3")) {
    log(`seeding ${N_SNAPS} snapshots in ${N_NS} namespaces`);
    const namespaces = await mapLimit(
      Array.from({ length: N_NS }, (_, i) => i),
      16,
      (i) => namespace(`bench-list-${String(i).padStart(3, "0")}`),
    );
    const per = Math.ceil(N_SNAPS / N_NS);
    const now = new Date().toISOString();
    await mapLimit(
      Array.from({ length: N_SNAPS }, (_, i) => i),
      48,
      async (i) => {
        const ns = namespaces[Math.floor(i / per)]!;
        const name = `snap-${String(i).padStart(5, "0")}`;
        const vm = `vm-${i % 10}`;
        const made = await admin.create(KubeVirt.snapshots, snapshotBody(ns, name, vm));
        // A realistic object: the status a finished snapshot carries.
        await admin.replace(
          KubeVirt.snapshots,
          {
            ...made,
            status: {
              phase: "Succeeded",
              readyToUse: true,
              creationTime: now,
              indications: ["Online", "GuestAgent"],
              sourceUID: "00000000-0000-0000-0000-000000000000",
              virtualMachineSnapshotContentName: `vmsnapshot-content-${made.metadata.uid}`,
              snapshotVolumes: { includedVolumes: ["rootdisk", "datadisk"], excludedVolumes: [] },
              conditions: [
                {
                  type: "Progressing",
                  status: "False",
                  reason: "Operation complete",
                  lastTransitionTime: now,
                },
                {
                  type: "Ready",
                  status: "True",
                  reason: "Operation complete",
                  lastTransitionTime: now,
                },
              ],
            },
          },
          { subresource: "status" },
        );
      },
    );
    const v: Sample[] = [];
    const k: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      v.push(
        ensureOk(await vmsnap(["list", "-A", "-o", "json"], { memory: true }), "vmsnap list -A"),
      );
      k.push(
        ensureOk(
          await kubectl(["get", SNAPSHOTS, "-A", "-o", "json"], { memory: true }),
          "kubectl get -A",
        ),
      );
    }
    const vCount = (JSON.parse(v[0]!.stdout) as { items: unknown[] }).items.length;
    const kCount = (JSON.parse(k[0]!.stdout) as { items: unknown[] }).items.length;
    if (vCount < N_SNAPS || kCount < N_SNAPS)
      throw new Error(`listed ${vCount} (vmsnap) / ${kCount} (kubectl) of ${N_SNAPS}`);
    rows.push({
      id: "3a",
      what: `list ${N_SNAPS} snapshots in ${N_NS} namespaces: time`,
      unit: "ms",
      vmsnap: stats(v.map((s) => s.ms)),
      anchorName: "`kubectl get vmsnapshot -A -o json`",
      anchor: stats(k.map((s) => s.ms)),
      target: "≤ 1.0×",
      met: (r) => r <= 1.0,
    });
    if (TIME_BIN)
      rows.push({
        id: "3b",
        what: `list ${N_SNAPS} snapshots in ${N_NS} namespaces: peak memory`,
        unit: "MiB",
        vmsnap: stats(v.map((s) => s.maxRssKiB! / 1024)),
        anchorName: "`kubectl get vmsnapshot -A -o json`",
        anchor: stats(k.map((s) => s.maxRssKiB! / 1024)),
        target: "≤ 2×",
        met: (r) => r <= 2,
      });
  }

  const report = markdown(kubectlVersion);
  process.stdout.write(report);
  if (flags.out) {
    await writeFile(path.resolve(flags.out), await withTable(path.resolve(flags.out), report));
    log(`wrote ${flags.out}`);
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await env.stop();
  await rm(tmp, { recursive: true, force: true });
}

function fmt(n: number, unit: Row["unit"]): string {
  if (unit === "s") return `${(n / 1000).toFixed(2)} s`;
  if (unit === "ms") return `${n.toFixed(0)} ms`;
  if (unit === "MiB") return `${n.toFixed(0)} MiB`;
  return n.toFixed(0);
}

function markdown(kubectlVersion: string): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const lines = [
    `Run ${new Date().toISOString()} on ${cpu}, ${os.cpus().length} cores (load average at the end ${os.loadavg()[0]!.toFixed(1)}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.version}; kubectl ${kubectlVersion}; kube-apiserver v${KUBERNETES_VERSION}.`,
    `Sizes: --vms ${N_VMS} --snapshots ${N_SNAPS} --namespaces ${N_NS} --runs ${RUNS} --loop-sample ${LOOP_SAMPLE} --qps ${QPS} (burst ${BURST}).`,
    "",
    "| # | benchmark | vmsnap median | min | max | anchor | anchor median | min | max | ratio | target | met |",
    "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|",
    ...rows.map((r) => {
      const ratio = r.vmsnap.median / r.anchor.median;
      return `| ${r.id} | ${r.what} | ${fmt(r.vmsnap.median, r.unit)} | ${fmt(r.vmsnap.min, r.unit)} | ${fmt(r.vmsnap.max, r.unit)} | ${r.anchorName} | ${fmt(r.anchor.median, r.unit)} | ${fmt(r.anchor.min, r.unit)} | ${fmt(r.anchor.max, r.unit)} | ${ratio.toFixed(2)}× | ${r.target} | ${!r.met ? "—" : r.met(ratio) ? "yes" : "**no**"} |`;
    }),
    ...rows.filter((r) => r.note).map((r) => `\n${r.id}: ${r.note}`),
    "",
  ];
  return lines.join("\n");
}

/** Replaces the table between the bench markers in an existing document, or writes it alone. */
async function withTable(file: string, table: string): Promise<string> {
  const begin = "<!-- bench:begin -->";
  const end = "<!-- bench:end -->";
  const old = existsSync(file) ? await readFile(file, "utf8") : "";
  const i = old.indexOf(begin);
  const j = old.indexOf(end);
  if (i < 0 || j < i) return `${old}${old ? "\n" : ""}${begin}\n${table}${end}\n`;
  return `${old.slice(0, i)}${begin}\n${table}${end}${old.slice(j + end.length)}`;
}
