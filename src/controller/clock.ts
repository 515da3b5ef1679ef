// Time for the controller's schedules: the system clock in production, a clock the caller moves in
// tests and benchmarks (weeks of schedules pass in seconds, nothing sleeps). Only scheduling
// and retention read it; the leader election's lease times are wall-clock time by design.

export interface Clock {
  now(): Date;
  /** Calls fn once at `when` (at once when it is past); returns a function that cancels it. */
  at(when: Date, fn: () => void): () => void;
}

/** Node timers fire at once beyond 2^31-1 ms: longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => new Date(),
  at(when, fn) {
    let timer: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = () => {
      const wait = when.getTime() - Date.now();
      if (wait <= 0) return fn();
      timer = setTimeout(() => !cancelled && arm(), Math.min(wait, MAX_TIMER_MS));
      timer.unref();
    };
    arm();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  },
};

/** A clock that moves only when told to; due timers fire in time order as it moves. */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers = new Set<{ when: number; fn: () => void }>();

  constructor(start: Date) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  at(when: Date, fn: () => void): () => void {
    const timer = { when: when.getTime(), fn };
    if (timer.when <= this.current) {
      queueMicrotask(fn);
      return () => {};
    }
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Moves to `to` (never backwards), firing every timer due on the way, earliest first. */
  set(to: Date): void {
    const target = Math.max(this.current, to.getTime());
    for (;;) {
      const due = [...this.timers]
        .filter((t) => t.when <= target)
        .sort((a, b) => a.when - b.when)[0];
      if (!due) break;
      this.timers.delete(due);
      this.current = Math.max(this.current, due.when);
      due.fn();
    }
    this.current = target;
  }

  advance(ms: number): void {
    this.set(new Date(this.current + ms));
  }

  /** The earliest pending timer (tests step from one scheduled time to the next). */
  nextTimer(): Date | undefined {
    const t = [...this.timers].sort((a, b) => a.when - b.when)[0];
    return t && new Date(t.when);
  }
}
