// "Did you mean": the names closest to one that was not found, by edit distance, as kubectl and
// cobra suggest commands (a distance of at most 2, or a name that starts with what was typed),
// and of those only the closest, as git does: with web-snap-1 at 1, db-snap-2 at 2 is noise.
// Pure; the read that gives the candidates is src/workflows/suggest.ts's.

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

export const MAX_DISTANCE = 2;

/**
 * The candidates closest to `name` (all at the smallest distance found; a name that starts with
 * what was typed counts as 1), by name, at most `limit` of them.
 */
export function closeNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const scored: { n: string; d: number }[] = [];
  for (const n of new Set(candidates)) {
    if (n === name) continue;
    const prefix = name.length >= 3 && n.startsWith(name);
    const d = prefix ? 1 : editDistance(name, n);
    if (d <= MAX_DISTANCE) scored.push({ n, d });
  }
  const best = Math.min(...scored.map((s) => s.d));
  return scored
    .filter((s) => s.d === best)
    .map((s) => s.n)
    .sort()
    .slice(0, limit);
}
