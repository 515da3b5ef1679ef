// Kubernetes resource quantities ("10Gi", "500M", "1.5T") as bytes.

const MULTIPLIERS: Record<string, number> = {
  "": 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Bytes, or null when the value is not a quantity. */
export function quantityBytes(q: unknown): number | null {
  if (typeof q === "number") return q;
  if (typeof q !== "string") return null;
  const m = /^(\d+(?:\.\d+)?)([KMGTPE]i?|[kmMGTPE])?$/.exec(q.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * (MULTIPLIERS[m[2] ?? ""] ?? 1));
}
