// Reconcile cost of the policy controller: --vms VMs in --namespaces namespaces under --policies
// policies (each selecting an equal share), one daily schedule, keep-last 2. The controller runs
// in a process of its own, as deploy/controller/'s identity, on a manual clock; each scheduled
// run is measured from the clock reaching 02:00 to every policy reporting its snapshots ready
// and retention settled: API requests (the audit log, by verb), wall time, peak memory.
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
import { Core, KubeVirt, Vmsnap } from "../src/kube/resources.js";
import { Informer } from "../src/kube/watch.js";
import { mapLimit } from "../src/core/concurrency.js";

const { values: flags } = parseArgs({
  options: {
    vms: { type: "string", default: "1000" },
    policies: { type: "string", default: "50" },
    namespaces: { type: "string", default: "10" },
    days: { type: "string", default: "4" },
    qps: { type: "string", default: "200" },
    out: { type: "string" },
  },
});
const N_VMS = Number(flags.vms);
const N_POLICIES = Number(flags.policies);
const N_NS = Number(flags.namespaces);
const DAYS = Number(flags.days);
const QPS = Number(flags.qps);
const perNs = Math.ceil(N_POLICIES / N_NS);
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
        },
      });

  // A day well ahead of the policies' creation; the clock starts at 00:00.
  const start = new Date(Date.now() + 2 * 86_400_000);
  start.setUTCHours(0, 0, 0, 0);
  const slot = (d: number) => new Date(start.getTime() + d * 86_400_000 + 2 * 3_600_000);
  const policies = new Informer(admin, Vmsnap.snapshotPolicies);
  await policies.start();
  const allSettled = (t: Date) =>
    policies
      .list()
      .every(
        (p) =>
          (p.status as { lastScheduleTime?: string })?.lastScheduleTime === iso(t) &&
          (
            (p.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []
          ).some((c) => c.type === "SnapshotsReady" && c.status === "True"),
      );
  const until = (pred: () => boolean) =>
    new Promise<void>((resolve) => {
      if (pred()) return resolve();
      const check = () => pred() && resolve();
      policies.on(check);
    });

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
  const audit = env.controlPlane.audit;
  for (let d = 0; d < DAYS; d++) {
    const since = new Date();
    const t0 = Date.now();
    const settledRun = until(() => allSettled(slot(d)));
    await ask({ set: slot(d).toISOString() });
    await settledRun;
    const figures = await ask({ idle: true });
    const ms = Date.now() - t0;
    await env.controlPlane.syncAudit();
    const events = await audit.events({ user: CONTROLLER.name, since });
    const count = (f: (e: (typeof events)[number]) => boolean) => events.filter(f).length;
    const writes = (verb: string, dry: boolean) =>
      count(
        (e) =>
          e.verb === verb &&
          /dryRun=All/.test(e.requestURI) === dry &&
          e.objectRef?.resource !== "events",
      );
    const row = {
      run: d + 1,
      requests: events.length,
      perVm: events.length / N_VMS,
      reads: count((e) => ["get", "list"].includes(e.verb)),
      watches: count((e) => e.verb === "watch"),
      dryRuns: writes("create", true) + writes("delete", true),
      creates: writes("create", false),
      deletes: writes("delete", false),
      status: count((e) => e.objectRef?.subresource === "status"),
      events: count((e) => e.objectRef?.resource === "events"),
      lease: count((e) => e.objectRef?.resource === "leases"),
    };
    log(
      `run ${d + 1}: ${JSON.stringify(row)} in ${ms} ms, peak RSS ${figures.maxRssMiB!.toFixed(0)} MiB`,
    );
    rows.push(
      `| ${row.run} | ${(ms / 1000).toFixed(1)} s | ${row.requests} | ${row.perVm.toFixed(1)} | ${row.reads} | ${row.watches} | ${row.dryRuns} | ${row.creates} | ${row.deletes} | ${row.status} | ${row.events} | ${row.lease} | ${figures.maxRssMiB!.toFixed(0)} MiB | ${figures.heapMiB!.toFixed(0)} MiB |`,
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
  const report = [
    `Run ${new Date().toISOString()} on ${cpu}, ${os.cpus().length} cores (load average at the end ${os.loadavg()[0]!.toFixed(1)}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}.`,
    `Sizes: --vms ${N_VMS} --policies ${N_POLICIES} --namespaces ${N_NS} --days ${DAYS} --qps ${QPS} (burst ${QPS * 2}); every policy daily at 02:00, keep-last 2; stopped KubeVirt VMs, one disk each.`,
    "",
    "| run | settled in | API requests | per VM | get/list | watch | dry runs | creates | deletes | status patches | events | lease | controller peak RSS | heap after |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `Between runs (10 s, nothing due or changed): ${quiet} requests besides the Lease renewals.`,
    "",
  ].join("\n");
  process.stdout.write(report);
  if (flags.out) {
    const file = path.resolve(flags.out);
    const begin = "<!-- bench-policy:begin -->";
    const end = "<!-- bench-policy:end -->";
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
