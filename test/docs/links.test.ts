// The README and docs link only to files inside the repository (a clone is all a reader has), and
// every such link resolves.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..", "..");

async function markdownFiles(): Promise<string[]> {
  const out = [path.join(root, "README.md")];
  for (const dir of ["docs", "bench", "deploy", "crds", "skills"]) {
    const entries = await readdir(path.join(root, dir), { recursive: true, withFileTypes: true });
    for (const e of entries)
      if (e.isFile() && e.name.endsWith(".md")) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

describe("documentation links", () => {
  it("every relative link stays inside the repository and resolves", async () => {
    const bad: string[] = [];
    let checked = 0;
    for (const file of await markdownFiles()) {
      // Code (fenced blocks, inline spans) is not prose: its brackets are not links.
      const text = (await readFile(file, "utf8"))
        .replace(/```[\s\S]*?```/g, "")
        .replace(/`[^`\n]*`/g, "");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split("#")[0]!;
        if (!target || /^[a-z]+:/i.test(target)) continue; // anchors, http(s), mailto
        checked++;
        const resolved = path.resolve(path.dirname(file), target);
        const where = `${path.relative(root, file)}: ${m[1]}`;
        if (!resolved.startsWith(root + path.sep)) bad.push(`${where} (outside the repository)`);
        else if (!existsSync(resolved)) bad.push(`${where} (missing)`);
      }
    }
    assert.ok(checked > 20, `links checked: ${checked}`);
    assert.deepEqual(bad, []);
  });
});
