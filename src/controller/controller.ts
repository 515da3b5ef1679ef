// `vmsnap controller`: the SnapshotPolicy controller. Every replica takes part in the leader
// election; only the leader watches and acts. Leading starts the watches (policies, snapshots,
// VMs, what holds snapshots), reconciles every policy once the caches are synced, then on every
// change and at every scheduled time; losing the lead stops all of it.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { KubeClient } from "../kube/client.js";
import { limiterFromEnv } from "../kube/rate-limit.js";
import { CONTROLLER_ALLOWED_WRITES, WriteGuard } from "../kube/write-guard.js";
import { systemClock, type Clock } from "./clock.js";
import { EventRecorder } from "./events.js";
import { LeaseElector } from "./leader.js";
import { createMetrics, serveMetrics, type ControllerMetrics } from "./metrics.js";
import { WorkQueue } from "./queue.js";
import { PolicyReconciler } from "./reconciler.js";
import { startSources, type Sources } from "./sources.js";

export interface ControllerOptions {
  kubeconfig?: string;
  context?: string;
  /** Only this namespace's policies (default: every namespace). */
  watchNamespace?: string;
  leaseNamespace: string;
  leaseName?: string;
  /** This replica's identity in the Lease (default: POD_NAME or host name, plus a random suffix). */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** HOST:PORT of /metrics, /healthz and /readyz; none when unset. */
  listen?: string;
  clock?: Clock;
  /** VMs snapshotted at once in one policy's run. */
  parallel?: number;
  /** Policies reconciled at once. */
  workers?: number;
  log?: (line: string) => void;
}

export const DEFAULT_LEASE_NAME = "vmsnap-controller";
const WATCH_START_BACKOFF_MS = 500;
const WATCH_START_BACKOFF_MAX_MS = 30_000;
const WATCH_START_UNHEALTHY_MS = 5 * 60_000;

export function defaultIdentity(): string {
  return `${process.env.POD_NAME || hostname()}_${randomBytes(4).toString("hex")}`;
}

export class PolicyController {
  private sources?: Sources;
  private queue?: WorkQueue;
  private reconciler?: PolicyReconciler;
  private leading = false;
  private synced = false;
  /** Since when the watches have failed to start, while leading (undefined: they have not). */
  private failingSince?: number;
  /** Wakes the back-off between attempts to start the watches when the lead is lost. */
  private wakeBackoff?: () => void;
  /** Serializes start/stop of the leading machinery. */
  private transition: Promise<void> = Promise.resolve();
  private server?: { url: string; close(): Promise<void> };

