// Reconcile cost of the policy controller: --vms VMs in --namespaces namespaces under --policies
// policies (each selecting an equal share), one daily schedule, keep-last 2. The controller runs
// in a process of its own, as deploy/controller/'s identity, on a manual clock. Each scheduled run
// is measured from the clock reaching 02:00 to "issued" (every policy's status records the run:
// the controller's reconcile is over) and to "settled" (no snapshot of the run still pending:
// Ready or Failed, whatever the simulator's pace): API requests (audit log, by verb and
// resource), wall time, peak memory of the controller process.
//
//   npm run bench:policy [-- --vms 1000 --policies 50 --namespaces 10 --days 4 --qps 200 --out docs/performance.md]
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startEnvironment } from "../src/playground/environment.js";
import { CONTROLLER } from "../src/playground/identities.js";
import { pvcManifest, vmManifest, ensureSimStorage } from "../src/playground/fixtures.js";
import { Core, KubeVirt, Vmsnap, type KubeObject } from "../src/kube/resources.js";
import { isDryRun } from "../src/playground/audit.js";
import { Informer } from "../src/kube/watch.js";
import { mapLimit } from "../src/core/concurrency.js";

const { values: flags } = parseArgs({
  options: {
    vms: { type: "string", default: "1000" },
    policies: { type: "string", default: "50" },
    namespaces: { type: "string", default: "10" },
    days: { type: "string", default: "4" },
    qps: { type: "string", default: "200" },
    "failure-deadline": { type: "string" },
    out: { type: "string" },
  },
});
const N_VMS = Number(flags.vms);
const N_POLICIES = Number(flags.policies);
const N_NS = Number(flags.namespaces);
const DAYS = Number(flags.days);
const QPS = Number(flags.qps);
const perNs = Math.ceil(N_POLICIES / N_NS);
// KubeVirt's failureDeadline for the policies' snapshots: proportional to the count (1 s per VM,
// at least KubeVirt's default of 5 minutes), since the simulator works through a run's snapshots
// at the shared machine's pace; a snapshot that fails anyway counts as finished.
const FAILURE_DEADLINE = flags["failure-deadline"] ?? `${Math.max(300, N_VMS)}s`;
const log = (line: string) => process.stderr.write(`[bench:policy] ${line}\n`);
const iso = (t: Date) => t.toISOString().replace(/\.\d{3}Z$/, "Z");

