// When a request may be sent again, and after how long. Only retries that cannot change the
// outcome are made: a 429 was never processed (whatever the method), reads are idempotent, and a
// connection that was refused carried nothing. A write whose connection broke after it was sent
// is never repeated here: the workflow re-reads the object before it creates anything again.
import { KubeApiError, KubeUnreachableError } from "./client.js";

export interface RetryPolicy {
  /** Total time spent waiting between attempts of one request, at most. */
  budgetMs: number;
  /** First backoff for network errors and 5xx; doubled each time up to maxBackoffMs. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** A Retry-After longer than this is not waited for: the error is reported instead. */
  maxRetryAfterMs: number;
}

/** VMSNAP_RETRY_BUDGET (a duration in ms or with s suffix) shortens or extends the default. */
export function defaultRetryPolicy(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const raw = env.VMSNAP_RETRY_BUDGET?.trim();
  let budgetMs = 30_000;
  if (raw) {
    const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(raw);
    if (m) budgetMs = Number(m[1]) * (m[2] === "s" ? 1000 : 1);
  }
  return { budgetMs, baseBackoffMs: 200, maxBackoffMs: 2_000, maxRetryAfterMs: 30_000 };
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);
// Error codes for which the request never left this machine.
const NOT_SENT = new Set(["ECONNREFUSED", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN"]);

/** The errno-style code behind an unreachable error, if any. */
export function networkCode(err: unknown): string | undefined {
  const cause = err instanceof KubeUnreachableError ? err.cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return code;
  // "socket hang up" carries ECONNRESET; a bare Error with that text is the same.
  if (cause instanceof Error && /socket hang up/i.test(cause.message)) return "ECONNRESET";
  return undefined;
}

/** True when a failed request may have reached the server (its outcome is unknown). */
export function mayHaveBeenProcessed(err: unknown): boolean {
  if (!(err instanceof KubeUnreachableError)) return false;
  const code = networkCode(err);
  return code === undefined || !NOT_SENT.has(code);
}

export interface RetryDecision {
  delayMs: number;
  why: string;
}

/**
 * Whether the failed attempt may be repeated, and after how long (undefined: give up).
 * reachedBefore: the server has answered this client before, so a refused connection is a
 * restart or a blip, not a wrong address (which is reported at once). recovering: the connection
 * was lost moments ago; an API server that has just started answers reads with 401/403, and with
 * 404 for custom resources it does not serve yet, until its RBAC and CRD caches are synced, so
 * those are repeated too for a while (a 404 for a named object that does not exist is not).
 */
export function retryDecision(
  method: string,
  err: unknown,
  attempt: number,
  policy: RetryPolicy,
  reachedBefore: boolean,
  recovering = false,
): RetryDecision | undefined {
  const backoff = Math.min(policy.baseBackoffMs * 2 ** attempt, policy.maxBackoffMs);
  if (err instanceof KubeApiError) {
    if (err.code === 429) {
      const after = err.retryAfterSeconds;
      const delayMs = after === undefined ? 1000 : after * 1000;
      if (delayMs > policy.maxRetryAfterMs) return undefined;
      return {
        delayMs,
        why: `${err.code} Too Many Requests${after !== undefined ? `, Retry-After ${after}s` : ""}`,
      };
    }
    // A server that is starting or overloaded; only reads are repeated.
    if (SAFE_METHODS.has(method) && [500, 502, 503, 504].includes(err.code))
      return {
        delayMs: err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : backoff,
        why: `HTTP ${err.code}`,
      };
    // A 404 naming an object is an answer; only "resource not served" (no name) is a sync gap.
    const unsynced = err.code === 404 ? !err.status.details?.name : [401, 403].includes(err.code);
    if (recovering && SAFE_METHODS.has(method) && unsynced)
      return { delayMs: backoff, why: `HTTP ${err.code} from a server that is starting` };
    return undefined;
  }
  if (err instanceof KubeUnreachableError) {
    if (!reachedBefore) return undefined;
    const code = networkCode(err);
    if (code && NOT_SENT.has(code)) return { delayMs: backoff, why: code };
    if (SAFE_METHODS.has(method)) return { delayMs: backoff, why: code ?? "connection lost" };
  }
  return undefined;
}

/** How long after a lost connection a starting server's 401/403/404 on reads is not believed. */
const RECOVERY_WINDOW_MS = 15_000;

export type RetryNotice = (message: string) => void;

/**
 * Runs one request with the policy: each retry is announced (what failed, how long it waits),
 * and the last error is thrown once the budget would be exceeded.
 */
export async function withRetries<T>(
  method: string,
  path: string,
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  state: { reachedBefore: boolean; lostAt?: number },
  notice?: RetryNotice,
): Promise<T> {
  let waited = 0;
  for (let i = 0; ; i++) {
    try {
      const result = await attempt();
      state.reachedBefore = true;
      return result;
    } catch (err) {
      if (err instanceof KubeApiError) state.reachedBefore = true;
      if (err instanceof KubeUnreachableError) state.lostAt = Date.now();
      const recovering =
        state.lostAt !== undefined && Date.now() - state.lostAt < RECOVERY_WINDOW_MS;
      const d = retryDecision(method, err, i, policy, state.reachedBefore, recovering);
      if (!d || waited + d.delayMs > policy.budgetMs) throw err;
      notice?.(
        `retrying ${method} ${path.split("?")[0]} in ${(d.delayMs / 1000).toFixed(1)}s (${d.why}; attempt ${i + 2})`,
      );
      await new Promise((r) => setTimeout(r, d.delayMs));
      waited += d.delayMs;
    }
  }
}

/** Retry-After as seconds (the delta-seconds form; an HTTP date is converted). */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
