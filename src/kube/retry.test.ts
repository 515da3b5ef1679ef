import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KubeApiError, KubeUnreachableError } from "./client.js";
import {
  defaultRetryPolicy,
  mayHaveBeenProcessed,
  parseRetryAfter,
  retryDecision,
  withRetries,
  type RetryPolicy,
} from "./retry.js";

const policy: RetryPolicy = {
  budgetMs: 5_000,
  baseBackoffMs: 1,
  maxBackoffMs: 4,
  maxRetryAfterMs: 30_000,
};
const tooMany = (retryAfter?: number) =>
  new KubeApiError(429, { code: 429, message: "slow down" }, "POST", "/x", retryAfter);
const net = (code: string) =>
  new KubeUnreachableError("https://h", Object.assign(new Error(code), { code }));

describe("retryDecision", () => {
  it("429: any method, after Retry-After (1 s when absent); beyond the limit: not at all", () => {
    assert.deepEqual(retryDecision("POST", tooMany(2), 0, policy, true)?.delayMs, 2000);
    assert.equal(retryDecision("PATCH", tooMany(), 0, policy, true)?.delayMs, 1000);
    assert.match(retryDecision("GET", tooMany(1), 0, policy, true)!.why, /Retry-After 1s/);
    assert.equal(retryDecision("POST", tooMany(3600), 0, policy, true), undefined);
  });

  it("a connection refused is retried for every method (nothing was sent), once reached before", () => {
    assert.ok(retryDecision("POST", net("ECONNREFUSED"), 0, policy, true));
    assert.equal(retryDecision("POST", net("ECONNREFUSED"), 0, policy, false), undefined);
    assert.equal(retryDecision("GET", net("ECONNREFUSED"), 0, policy, false), undefined);
  });

  it("a connection broken after sending: reads are retried, writes never", () => {
    assert.ok(retryDecision("GET", net("ECONNRESET"), 0, policy, true));
    assert.equal(retryDecision("POST", net("ECONNRESET"), 0, policy, true), undefined);
    assert.equal(retryDecision("PATCH", net("EPIPE"), 0, policy, true), undefined);
    assert.equal(retryDecision("DELETE", net("ECONNRESET"), 0, policy, true), undefined);
  });

  it("5xx: reads only; other API errors never", () => {
    const e = (code: number, method: string) => new KubeApiError(code, { code }, method, "/x");
    assert.ok(retryDecision("GET", e(503, "GET"), 0, policy, true));
    assert.equal(retryDecision("POST", e(503, "POST"), 0, policy, true), undefined);
    assert.equal(retryDecision("GET", e(404, "GET"), 0, policy, true), undefined);
    assert.equal(retryDecision("GET", e(409, "GET"), 0, policy, true), undefined);
  });

  it("401/403 and resource-not-served 404 on reads are repeated only while the connection was just lost", () => {
    const e = (code: number) => new KubeApiError(code, { code }, "GET", "/x");
    const missing = new KubeApiError(
      404,
      { code: 404, details: { name: "x", kind: "virtualmachinesnapshots" } },
      "GET",
      "/x",
    );
    assert.equal(retryDecision("GET", missing, 0, policy, true, true), undefined, "an answer");
    for (const code of [401, 403, 404]) {
      assert.equal(retryDecision("GET", e(code), 0, policy, true), undefined);
      assert.match(retryDecision("GET", e(code), 0, policy, true, true)!.why, /starting/);
      assert.equal(retryDecision("POST", e(code), 0, policy, true, true), undefined);
    }
  });

  it("backoff doubles up to its cap", () => {
    const d = [0, 1, 2, 3, 4].map((i) => retryDecision("GET", net("ECONNRESET"), i, policy, true)!);
    assert.deepEqual(
      d.map((x) => x.delayMs),
      [1, 2, 4, 4, 4],
    );
  });
});

describe("mayHaveBeenProcessed", () => {
  it("only requests that may have reached the server", () => {
    assert.equal(mayHaveBeenProcessed(net("ECONNREFUSED")), false);
    assert.equal(mayHaveBeenProcessed(net("ECONNRESET")), true);
    assert.equal(
      mayHaveBeenProcessed(new KubeUnreachableError("h", new Error("socket hang up"))),
      true,
    );
    assert.equal(mayHaveBeenProcessed(tooMany(1)), false);
  });
});

describe("withRetries", () => {
  it("retries until success, announcing each retry", async () => {
    const notices: string[] = [];
    let calls = 0;
    const state = { reachedBefore: true };
    const out = await withRetries(
      "GET",
      "/api/v1/pods?watch=true",
      async () => {
        if (++calls < 3) throw net("ECONNRESET");
        return "ok";
      },
      policy,
      state,
      (m) => notices.push(m),
    );
    assert.equal(out, "ok");
    assert.equal(calls, 3);
    assert.equal(notices.length, 2);
    assert.match(notices[0]!, /^retrying GET \/api\/v1\/pods in 0\.0s \(ECONNRESET; attempt 2\)$/);
  });

  it("gives up with the last error once the budget would be exceeded", async () => {
    let calls = 0;
    await assert.rejects(
      withRetries(
        "GET",
        "/x",
        async () => {
          calls++;
          throw net("ECONNRESET");
        },
        { ...policy, budgetMs: 10 },
        { reachedBefore: true },
      ),
      KubeUnreachableError,
    );
    // 1 + 2 + 4 ms fit into 10 ms, the next 4 would not.
    assert.equal(calls, 4);
  });

  it("a first contact that fails is reported at once (a wrong address is not a blip)", async () => {
    let calls = 0;
    const state = { reachedBefore: false };
    await assert.rejects(
      withRetries(
        "GET",
        "/x",
        async () => (calls++, Promise.reject(net("ECONNREFUSED"))),
        policy,
        state,
      ),
    );
    assert.equal(calls, 1);
  });
});

describe("parseRetryAfter and the policy from the environment", () => {
  it("seconds, an HTTP date, or nothing", () => {
    assert.equal(parseRetryAfter("1"), 1);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter("soon"), undefined);
    const inTwo = new Date(Date.now() + 2500).toUTCString();
    assert.ok([2, 3].includes(parseRetryAfter(inTwo)!));
  });

  it("VMSNAP_RETRY_BUDGET in ms or s; default 30 s", () => {
    assert.equal(defaultRetryPolicy({}).budgetMs, 30_000);
    assert.equal(defaultRetryPolicy({ VMSNAP_RETRY_BUDGET: "1500ms" }).budgetMs, 1500);
    assert.equal(defaultRetryPolicy({ VMSNAP_RETRY_BUDGET: "2s" }).budgetMs, 2000);
    assert.equal(defaultRetryPolicy({ VMSNAP_RETRY_BUDGET: "junk" }).budgetMs, 30_000);
  });
});
