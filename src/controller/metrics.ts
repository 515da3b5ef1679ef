// Prometheus metrics (prom-client, own registry) and the HTTP endpoints of the controller:
// /metrics, /healthz (the process works), /readyz (a standby, or a leader whose caches are
// synced).
import http from "node:http";
import type { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ControllerMetrics {
  registry: Registry;
  leader: Gauge;
  runs: Counter;
  created: Counter;
  createFailures: Counter;
  deleted: Counter;
  deleteFailures: Counter;
  missed: Counter;
  kept: Gauge;
  lastSchedule: Gauge;
  nextSchedule: Gauge;
  reconciles: Counter;
  reconcileSeconds: Histogram;
  /** Drops the series of a deleted policy. */
  forget(namespace: string, policy: string): void;
}

export async function createMetrics(): Promise<ControllerMetrics> {
  const prom = await import("prom-client");
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const policy = ["namespace", "policy"];
  const m = {
    registry,
    leader: new prom.Gauge({
      name: "vmsnap_controller_leader",
      help: "1 while this replica holds the leader Lease",
      registers: [registry],
    }),
    runs: new prom.Counter({
      name: "vmsnap_policy_runs_total",
      help: "Scheduled runs, by result (succeeded: every VM got a snapshot created; partial; failed; no_vms)",
      labelNames: [...policy, "result"],
      registers: [registry],
    }),
    created: new prom.Counter({
      name: "vmsnap_policy_snapshots_created_total",
      help: "Snapshots created by policies",
      labelNames: policy,
      registers: [registry],
    }),
    createFailures: new prom.Counter({
      name: "vmsnap_policy_snapshot_failures_total",
      help: "VMs a run could not snapshot (skipped by preflight, refused, or failed)",
      labelNames: policy,
      registers: [registry],
    }),
    deleted: new prom.Counter({
      name: "vmsnap_policy_snapshots_deleted_total",
      help: "Snapshots deleted by retention",
      labelNames: policy,
      registers: [registry],
    }),
    deleteFailures: new prom.Counter({
      name: "vmsnap_policy_snapshot_delete_failures_total",
      help: "Deletions by retention that failed",
      labelNames: policy,
      registers: [registry],
    }),
    missed: new prom.Counter({
      name: "vmsnap_policy_missed_schedules_total",
      help: "Scheduled times skipped (starting deadline passed, or superseded by a later time)",
      labelNames: policy,
      registers: [registry],
    }),
    kept: new prom.Gauge({
      name: "vmsnap_policy_snapshots_kept",
      help: "Snapshots made by the policy that exist now",
      labelNames: policy,
      registers: [registry],
    }),
    lastSchedule: new prom.Gauge({
      name: "vmsnap_policy_last_schedule_timestamp_seconds",
      help: "The last scheduled time run",
      labelNames: policy,
      registers: [registry],
    }),
    nextSchedule: new prom.Gauge({
      name: "vmsnap_policy_next_schedule_timestamp_seconds",
      help: "The next scheduled time",
      labelNames: policy,
      registers: [registry],
    }),
    reconciles: new prom.Counter({
      name: "vmsnap_controller_reconciles_total",
      help: "Policy reconciles, by result (ok, retry, error)",
      labelNames: ["result"],
      registers: [registry],
    }),
    reconcileSeconds: new prom.Histogram({
      name: "vmsnap_controller_reconcile_duration_seconds",
      help: "Time per policy reconcile (including its run and deletions)",
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers: [registry],
    }),
  };
  return {
    ...m,
    forget(namespace, name) {
      const labels = { namespace, policy: name };
      for (const metric of [
        m.created,
        m.createFailures,
        m.deleted,
        m.deleteFailures,
        m.missed,
        m.kept,
        m.lastSchedule,
        m.nextSchedule,
      ])
        metric.remove(labels);
      for (const result of ["succeeded", "partial", "failed", "no_vms"])
        m.runs.remove({ ...labels, result });
    },
  };
}

export interface HealthState {
  healthy(): boolean;
  ready(): boolean;
}

/** Serves /metrics, /healthz and /readyz on host:port; resolves once listening. */
export async function serveMetrics(
  listen: string,
  registry: Registry,
  health: HealthState,
): Promise<{ url: string; close(): Promise<void> }> {
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) throw new Error(`invalid listen address ${JSON.stringify(listen)}: use HOST:PORT`);
  const host = m[1]!.replace(/^\[|\]$/g, "") || "0.0.0.0";
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (code: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(code, { "Content-Type": type });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
    if (path === "/healthz")
      return health.healthy() ? reply(200, "ok\n") : reply(503, "unhealthy\n");
    if (path === "/readyz") return health.ready() ? reply(200, "ok\n") : reply(503, "not ready\n");
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (err: Error) => reply(500, `${err.message}\n`),
      );
      return;
    }
    reply(404, "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  const addr = server.address();
  const port = addr && typeof addr === "object" ? addr.port : Number(m[2]);
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
