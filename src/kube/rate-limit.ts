// A client-side token bucket, like client-go's (QPS + burst): every request the client sends takes
// one token, so a bulk operation over many VMs cannot flood the API server. Pure apart from the
// injected clock and sleep, so that tests drive it without real time.

export interface RateLimitOptions {
  /** Sustained requests per second. */
  qps: number;
  /** Requests allowed at once after a quiet period. */
  burst: number;
  /** Milliseconds since some fixed point (default: the monotonic clock, process.hrtime). */
  now?: () => number;
  /** Waits this many milliseconds (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
}

/** vmsnap's defaults, documented in docs/performance.md; VMSNAP_QPS / VMSNAP_BURST override. */
export const DEFAULT_QPS = 50;
export const DEFAULT_BURST = 100;

export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: RateLimitOptions) {
    if (!(options.qps > 0) || !(options.burst >= 1))
      throw new RangeError(`invalid rate limit: qps ${options.qps}, burst ${options.burst}`);
    this.qps = options.qps;
    this.burst = Math.floor(options.burst);
    // Not performance.now(): the first use of the `performance` global loads perf_hooks (start-up).
    this.now = options.now ?? (() => Number(process.hrtime.bigint()) / 1e6);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.tokens = this.burst;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.qps) / 1000);
    this.last = t;
  }

  /**
   * Reserves one token and answers how many milliseconds the caller must wait before using it
   * (0 when one is available now). Reservations queue in call order: tokens may go negative.
   */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  /** Resolves when the caller may send one request. */
  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await this.sleep(wait);
  }
}

/** The limiter a CLI or MCP process uses, from VMSNAP_QPS / VMSNAP_BURST or the defaults. */
export function limiterFromEnv(env: NodeJS.ProcessEnv = process.env): TokenBucket {
  const qps = env.VMSNAP_QPS ? Number(env.VMSNAP_QPS) : DEFAULT_QPS;
  const burst = env.VMSNAP_BURST ? Number(env.VMSNAP_BURST) : Math.max(DEFAULT_BURST, qps * 2);
  return new TokenBucket({ qps, burst });
}
