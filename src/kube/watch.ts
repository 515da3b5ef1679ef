// Watches, never polling: list once for a resourceVersion, then stream changes from it; resume
// from the last seen resourceVersion when a stream ends, and re-list when the server answers 410.
import { KubeApiError, KubeUnreachableError, type KubeReader } from "./client.js";
import { keyOf, resourcePath, type KubeObject, type ResourceType } from "./resources.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  object: T;
}

export interface WatchScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** One watch stream from a resourceVersion; yields events until the server closes it. */
export async function* watchOnce<T extends KubeObject>(
  client: KubeReader,
  type: ResourceType,
  scope: WatchScope,
  resourceVersion: string,
  signal?: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  const res = await client.stream(resourcePath(type, scope.namespace), {
    query: {
      watch: "true",
      resourceVersion,
      allowWatchBookmarks: "true",
      labelSelector: scope.labelSelector,
      fieldSelector: scope.fieldSelector,
      timeoutSeconds: 300,
    },
    signal,
  });
  let buffer = "";
  try {
    for await (const chunk of res) {
      buffer += (chunk as Buffer).toString("utf8");
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) yield JSON.parse(line) as WatchEvent<T>;
      }
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  } finally {
    res.destroy();
  }
}

/** A watch event of type ERROR carrying 410 Gone: the resourceVersion is too old. */
function isGone(ev: WatchEvent): boolean {
  return ev.type === "ERROR" && (ev.object as unknown as { code?: number }).code === 410;
}

export type InformerHandler<T> = (event: "add" | "update" | "delete", obj: T, old?: T) => void;

/**
 * A list+watch cache of one resource type. Handlers see every add/update/delete; after a 410 the
 * cache is rebuilt from a fresh list and the differences are delivered as events.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly abort = new AbortController();
  private resourceVersion = "";
  private running = false;
  private loop?: Promise<void>;
  onError: (err: unknown) => void = () => {};

  constructor(
    private readonly client: KubeReader,
    readonly type: ResourceType,
    private readonly scope: WatchScope = {},
  ) {}

  on(handler: InformerHandler<T>): this {
    this.handlers.push(handler);
    return this;
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Resolves after the initial list is in the cache (handlers got "add" for each object). */
  async start(): Promise<void> {
    this.running = true;
    await this.relist();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop?.catch(() => {});
  }

  private emit(event: "add" | "update" | "delete", obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj, old);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  private async relist(): Promise<void> {
    const list = await this.client.list<T>(this.type, this.scope.namespace, {
      labelSelector: this.scope.labelSelector,
      fieldSelector: this.scope.fieldSelector,
    });
    this.resourceVersion = list.metadata.resourceVersion ?? "";
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = keyOf(item);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, item);
      if (!old) this.emit("add", item);
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion)
        this.emit("update", item, old);
    }
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit("delete", old);
      }
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        for await (const ev of watchOnce<T>(
          this.client,
          this.type,
          this.scope,
          this.resourceVersion,
          this.abort.signal,
        )) {
          if (isGone(ev)) throw new GoneError();
          if (ev.type === "ERROR") throw new Error(`watch error: ${JSON.stringify(ev.object)}`);
          const rv = ev.object.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (ev.type === "BOOKMARK") continue;
          const key = keyOf(ev.object);
          const old = this.cache.get(key);
          if (ev.type === "DELETED") {
            this.cache.delete(key);
            this.emit("delete", ev.object, old);
          } else {
            this.cache.set(key, ev.object);
            this.emit(old ? "update" : "add", ev.object, old);
          }
        }
      } catch (err) {
        if (!this.running) return;
        if (err instanceof GoneError || (err instanceof KubeApiError && err.code === 410)) {
          await this.relist().catch((e) => this.onError(e));
          continue;
        }
        this.onError(err);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

class GoneError extends Error {
  constructor() {
    super("resourceVersion too old (410 Gone)");
  }
}

export class DeadlineExceededError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly last?: KubeObject,
  ) {
    super(`${what}: deadline of ${Math.round(timeoutMs / 1000)}s exceeded`);
    this.name = "DeadlineExceededError";
  }
}

export interface WaitOptions<T> {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with each new state of the object (for progress display). */
  onChange?: (obj: T | undefined) => void;
}

/**
 * Waits until predicate(object) is true for one named object, by watching it (field selector on
 * metadata.name). undefined is passed while the object does not exist. Throws
 * DeadlineExceededError at the deadline.
 */
export async function waitForObject<T extends KubeObject>(
  client: KubeReader,
  type: ResourceType,
  name: string,
  namespace: string | undefined,
  predicate: (obj: T | undefined) => boolean,
  options: WaitOptions<T>,
): Promise<T | undefined> {
  const informer = new Informer<T>(client, type, {
    namespace,
    fieldSelector: `metadata.name=${name}`,
  });
  let last: T | undefined;
  let settle!: (value: T | undefined) => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<T | undefined>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const check = () => {
    last = informer.get(name, namespace);
    options.onChange?.(last);
    try {
      if (predicate(last)) settle(last);
    } catch (err) {
      fail(err);
    }
  };
  informer.on(() => check());
  // The client has already retried for its whole budget: the cluster is gone, not blinking.
  informer.onError = (err) => {
    if (err instanceof KubeUnreachableError) fail(err);
  };
  const timer = setTimeout(
    () =>
      fail(
        new DeadlineExceededError(
          `waiting for ${type.kind} ${namespace ? namespace + "/" : ""}${name}`,
          options.timeoutMs,
          last,
        ),
      ),
    options.timeoutMs,
  );
  const onAbort = () => fail(new Error("aborted"));
  options.signal?.addEventListener("abort", onAbort);
  if (options.signal?.aborted) onAbort();
  try {
    // An abort (or the deadline) during the initial list ends the wait too.
    await Promise.race([informer.start(), done]);
    check();
    return await done;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    await informer.stop();
  }
}
