// The test command: starts one shared environment (real etcd + kube-apiserver + CRDs + simulated
// controllers), runs every *.test.ts with node's test runner against it, stops it, and ends with
// the line "N passed, N failed".
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { run } from "node:test";
import { spec as SpecReporter } from "node:test/reporters";
import { startEnvironment } from "../src/playground/environment.js";

const root = path.resolve(import.meta.dirname, "..");

async function findTests(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== "node_modules") out.push(...(await findTests(full)));
    else if (e.isFile() && e.name.endsWith(".test.ts")) out.push(full);
  }
  return out.sort();
}

const filters = process.argv.slice(2);
let files = [
  ...(await findTests(path.join(root, "src"))),
  ...(await findTests(path.join(root, "test"))),
];
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));

const started = Date.now();
const dir = await mkdtemp(path.join(tmpdir(), "vmsnap-test-"));
const log = (line: string) => process.stderr.write(`[env] ${line}\n`);
const env = await startEnvironment({ dir: path.join(dir, "cp"), progress: log, log });
const envFile = path.join(dir, "env.json");
await writeFile(envFile, JSON.stringify(env.info));
process.env.VMSNAP_TEST_ENV = envFile;
log(
  `environment ready in ${((Date.now() - started) / 1000).toFixed(1)} s; ${files.length} test files`,
);

let passed = 0;
let failed = 0;
let skipped = 0;
const stream = run({ files, concurrency: 2, timeout: 300_000 });
stream.on("test:pass", (ev) => {
  if (ev.details.type === "suite") return;
  if (ev.skip || ev.todo) skipped++;
  else passed++;
});
stream.on("test:fail", (ev) => {
  if (ev.details.type === "suite") return;
  failed++;
});
await new Promise<void>((resolve) => {
  stream.compose(new SpecReporter()).on("end", resolve).pipe(process.stdout, { end: false });
});

await env.stop();
await rm(dir, { recursive: true, force: true });
const summaryFile = process.env.VMSNAP_TEST_SUMMARY;
if (summaryFile) await writeFile(summaryFile, JSON.stringify({ passed, failed, skipped }));
process.stdout.write(`\ntotal time ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
process.stdout.write(
  `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`,
);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
