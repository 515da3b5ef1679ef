// Leader election on a coordination.k8s.io Lease, with client-go's rules
// (k8s.io/client-go/tools/leaderelection/leaderelection.go, tryAcquireOrRenew): the holder renews
// every retry period; a candidate may take the Lease only after it has seen no change to it for a
// whole lease duration, measured on its own clock when it observed the last change (so clock
// skew between replicas does not matter, only their rates); the update carries the
// resourceVersion read, so of two candidates at most one wins; a leader that cannot renew within
// the renew deadline stops leading. A graceful stop releases the Lease (holder cleared, duration
// 1 s) so that a standby takes over at once. @kubernetes/client-node 1.4 has no elector.
//
// Unlike client-go, a standby does not poll: it watches the Lease and wakes up when it could take
// it over (the lease duration after the last change it saw) or when the Lease is released.
import { KubeApiError, type KubeClient } from "../kube/client.js";
import { Vmsnap, type KubeObject } from "../kube/resources.js";
import { Informer } from "../kube/watch.js";
import type { WriteGuard } from "../kube/write-guard.js";

export interface ElectorOptions {
  client: KubeClient;
  guard: WriteGuard;
  namespace: string;
  name: string;
  /** This replica, as written in holderIdentity. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: (line: string) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** metav1.MicroTime: RFC 3339 with six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaseElector {
  private leading = false;
  private running = false;
  /** The Lease as last seen, and when (local wall clock) its record last changed. */
  private observed?: { spec: LeaseSpec; resourceVersion?: string; at: number };
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;
  private informer?: Informer;
  private attempt: Promise<void> = Promise.resolve();

  constructor(private readonly o: ElectorOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder as last observed (empty when released or unknown). */
  get leader(): string {
    return this.observed?.spec.holderIdentity ?? "";
  }

  async start(): Promise<void> {
    this.running = true;
    this.informer = new Informer(this.o.client, Vmsnap.leases, {
      namespace: this.o.namespace,
      fieldSelector: `metadata.name=${this.o.name}`,
    });
    this.informer.onError = (err) => this.o.log?.(`lease watch: ${(err as Error).message}`);
    this.informer.on((event, obj) => {
      if (event === "delete") this.observed = undefined;
      else this.observe(obj);
      if (!this.leading) this.scheduleAttempt();
    });
    await this.informer.start();
    this.tryNow();
  }

  /** Stops; a leader releases the Lease first so that a standby takes over at once. */
  async stop(): Promise<void> {
    const wasLeading = this.leading;
    await this.halt();
    if (wasLeading) await this.release().catch((e) => this.o.log?.(`releasing the lease: ${e}`));
  }

  /** Stops at once without releasing (what a crash looks like to the other replicas). */
  async halt(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.informer?.stop();
    await this.attempt.catch(() => {});
    if (this.leading) {
      this.leading = false;
      this.o.onStoppedLeading();
    }
  }

  private observe(obj: KubeObject): void {
    const spec = (obj.spec ?? {}) as LeaseSpec;
    const prev = this.observed?.spec;
    const changed =
      !prev ||
      prev.holderIdentity !== spec.holderIdentity ||
      prev.renewTime !== spec.renewTime ||
      prev.leaseDurationSeconds !== spec.leaseDurationSeconds;
    this.observed = {
      spec,
      resourceVersion: obj.metadata.resourceVersion,
      at: changed ? Date.now() : (this.observed?.at ?? Date.now()),
    };
  }

  /** A standby wakes up when the Lease could be taken over: released, gone, or lapsed. */
  private scheduleAttempt(): void {
    if (!this.running || this.leading) return;
    clearTimeout(this.timer);
    const o = this.observed;
    const wait =
      !o || !o.spec.holderIdentity
        ? 0
        : o.at + (o.spec.leaseDurationSeconds ?? 0) * 1000 - Date.now() + 1;
    this.timer = setTimeout(() => this.tryNow(), Math.max(0, wait));
    this.timer.unref();
  }

  private tryNow(): void {
    this.attempt = this.attempt.then(async () => {
      if (!this.running) return;
      let outcome: "acquired" | "held" | "error";
      try {
        outcome = (await this.tryAcquireOrRenew()) ? "acquired" : "held";
      } catch (err) {
        outcome = "error";
        this.o.log?.(`lease ${this.o.namespace}/${this.o.name}: ${(err as Error).message}`);
      }
      if (!this.running) return;
      const now = Date.now();
      if (outcome === "acquired") {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.o.log?.(`became the leader (lease ${this.o.namespace}/${this.o.name})`);
          this.o.onStartedLeading();
        }
      } else if (
        this.leading &&
        (outcome === "held" || now - this.lastRenew >= this.o.renewDeadlineMs)
      ) {
        this.leading = false;
        this.o.log?.(
          outcome === "held"
            ? "lost the lease to another replica"
            : "could not renew the lease within the renew deadline",
        );
        this.o.onStoppedLeading();
      }
      clearTimeout(this.timer);
      // The leader renews every retry period, and a failed request is retried as often; a
      // standby that found the Lease held waits for its lapse (or for a change the watch shows).
      if (this.leading || outcome === "error") {
        this.timer = setTimeout(() => this.tryNow(), this.o.retryPeriodMs);
        this.timer.unref();
      } else this.scheduleAttempt();
    });
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    const current = await this.o.client.getIfExists(Vmsnap.leases, this.o.name, this.o.namespace);
    const desired = (old?: LeaseSpec): LeaseSpec => ({
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime:
        old?.holderIdentity === this.o.identity && old.acquireTime
          ? old.acquireTime
          : microTime(now),
      renewTime: microTime(now),
      // As client-go: every change of holder counts, a release in between included.
      leaseTransitions:
        (old?.leaseTransitions ?? 0) + (old && old.holderIdentity !== this.o.identity ? 1 : 0),
    });
    if (!current) {
      try {
        const created = await this.o.guard.create(Vmsnap.leases, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: desired() as Record<string, unknown>,
        });
        this.observe(created);
        return true;
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 409) return false;
        throw err;
      }
    }
    this.observe(current);
    const spec = this.observed!.spec;
    const heldByOther = Boolean(spec.holderIdentity) && spec.holderIdentity !== this.o.identity;
    if (heldByOther && this.observed!.at + (spec.leaseDurationSeconds ?? 0) * 1000 > now)
      return false;
    try {
      const updated = await this.o.guard.update(Vmsnap.leases, {
        ...current,
        spec: desired(spec) as Record<string, unknown>,
      });
      this.observe(updated);
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 409) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const current = await this.o.client.getIfExists(Vmsnap.leases, this.o.name, this.o.namespace);
    if (!current || (current.spec as LeaseSpec | undefined)?.holderIdentity !== this.o.identity)
      return;
    const now = microTime(Date.now());
    await this.o.guard.update(Vmsnap.leases, {
      ...current,
      spec: {
        ...current.spec,
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
      },
    });
    this.o.log?.(`released the lease ${this.o.namespace}/${this.o.name}`);
  }
}
