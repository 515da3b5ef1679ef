// String order for sorted output: by UTF-16 code unit, as the API server returns lists (etcd keys
// compare as bytes) and as kubectl's Go code sorts (sort.Strings). Not String#localeCompare: its
// first call builds ICU's collator, ≈ 10 ms of every command's start-up — and on Kubernetes
// names (lowercase letters, digits, '-' and '.') and RFC 3339 timestamps both orders agree.

/** Negative, zero or positive as `a` sorts before, with or after `b` (code-unit order). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
