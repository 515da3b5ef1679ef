// "Did you mean": the names closest to one that was not found, by edit distance, as kubectl and
// cobra suggest commands (a distance of at most 2, or a name that starts with what was typed).
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

/** The candidates close to `name`, closest first (then by name), at most `limit` of them. */
export function closeNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const scored: { n: string; d: number }[] = [];
  for (const n of new Set(candidates)) {
    if (n === name) continue;
    const d = editDistance(name, n);
    if (d <= MAX_DISTANCE || (name.length >= 3 && n.startsWith(name))) scored.push({ n, d });
  }
  return scored
    .sort((x, y) => x.d - y.d || (x.n < y.n ? -1 : x.n > y.n ? 1 : 0))
    .slice(0, limit)
    .map((s) => s.n);
}
