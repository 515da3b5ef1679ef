// A minimal controller runtime for the simulators: shared informers, and one serial work queue of
// (controller, key) items with de-duplication and delayed requeues. Level-triggered reconcilers
// make a single worker both simple and free of races between controllers.
import { KubeApiError, type KubeClient } from "../../kube/client.js";
import { keyOf, type KubeObject, type ResourceType } from "../../kube/resources.js";
import { Informer } from "../../kube/watch.js";

export interface ReconcileResult {
  /** Reconcile again after this many milliseconds (deadlines, delays, retries). */
  requeueAfterMs?: number;
}

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export type Logger = (message: string) => void;

export class Runtime {
  private readonly informers = new Map<string, Informer>();
  private readonly reconcilers = new Map<string, Reconciler>();
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** When each pending timer fires (ms since the epoch). */
  private readonly due = new Map<string, number>();
  private wake?: () => void;
  private stopped = false;
  private worker?: Promise<void>;
  private idleWaiters: (() => void)[] = [];
  private busy = false;

  constructor(
    readonly client: KubeClient,
    readonly log: Logger = () => {},
  ) {}

  informer<T extends KubeObject = KubeObject>(type: ResourceType): Informer<T> {
    const id = `${type.group}/${type.plural}`;
    let inf = this.informers.get(id);
    if (!inf) {
      inf = new Informer(this.client, type);
      inf.onError = (err) => this.log(`watch ${type.plural}: ${(err as Error).message}`);
      this.informers.set(id, inf);
    }
    return inf as unknown as Informer<T>;
  }

  register(controller: string, reconciler: Reconciler): void {
    this.reconcilers.set(controller, reconciler);
  }

  /**
   * Queues controller/key now, or after delayMs. Of two pending timers the earlier wins: a long
   * one (a VM held Starting for an hour) never delays a shorter one asked for later.
   */
  enqueue(controller: string, key: string, delayMs = 0): void {
    if (this.stopped) return;
    const item = `${controller}\u0000${key}`;
    if (delayMs > 0) {
      const at = Date.now() + delayMs;
      const pending = this.timers.get(item);
      if (pending) {
        if ((this.due.get(item) ?? 0) <= at) return;
        clearTimeout(pending);
      }
      const timer = setTimeout(() => {
        this.timers.delete(item);
        this.due.delete(item);
        this.enqueue(controller, key);
      }, delayMs);
      timer.unref();
      this.timers.set(item, timer);
      this.due.set(item, at);
      return;
    }
    if (this.queued.has(item)) return;
    this.queued.add(item);
    this.queue.push(item);
    this.wake?.();
  }

  async start(): Promise<void> {
    // Lists first (handlers enqueue everything that exists), then the worker runs.
    await Promise.all([...this.informers.values()].map((i) => this.startInformer(i)));
    this.worker = this.work();
  }

  /**
   * An API the cluster does not serve (an older platform version, a CRD not installed) leaves its
   * informer empty instead of failing the simulator; it starts once the API appears.
   */
  private async startInformer(inf: Informer): Promise<void> {
    try {
      await inf.start();
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 404)) throw err;
      this.log(`${inf.type.plural}.${inf.type.group} is not served: watching for it`);
      void (async () => {
        while (!this.stopped) {
          await sleep(2000);
          if (this.stopped) return;
          try {
            await inf.start();
            return;
          } catch {
            // still not served
          }
        }
      })();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.due.clear();
    this.wake?.();
    await this.worker;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  /** Resolves when the queue is empty and no reconcile is running (pending timers aside). */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const item = this.queue.shift();
      if (!item) {
        this.busy = false;
        for (const w of this.idleWaiters.splice(0)) w();
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      this.busy = true;
      this.queued.delete(item);
      const [controller, key] = item.split("\u0000") as [string, string];
      const reconcile = this.reconcilers.get(controller);
      if (!reconcile) continue;
      try {
        const result = await reconcile(key);
        if (result?.requeueAfterMs !== undefined)
          this.enqueue(controller, key, Math.max(1, result.requeueAfterMs));
      } catch (err) {
        if (this.stopped) return;
        // Conflicts and not-found races resolve on the next event or a quick retry.
        const retryMs =
          err instanceof KubeApiError && (err.code === 409 || err.code === 404) ? 50 : 1000;
        if (!(err instanceof KubeApiError && err.code === 409)) {
          this.log(`${controller} ${key}: ${(err as Error).message.slice(0, 300)}`);
        }
        this.enqueue(controller, key, retryMs);
      }
    }
  }
}