const started = Date.now();
const tmp = await mkdtemp(path.join(os.tmpdir(), "vmsnap-bench-policy-"));
const env = await startEnvironment({ dir: path.join(tmp, "cp"), progress: log, log: () => {} });
const admin = env.admin;
let child: ReturnType<typeof fork> | undefined;
try {
  await ensureSimStorage(admin);
  const namespaces = Array.from({ length: N_NS }, (_, i) => `bench-pol-${i}`);
  for (const ns of namespaces)
    await admin.create(Core.namespaces, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
  log(`creating ${N_VMS} stopped VMs in ${N_NS} namespaces`);
  await mapLimit(
    Array.from({ length: N_VMS }, (_, i) => i),
    32,
    async (i) => {
      const ns = namespaces[i % N_NS]!;
      const name = `vm-${i}`;
      await admin.create(
        Core.pvcs,
        pvcManifest({ name: `${name}-root`, namespace: ns, data: name }),
      );
      await admin.create(
        KubeVirt.vms,
        vmManifest({
          name,
          namespace: ns,
          runStrategy: "Halted",
          labels: { group: `g${Math.floor(i / N_NS) % perNs}` },
          disks: [{ name: "rootdisk", claimName: `${name}-root` }],
        }),
      );
    },
  );
  await env.simulator?.idle();
  let made = 0;
  for (const ns of namespaces)
    for (let g = 0; g < perNs && made < N_POLICIES; g++, made++)
      await admin.create(Vmsnap.snapshotPolicies, {
        apiVersion: "vmsnap.io/v1alpha1",
        kind: "SnapshotPolicy",
        metadata: { name: `p${g}`, namespace: ns },
        spec: {
          selector: { matchLabels: { group: `g${g}` } },
          schedule: "0 2 * * *",
          startingDeadlineSeconds: 3600,
          retention: { keepLast: 2 },
          snapshot: { failureDeadline: FAILURE_DEADLINE },
        },
      });

  // A day well ahead of the policies' creation; the clock starts at 00:00.
  const start = new Date(Date.now() + 2 * 86_400_000);
  start.setUTCHours(0, 0, 0, 0);
  const slot = (d: number) => new Date(start.getTime() + d * 86_400_000 + 2 * 3_600_000);
  const policies = new Informer(admin, Vmsnap.snapshotPolicies);
  await policies.start();
  type VmResult = { lastScheduleTime?: string; result?: string; message?: string };
  const statusOf = (p: KubeObject) =>
    (p.status ?? {}) as { lastScheduleTime?: string; vms?: VmResult[] };
  // Issued: every policy's status records the run (its creates sent, a result per VM, retention
  // applied): the controller's reconcile of the run is over.
  const allIssued = (t: Date) =>
    policies.list().every((p) => statusOf(p).lastScheduleTime === iso(t));
  // Settled: besides, no VM of the run is still Pending; a Failed snapshot counts as finished
  // (the simulator's deadline, not the controller, decided it).
  const allSettled = (t: Date) =>
    allIssued(t) &&
    policies
      .list()
      .every((p) =>
        (statusOf(p).vms ?? []).every(
          (v) => v.lastScheduleTime !== iso(t) || v.result !== "Pending",
        ),
      );
  const until = (pred: () => boolean) =>
    new Promise<void>((resolve) => {
      if (pred()) return resolve();
      const check = () => pred() && resolve();
      policies.on(check);
    });
  const resultsOf = (t: Date, result: string) =>
    policies
      .list()
      .flatMap((p) => statusOf(p).vms ?? [])
      .filter((v) => v.lastScheduleTime === iso(t) && v.result === result);

  const kubeconfig = env.controlPlane.kubeconfig(CONTROLLER.name);
  child = fork(
    path.join(import.meta.dirname, "policy-controller.ts"),
    [kubeconfig, start.toISOString()],
    {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, VMSNAP_QPS: String(QPS), VMSNAP_BURST: String(QPS * 2) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const replies: ((m: Record<string, number>) => void)[] = [];
  child.on("message", (m: Record<string, number>) => replies.shift()?.(m));
  const ask = (m: object) =>
    new Promise<Record<string, number>>((resolve) => {
      replies.push(resolve);
      child!.send(m);
    });
  await new Promise<void>((resolve) => replies.push(() => resolve()));
  const initial = await ask({ idle: true });
  log(`controller leading, caches synced (peak RSS ${initial.maxRssMiB!.toFixed(0)} MiB)`);

  const rows: string[] = [];
  const kinds = new Map<string, number[]>();
  const audit = env.controlPlane.audit;
  const loads: number[] = [];
  for (let d = 0; d < DAYS; d++) {
    // Runs are a day apart in a cluster: let the simulator finish the last run's work (a VM's
    // snapshot lock is released a moment after its snapshot is ready), untimed.
    await env.simulator?.idle();
    const since = new Date();
    const t0 = Date.now();
    const issuedRun = until(() => allIssued(slot(d)));
    const settledRun = until(() => allSettled(slot(d)));
    await ask({ set: slot(d).toISOString() });
    await issuedRun;
    const issuedAt = new Date();
    const issuedMs = Date.now() - t0;
    const atIssue = await ask({ rss: true });
    await settledRun;
    const figures = await ask({ idle: true });
    const ms = Date.now() - t0;
    loads.push(os.loadavg()[0]!);
    await env.controlPlane.syncAudit();
    const events = await audit.events({ user: CONTROLLER.name, since });
    const issued = events.filter(
      (e) => Date.parse(e.requestReceivedTimestamp) < issuedAt.getTime(),
    );
    for (const e of events) {
      const r = e.objectRef;
      const kind = `${e.verb} ${r?.resource ?? e.requestURI.split("?")[0]}${r?.subresource ? `/${r.subresource}` : ""}${isDryRun(e) ? " (dry run)" : ""}`;
      const counts = kinds.get(kind) ?? Array.from({ length: DAYS }, () => 0);
      counts[d]!++;
      kinds.set(kind, counts);
    }
    const count = (f: (e: (typeof events)[number]) => boolean) => events.filter(f).length;
    const real = (verb: string) =>
      count((e) => e.verb === verb && !isDryRun(e) && e.objectRef?.resource !== "events");
    const row = {
      run: d + 1,
      issued: issued.length,
      requests: events.length,
      creates: real("create"),
      deletes: real("delete"),
      failed: resultsOf(slot(d), "Failed").length,
      skipped: resultsOf(slot(d), "Skipped").length,
    };
    const skip = resultsOf(slot(d), "Skipped")[0] ?? resultsOf(slot(d), "Failed")[0];
    if (skip) log(`run ${d + 1}: e.g. ${JSON.stringify(skip)}`);
    log(
      `run ${d + 1}: ${JSON.stringify(row)} issued in ${issuedMs} ms, settled in ${ms} ms, peak RSS ${figures.maxRssMiB!.toFixed(0)} MiB, load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    rows.push(
      `| ${row.run} | ${(issuedMs / 1000).toFixed(1)} s | ${row.issued} | ${(row.issued / N_VMS).toFixed(1)} | ${(ms / 1000).toFixed(1)} s | ${row.requests} | ${(row.requests / N_VMS).toFixed(1)} | ${row.creates} | ${row.deletes} | ${row.skipped} | ${row.failed} | ${atIssue.maxRssMiB!.toFixed(0)} MiB | ${figures.maxRssMiB!.toFixed(0)} MiB | ${figures.heapMiB!.toFixed(0)} MiB | ${os.loadavg()[0]!.toFixed(1)} |`,
    );
  }
  // A quiet period: nothing due, nothing changed.
  const quietSince = new Date();
  await new Promise((r) => setTimeout(r, 10_000));
  await env.controlPlane.syncAudit();
  const quiet = (await audit.events({ user: CONTROLLER.name, since: quietSince })).filter(
    (e) => e.objectRef?.resource !== "leases",
  ).length;
  await policies.stop();
  await ask({ stop: true });
  child = undefined;

  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const byKind = [...kinds.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  const report = [
    `Run ${new Date().toISOString()} on ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; load average (1 min) after each run ${loads.map((l) => l.toFixed(1)).join(", ")}.`,
    `Sizes: --vms ${N_VMS} --policies ${N_POLICIES} --namespaces ${N_NS} --days ${DAYS} --qps ${QPS} (burst ${QPS * 2}); every policy daily at 02:00, keep-last 2, failureDeadline ${FAILURE_DEADLINE}; stopped KubeVirt VMs, one disk each.`,
    "",
    "| run | issued in | requests until issued | per VM | settled in | requests in the run | per VM | creates | deletes | VMs skipped | snapshots Failed | peak RSS when issued | peak RSS settled | heap settled | load |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "Requests in each run by verb and resource (controller identity, audit log):",
    "",
    `| request | ${Array.from({ length: DAYS }, (_, d) => `run ${d + 1}`).join(" | ")} |`,
    `|---|${"---:|".repeat(DAYS)}`,
    ...byKind.map(([k, counts]) => `| ${k} | ${counts.join(" | ")} |`),
    "",
    `Between runs (10 s, nothing due or changed): ${quiet} requests besides the Lease renewals.`,
    "",
  ].join("\n");
  process.stdout.write(report);
  if (flags.out) {
    const file = path.resolve(flags.out);
    // One table per size, so that two sizes side by side show how the cost scales.
    const begin = `<!-- bench-policy-${N_VMS}x${N_POLICIES}:begin -->`;
    const end = `<!-- bench-policy-${N_VMS}x${N_POLICIES}:end -->`;
    const old = existsSync(file) ? await readFile(file, "utf8") : "";
    const i = old.indexOf(begin);
    const j = old.indexOf(end);
    await writeFile(
      file,
      i < 0 || j < i
        ? `${old}${old ? "\n" : ""}${begin}\n${report}${end}\n`
        : `${old.slice(0, i)}${begin}\n${report}${end}${old.slice(j + end.length)}`,
    );
    log(`wrote ${flags.out}`);
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  child?.kill("SIGKILL");
  await env.stop();
  await rm(tmp, { recursive: true, force: true });
}