  private constructor(
    private readonly o: ControllerOptions,
    readonly identity: string,
    private readonly client: KubeClient,
    private readonly guard: WriteGuard,
    private readonly elector: LeaseElector,
    readonly metrics: ControllerMetrics,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  static async start(o: ControllerOptions): Promise<PolicyController> {
    const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const identity = o.identity ?? defaultIdentity();
    const client = await KubeClient.fromConfig({ kubeconfig: o.kubeconfig, context: o.context });
    client.userAgent = `vmsnap-controller/${identity}`;
    client.limiter = limiterFromEnv();
    const guard = new WriteGuard(client, CONTROLLER_ALLOWED_WRITES);
    const metrics = await createMetrics();
    // The elector calls back into the controller it is built for.
    const ref: { controller?: PolicyController } = {};
    const elector = new LeaseElector({
      client,
      guard,
      namespace: o.leaseNamespace,
      name: o.leaseName ?? DEFAULT_LEASE_NAME,
      identity,
      leaseDurationMs: o.leaseDurationMs ?? 15_000,
      renewDeadlineMs: o.renewDeadlineMs ?? 10_000,
      retryPeriodMs: o.retryPeriodMs ?? 2_000,
      onStartedLeading: () => ref.controller?.startLeading(),
      onStoppedLeading: () => ref.controller?.stopLeading(),
      log,
    });
    const controller = new PolicyController(
      o,
      identity,
      client,
      guard,
      elector,
      metrics,
      o.clock ?? systemClock,
      log,
    );
    ref.controller = controller;
    try {
      if (o.listen)
        controller.server = await serveMetrics(o.listen, metrics.registry, {
          healthy: () => controller.healthy(),
          ready: () => !controller.leading || controller.synced,
        });
      await elector.start();
    } catch (err) {
      await controller.server?.close();
      client.close();
      throw err;
    }
    log(
      `vmsnap controller ${identity}: ${o.watchNamespace ? `namespace ${o.watchNamespace}` : "all namespaces"}, lease ${o.leaseNamespace}/${o.leaseName ?? DEFAULT_LEASE_NAME}${controller.server ? `, metrics on ${controller.server.url}/metrics` : ""}`,
    );
    return controller;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get metricsUrl(): string | undefined {
    return this.server?.url;
  }

  /** Resolves when the leader's caches are synced and no reconcile is queued or running. */
  async idle(): Promise<void> {
    await this.transition;
    await this.queue?.idle();
  }

  /** Graceful stop: the Lease is released, so that a standby takes over at once. */
  async stop(): Promise<void> {
    await this.elector.stop();
    await this.transition;
    await this.server?.close();
    this.client.close();
  }

  /** Stops at once without releasing the Lease (a crash, as the other replicas see it). */
  async halt(): Promise<void> {
    await this.elector.halt();
    await this.transition;
    await this.server?.close();
    this.client.close();
  }

  /**
   * Unhealthy (so that the kubelet restarts it) only when the leader has failed to start its
   * watches for longer than WATCH_START_UNHEALTHY_MS; a passing failure is retried, as client-go's
   * reflector retries its list.
   */
  healthy(): boolean {
    return (
      this.failingSince === undefined || Date.now() - this.failingSince < WATCH_START_UNHEALTHY_MS
    );
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics.leader.set(1);
    this.transition = this.transition.then(() => this.runLeader());
  }

  private stopLeading(): void {
    this.leading = false;
    this.synced = false;
    this.metrics.leader.set(0);
    this.failingSince = undefined;
    this.wakeBackoff?.();
    this.transition = this.transition.then(() => this.stopLeader());
  }

  private async runLeader(): Promise<void> {
    if (!this.leading) return;
    const queue = new WorkQueue((key) => this.reconcileTimed(key), {
      concurrency: this.o.workers ?? 4,
      onError: (key, err) => this.log(`reconcile ${key}: ${(err as Error).message}`),
    });
    this.queue = queue;
    // Until every cache is synced nothing is reconciled: a partial cache could hide a restore
    // that holds a snapshot.
    let ready = false;
    // A failure to start the watches (discovery, a list) is retried with back-off for as long as
    // this replica leads; /readyz says not ready meanwhile.
    for (let attempt = 0; ; attempt++) {
      if (!this.leading) return;
      try {
        this.sources = await startSources(this.client, {
          namespace: this.o.watchNamespace,
          now: () => this.clock.now(),
          onChange: (namespace, what, obj) => {
            if (!ready) return;
            if (what === "policy") queue.add(`${namespace}/${obj.metadata.name}`);
            else if (namespace)
              for (const p of this.sources!.policies.in(namespace))
                queue.add(`${namespace}/${p.metadata.name}`);
          },
          onError: (err) => this.log(`watch: ${(err as Error).message}`),
        });
        this.failingSince = undefined;
        break;
      } catch (err) {
        this.failingSince ??= Date.now();
        const delayMs = Math.min(WATCH_START_BACKOFF_MS * 2 ** attempt, WATCH_START_BACKOFF_MAX_MS);
        this.log(
          `starting the watches: ${(err as Error).message}; trying again in ${(delayMs / 1000).toFixed(1)} s`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wakeBackoff = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeBackoff = undefined;
      }
    }
    this.reconciler = new PolicyReconciler(
      {
        sources: this.sources,
        guard: this.guard,
        events: new EventRecorder(this.guard, this.identity, () => this.clock.now(), this.log),
        metrics: this.metrics,
        clock: this.clock,
        library: {
          kubeconfig: this.o.kubeconfig,
          context: this.o.context,
          userAgent: `vmsnap-controller/${this.identity}`,
          now: () => this.clock.now(),
        },
        parallel: this.o.parallel,
        log: this.log,
      },
      (key) => queue.add(key),
    );
    if (!this.leading) return this.stopLeader();
    ready = true;
    this.synced = true;
    const policies = this.sources.policies.informer.list();
    this.log(`caches synced; reconciling ${policies.length} policies`);
    for (const p of policies) queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
  }

  private async stopLeader(): Promise<void> {
    this.queue?.stop();
    this.reconciler?.stop();
    await this.sources?.stop();
    this.sources = undefined;
    this.queue = undefined;
    this.reconciler = undefined;
  }

  private async reconcileTimed(key: string) {
    const end = this.metrics.reconcileSeconds.startTimer();
    try {
      const result = await this.reconciler!.reconcile(key);
      this.metrics.reconciles.inc({ result: result ? "retry" : "ok" });
      return result;
    } catch (err) {
      this.metrics.reconciles.inc({ result: "error" });
      throw err;
    } finally {
      end();
    }
  }
}