/** Waits a moment for the informer cache to reflect our own write (read-your-writes). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Writing as a controller: helpers every simulator shares.

/**
 * Read-your-writes over the informer caches: the object we last wrote, while the watch has not
 * caught up with it. The single serial worker makes this exact for the simulator's own writes.
 */
export class Fresh {
  private readonly written = new Map<string, KubeObject>();

  get(inf: Informer, key: string): KubeObject | undefined {
    const id = `${inf.type.plural}.${inf.type.group}/${key}`;
    const cached = inf.cache.get(key);
    const mine = this.written.get(id);
    if (!cached) {
      this.written.delete(id);
      return undefined;
    }
    if (mine && mine.metadata.uid === cached.metadata.uid && newer(mine, cached)) return mine;
    if (mine) this.written.delete(id);
    return cached;
  }

  list(inf: Informer): KubeObject[] {
    return inf.list().map((o) => this.get(inf, keyOf(o)) ?? o);
  }

  remember(inf: Informer, obj: KubeObject): void {
    this.written.set(`${inf.type.plural}.${inf.type.group}/${keyOf(obj)}`, obj);
  }
}

function rv(o: KubeObject): bigint | undefined {
  const v = o.metadata.resourceVersion;
  return v && /^\d+$/.test(v) ? BigInt(v) : undefined;
}

function newer(a: KubeObject, b: KubeObject): boolean {
  const x = rv(a);
  const y = rv(b);
  return x !== undefined && y !== undefined && x > y;
}

/**
 * The status patch that makes `current` match `desired`: changed keys are set, keys desired
 * undefined but present are deleted (null); undefined when nothing differs.
 */
export function statusPatch(
  current: Record<string, unknown> | undefined,
  desired: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(desired)) {
    const cur = current?.[k];
    if (v === undefined) {
      if (cur !== undefined) out[k] = null;
    } else if (!jsonEqual(cur, v)) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** What a simulator writes with: its client and its read-your-writes memory. */
export interface ControllerWriter {
  client: KubeClient;
  fresh: Fresh;
}

/** A merge patch through the client as this field manager, remembered for read-your-writes. */
export async function patchObject(
  ctx: ControllerWriter,
  fieldManager: string,
  inf: Informer,
  obj: KubeObject,
  body: unknown,
  subresource?: "status",
): Promise<KubeObject> {
  const out = await ctx.client.patch(inf.type, obj.metadata.name, obj.metadata.namespace, body, {
    fieldManager,
    ...(subresource ? { subresource } : {}),
  });
  ctx.fresh.remember(inf, out);
  return out;
}

/** Writes the status that makes the object's match `desired` (nothing when it already does). */
export async function writeStatusOf(
  ctx: ControllerWriter,
  fieldManager: string,
  inf: Informer,
  obj: KubeObject,
  desired: Record<string, unknown>,
): Promise<KubeObject> {
  const p = statusPatch((obj as { status?: Record<string, unknown> }).status, desired);
  if (!p) return obj;
  return patchObject(ctx, fieldManager, inf, obj, { status: p }, "status");
}

/** status.conditions[type] of an object. */
export function conditionOf(
  obj: KubeObject | undefined,
  type: string,
): Record<string, unknown> | undefined {
  const list = ((obj as { status?: { conditions?: unknown } } | undefined)?.status?.conditions ??
    []) as Record<string, unknown>[];
  return list.find((c) => c.type === type);
}
