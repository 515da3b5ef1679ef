// Narrow accessors over the raw JSON of platform objects, so platform code never digs into
// untyped values without a check.
import type { KubeObject } from "../kube/resources.js";

export type Json = Record<string, unknown>;

export const obj = (v: unknown): Json =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {};
export const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** status.conditions[type]. */
export function condition(o: KubeObject | undefined, type: string): Json | undefined {
  return arr(obj(o?.status).conditions).find((c) => c.type === type);
}

/** "reason: message" of a condition, whichever parts it has. */
export function conditionText(c: Json | undefined): string | undefined {
  if (!c) return undefined;
  const parts = [str(c.reason), str(c.message)].filter(Boolean);
  return parts.length ? parts.join(": ") : undefined;
}
