// A readable diff of two JSON documents (the VM spec stored in a snapshot vs the current one),
// by path: "~ spec.x: a → b", "+ spec.y: v", "- spec.z: v".

export interface DiffLine {
  op: "+" | "-" | "~";
  path: string;
  from?: unknown;
  to?: unknown;
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, []);
    value.forEach((v, i) => {
      // Arrays of named items (volumes, disks, interfaces) are keyed by name for stable paths.
      const key =
        v &&
        typeof v === "object" &&
        "name" in v &&
        typeof (v as { name: unknown }).name === "string"
          ? `[name=${(v as { name: string }).name}]`
          : `[${i}]`;
      flatten(v, `${prefix}${key}`, out);
    });
  } else if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) out.set(prefix, {});
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
}

export function jsonDiff(before: unknown, after: unknown, prefix = ""): DiffLine[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(before, prefix, a);
  flatten(after, prefix, b);
  const lines: DiffLine[] = [];
  for (const [path, from] of a) {
    if (!b.has(path)) lines.push({ op: "-", path, from });
    else if (JSON.stringify(b.get(path)) !== JSON.stringify(from))
      lines.push({ op: "~", path, from, to: b.get(path) });
  }
  for (const [path, to] of b) if (!a.has(path)) lines.push({ op: "+", path, to });
  return lines.sort((x, y) => x.path.localeCompare(y.path));
}

export function formatDiffLine(line: DiffLine): string {
  const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  if (line.op === "~") return `~ ${line.path}: ${show(line.from)} → ${show(line.to)}`;
  return `${line.op} ${line.path}: ${show(line.op === "+" ? line.to : line.from)}`;
}
