// Single-use, short-lived approvals bound to one exact plan. Two stores use it: token mode (SPEC §7;
// the token the agent carries to the second call) and 2026-07-28 elicitation (the requestState of
// an input_required round: the human's "yes" confirms that plan once, before it expires). An entry
// holds the plan's digest and the pins its names were made from (so that the plan confirmed is
// the plan shown), the tool, and — with per-request authentication — the caller it was issued to.
import { randomBytes } from "node:crypto";
import type { Pins } from "../core/plan.js";

export const TOKEN_TTL_MS = 5 * 60_000;

interface Entry {
  digest: string;
  pins: Pins;
  tool: string;
  /** The authenticated caller it was issued to (passthrough auth), if any. */
  owner?: string;
  expiresAt: number;
  used: boolean;
}

export type TokenRefusal = "unknown" | "expired" | "used" | "plan-changed" | "other-tool";

export type TokenClaim =
  | { ok: true; digest: string; pins: Pins }
  | { ok: false; reason: Exclude<TokenRefusal, "plan-changed"> };

export class TokenStore {
  private readonly entries = new Map<string, Entry>();
  constructor(
    private readonly ttlMs = TOKEN_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get ttl(): number {
    return this.ttlMs;
  }

  issue(
    tool: string,
    digest: string,
    pins: Pins,
    owner?: string,
  ): { token: string; expiresAt: Date } {
    this.sweep();
    const token = `vmsnap-${randomBytes(24).toString("hex")}`;
    const expiresAt = this.now() + this.ttlMs;
    this.entries.set(token, { digest, pins, tool, owner, expiresAt, used: false });
    return { token, expiresAt: new Date(expiresAt) };
  }

  /**
   * Spends a token at its first presentation, whatever follows, and returns what it was issued
   * for: the plan's digest (to compare with the plan made again) and its pins (to make it again
   * with the names shown).
   */
  claim(token: string, tool: string, owner?: string): TokenClaim {
    const e = this.entries.get(token);
    // Another caller's token is as good as none: it is not spent, and not acknowledged.
    if (!e || e.owner !== owner) return { ok: false, reason: "unknown" };
    if (e.used) return { ok: false, reason: "used" };
    e.used = true;
    if (this.now() > e.expiresAt) return { ok: false, reason: "expired" };
    if (e.tool !== tool) return { ok: false, reason: "other-tool" };
    return { ok: true, digest: e.digest, pins: e.pins };
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.entries) if (t > e.expiresAt + this.ttlMs) this.entries.delete(k);
  }
}
