// Token-mode confirmations (SPEC §7): a token is bound to the digest of one exact plan (and the
// pins its names were made from, so that the plan confirmed is the plan shown), expires quickly,
// and can be used once.
import { randomBytes } from "node:crypto";
import type { Pins } from "../core/plan.js";

export const TOKEN_TTL_MS = 5 * 60_000;

interface Entry {
  digest: string;
  pins: Pins;
  tool: string;
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

  issue(tool: string, digest: string, pins: Pins): { token: string; expiresAt: Date } {
    this.sweep();
    const token = `vmsnap-${randomBytes(24).toString("hex")}`;
    const expiresAt = this.now() + this.ttlMs;
    this.entries.set(token, { digest, pins, tool, expiresAt, used: false });
    return { token, expiresAt: new Date(expiresAt) };
  }

  /**
   * Spends a token at its first presentation, whatever follows, and returns what it was issued
   * for: the plan's digest (to compare with the plan made again) and its pins (to make it again
   * with the names shown).
   */
  claim(token: string, tool: string): TokenClaim {
    const e = this.entries.get(token);
    if (!e) return { ok: false, reason: "unknown" };
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
