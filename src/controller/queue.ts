// A work queue of keys (policies): one worker per key at a time, a key added while it is worked
// on is worked on again afterwards (level-triggered), failures are retried with an exponential
// back-off per key, and idle() tells tests and benchmarks when everything has settled.

export interface WorkQueueOptions {
  concurrency?: number;
  /** First retry delay; doubles per consecutive failure of the key, up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, err: unknown) => void;
}

/** What a worker asks for: nothing, or to be called again after a back-off. */
export type WorkResult = void | { retry: true };

export class WorkQueue {
  private readonly queued: string[] = [];
  private readonly queuedSet = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly worker: (key: string) => Promise<WorkResult>,
    private readonly options: WorkQueueOptions = {},
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queuedSet.has(key)) return;
    this.queuedSet.add(key);
    this.queued.push(key);
    this.pump();
  }

  /** Resolves when nothing is queued, running or waiting for a retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    this.queued.length = 0;
    this.queuedSet.clear();
    this.settle();
  }

  private isIdle(): boolean {
    return this.queued.length === 0 && this.active.size === 0 && this.retryTimers.size === 0;
  }

  private settle(): void {
    if (!this.isIdle() && !this.stopped) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 4;
    while (!this.stopped && this.active.size < limit) {
      const index = this.queued.findIndex((k) => !this.active.has(k));
      if (index < 0) break;
      const [key] = this.queued.splice(index, 1);
      this.queuedSet.delete(key!);
      void this.work(key!);
    }
  }

  private async work(key: string): Promise<void> {
    this.active.add(key);
    let retry = false;
    try {
      const result = await this.worker(key);
      retry = Boolean(result && result.retry);
    } catch (err) {
      retry = true;
      this.options.onError?.(key, err);
    }
    this.active.delete(key);
    if (retry && !this.stopped) this.retryLater(key);
    else this.failures.delete(key);
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
    this.settle();
  }

  private retryLater(key: string): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const base = this.options.baseBackoffMs ?? 1000;
    const delay = Math.min(base * 2 ** (n - 1), this.options.maxBackoffMs ?? 300_000);
    clearTimeout(this.retryTimers.get(key));
    const timer = setTimeout(() => {
      this.retryTimers.delete(key);
      this.add(key);
      this.settle();
    }, delay);
    timer.unref();
    this.retryTimers.set(key, timer);
  }
}
