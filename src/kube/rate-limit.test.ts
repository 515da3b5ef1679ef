// The token bucket with an injected clock: no real time passes, so nothing here depends on timing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket, limiterFromEnv } from "./rate-limit.js";

function clocked(qps: number, burst: number) {
  let t = 0;
  const slept: number[] = [];
  const bucket = new TokenBucket({
    qps,
    burst,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  });
  return { bucket, slept, advance: (ms: number) => (t += ms) };
}

describe("TokenBucket", () => {
  it("lets a burst through at once, then spaces requests at 1/qps", () => {
    const { bucket } = clocked(10, 3);
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    // The 4th and 5th wait one and two token intervals (100 ms each at 10 QPS).
    assert.equal(bucket.reserve(), 100);
    assert.equal(bucket.reserve(), 200);
  });

  it("refills with time, never above the burst", () => {
    const { bucket, advance } = clocked(10, 2);
    bucket.reserve();
    bucket.reserve();
    advance(10_000);
    assert.deepEqual([bucket.reserve(), bucket.reserve()], [0, 0]);
    assert.equal(bucket.reserve(), 100);
  });

  it("take() sleeps exactly the reserved time, so N requests over the burst span (N-burst)/qps", async () => {
    const { bucket, slept } = clocked(50, 5);
    for (let i = 0; i < 105; i++) await bucket.take();
    assert.equal(slept.length, 100);
    // Each sleep is one token interval: the caller is spaced at exactly 50 per second.
    assert.ok(slept.every((ms) => Math.abs(ms - 20) < 1e-9));
  });

  it("refuses nonsense settings", () => {
    assert.throws(() => new TokenBucket({ qps: 0, burst: 1 }), RangeError);
    assert.throws(() => new TokenBucket({ qps: 5, burst: 0 }), RangeError);
  });

  it("reads VMSNAP_QPS / VMSNAP_BURST, with documented defaults", () => {
    const d = limiterFromEnv({});
    assert.deepEqual([d.qps, d.burst], [50, 100]);
    const e = limiterFromEnv({ VMSNAP_QPS: "200", VMSNAP_BURST: "10" });
    assert.deepEqual([e.qps, e.burst], [200, 10]);
    assert.throws(() => limiterFromEnv({ VMSNAP_QPS: "fast" }), RangeError);
  });
});
