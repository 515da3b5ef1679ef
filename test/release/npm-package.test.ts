// What `npm publish` would ship: the built library and CLI (with its three bins), the CRDs and
// RBAC roles, the Apache-2.0 LICENSE — and no source maps, tests or build artefacts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const root = path.resolve(import.meta.dirname, "..", "..");

describe("npm package", () => {
  it("ships LICENSE (Apache-2.0), dist with its bins, crds and deploy; no maps, tests or release files", async () => {
    const { stdout } = await promisify(execFile)(
      "npm",
      ["pack", "--dry-run", "--json", "--ignore-scripts"],
      { cwd: root, maxBuffer: 64 << 20 },
    );
    const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
    const files = pack!.files.map((f) => f.path);
    const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
      license: string;
      bin: Record<string, string>;
      engines: { node: string };
    };
    assert.equal(pkg.license, "Apache-2.0");
    assert.ok(files.includes("LICENSE"));
    const license = await readFile(path.join(root, "LICENSE"), "utf8");
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
    assert.deepEqual(Object.keys(pkg.bin).sort(), [
      "kubectl-vmsnap",
      "kubectl_complete-vmsnap",
      "vmsnap",
    ]);
    for (const bin of Object.values(pkg.bin)) assert.ok(files.includes(bin), bin);
    assert.ok(files.includes("dist/index.js") && files.includes("dist/index.d.ts"));
    assert.ok(files.some((f) => f.startsWith("crds/")));
    assert.ok(files.some((f) => f.startsWith("deploy/rbac/")));
    const unwanted = files.filter(
      (f) =>
        f.endsWith(".map") || f.includes(".test.") || /^(src|test|release|scripts|bench)\//.test(f),
    );
    assert.deepEqual(unwanted, []);
    // The current LTS lines (Node 20 is end-of-life).
    assert.match(pkg.engines.node, /^>=22\./);
  });
});
