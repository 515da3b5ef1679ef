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

export type TokenCheck =
  | { ok: true }
  | { ok: false; reason: "unknown" | "expired" | "used" | "plan-changed" | "other-tool" };

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

  /** The pins of the plan a token was issued for (to plan it again), without spending it. */
  pinsOf(token: string): Pins | undefined {
    return this.entries.get(token)?.pins;
  }

  /** Checks and consumes: a token is spent by its first presentation, whatever follows. */
  redeem(token: string, tool: string, digest: string): TokenCheck {
    const e = this.entries.get(token);
    if (!e) return { ok: false, reason: "unknown" };
    if (e.used) return { ok: false, reason: "used" };
    e.used = true;
    if (this.now() > e.expiresAt) return { ok: false, reason: "expired" };
    if (e.tool !== tool) return { ok: false, reason: "other-tool" };
    if (e.digest !== digest) return { ok: false, reason: "plan-changed" };
    return { ok: true };
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.entries) if (t > e.expiresAt + this.ttlMs) this.entries.delete(k);
  }
}
