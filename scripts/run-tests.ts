// The test command: starts one shared environment (real etcd + kube-apiserver + CRDs + simulated
// controllers), runs every *.test.ts with node's test runner against it, stops it, and ends with
// the line "N passed, N failed".
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { run } from "node:test";
import { spec as SpecReporter } from "node:test/reporters";
import { startEnvironment } from "../src/playground/environment.js";
import {
  CONTROLLER,
  DEFAULT_IDENTITIES,
  FUZZ,
  READER,
  VMSNAP_USER,
  VMSNAP_IDENTITIES,
} from "../src/playground/identities.js";
import {
  ALLOWED_WRITES,
  CONTROLLER_ALLOWED_WRITES,
  isAllowedWrite,
} from "../src/kube/write-guard.js";
import type { AuditEvent } from "../src/playground/audit.js";
import { grantedPermissions, loadRbacRoles } from "../src/playground/rbac.js";

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

// Slowest files first, by the wall time each took in the last run on this machine (new files
// count as slow): with two files at a time, a long file started last would run alone at the end.
const durationsFile = path.join(
  process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache"),
  "vmsnap",
  "test-durations.json",
);
const lastDurations: Record<string, number> = await readFile(durationsFile, "utf8")
  .then((t) => JSON.parse(t) as Record<string, number>)
  .catch(() => ({}));
const rel = (f: string) => path.relative(root, f);
files.sort(
  (a, b) =>
    (lastDurations[rel(b)] ?? Infinity) - (lastDurations[rel(a)] ?? Infinity) || (a < b ? -1 : 1),
);

const started = Date.now();
const dir = await mkdtemp(path.join(tmpdir(), "vmsnap-test-"));
const log = (line: string) => process.stderr.write(`[env] ${line}\n`);
const env = await startEnvironment({
  dir: path.join(dir, "cp"),
  progress: log,
  log,
  identities: [
    ...DEFAULT_IDENTITIES,
    ...VMSNAP_IDENTITIES.filter((i) => !DEFAULT_IDENTITIES.includes(i)),
  ],
});
const envFile = path.join(dir, "env.json");
await writeFile(envFile, JSON.stringify(env.info));
process.env.VMSNAP_TEST_ENV = envFile;
log(
  `environment ready in ${((Date.now() - started) / 1000).toFixed(1)} s; ${files.length} test files`,
);

let passed = 0;
let failed = 0;
let skipped = 0;
// The limit is per test file. A file of MCP transport tests runs ~110 s on a loaded 2-core
// machine; 10 minutes leaves room for a slow CI host without hiding a hang.
const stream = run({ files, concurrency: 2, timeout: 600_000 });
// Each file's wall time, from its first event to its last.
const spans = new Map<string, { first: number; last: number }>();
const seen = (file: string | undefined) => {
  if (!file) return;
  const now = Date.now();
  const span = spans.get(file);
  if (span) span.last = now;
  else spans.set(file, { first: now, last: now });
};
stream.on("test:dequeue", (ev) => seen(ev.file));
stream.on("test:complete", (ev) => seen(ev.file));
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

// Suite-wide proof of the write guard (SPEC §9), for every identity vmsnap runs as: each write,
// dry runs and refused attempts included, is one of SPEC §2's (the policy controller: one of its
// own set, deploy/controller/). The read-only identity never succeeds in writing, and the fuzz
// identity (only invalid or harmless input) never even tries.
await env.controlPlane.syncAudit();
const outsideSet = (e: AuditEvent, allowed = ALLOWED_WRITES) =>
  !isAllowedWrite(allowed, {
    group: e.objectRef?.apiGroup ?? "",
    plural: e.objectRef?.resource ?? "",
    subresource: e.objectRef?.subresource,
    verb: e.verb,
  }) && !(e.objectRef?.resource === "selfsubjectreviews");
const succeeded = (e: AuditEvent) => (e.responseStatus?.code ?? 0) < 400;
let writesChecked = 0;
let violations = 0;
process.stdout.write("\n");
for (const identity of VMSNAP_IDENTITIES) {
  const writes = await env.controlPlane.audit.writesBy(identity.name);
  const allowed = identity === CONTROLLER ? CONTROLLER_ALLOWED_WRITES : ALLOWED_WRITES;
  // A SelfSubjectReview (MCP passthrough auth asks who a token is) creates nothing.
  const review = (e: AuditEvent) => e.objectRef?.resource === "selfsubjectreviews";
  const bad = writes.filter(
    (e) =>
      outsideSet(e, allowed) ||
      (identity === READER && succeeded(e) && !review(e)) ||
      identity === FUZZ,
  );
  // The controller deletes only snapshots it created with a policy's label (or, where a policy
  // opts in, safety snapshots of restores): a delete of anything else is a violation.
  if (identity === CONTROLLER) {
    const key = (e: AuditEvent) =>
      `${e.objectRef?.apiGroup}/${e.objectRef?.namespace}/${e.objectRef?.name}`;
    const madeByPolicy = new Set(
      writes
        .filter((e) => e.verb === "create" && succeeded(e))
        .filter((e) => {
          const meta = (
            e.requestObject as { metadata?: { name?: string; labels?: Record<string, string> } }
          )?.metadata;
          return Boolean(meta?.labels?.["vmsnap.io/policy"]);
        })
        .map((e) => {
          const name = (e.requestObject as { metadata: { name: string } }).metadata.name;
          return `${e.objectRef?.apiGroup}/${e.objectRef?.namespace}/${name}`;
        }),
    );
    bad.push(
      ...writes.filter(
        (e) =>
          e.verb === "delete" &&
          !madeByPolicy.has(key(e)) &&
          !/-pre-restore-\d{8}-\d{6}(-\d+)?$/.test(e.objectRef?.name ?? ""),
      ),
    );
  }
  writesChecked += writes.length;
  violations += bad.length;
  const refused = writes.filter((e) => !succeeded(e));
  const codes = [...new Set(refused.map((e) => e.responseStatus?.code))].sort().join(", ");
  process.stdout.write(
    `audit: ${writes.length} writes by ${identity.name} (${refused.length} refused by the API server${codes ? `: ${codes}` : ""}), ${bad.length} not allowed\n`,
  );
  for (const e of bad.slice(0, 20))
    process.stdout.write(`  ✖ ${e.verb} ${e.requestURI} → ${e.responseStatus?.code ?? "?"}\n`);
}
process.stdout.write(
  `audit: ${writesChecked} writes checked, ${violations} outside SPEC §2 (the controller: outside its own set)\n`,
);

// How much of the operator roles the suite exercised (information: a permission no test uses is
// either for a platform without tests yet, or one to question).
const operatorGrants = grantedPermissions(
  (await loadRbacRoles()).filter((r) => VMSNAP_USER.clusterRoles?.includes(r.metadata.name)),
);
const used = new Set(
  (await env.controlPlane.audit.events({ user: VMSNAP_USER.name }))
    .filter((e) => (e.responseStatus?.code ?? 0) < 400 && !e.objectRef?.subresource)
    .map((e) => `${e.verb} ${e.objectRef?.apiGroup ?? ""}/${e.objectRef?.resource ?? ""}`),
);
const unused = [...operatorGrants].filter((p) => !used.has(p)).sort();
process.stdout.write(
  `rbac: ${operatorGrants.size - unused.length} of ${operatorGrants.size} operator permissions exercised by ${VMSNAP_USER.name}${unused.length ? `; not exercised: ${unused.join(", ")}` : ""}\n`,
);
if (writesChecked > 0) {
  if (violations) failed++;
  else passed++;
}

const durations = [...spans].map(([f, s]) => [rel(f), s.last - s.first] as const);
durations.sort((a, b) => b[1] - a[1]);
process.stdout.write(
  `slowest files: ${durations
    .slice(0, 8)
    .map(([f, ms]) => `${f} ${(ms / 1000).toFixed(0)} s`)
    .join(", ")}\n`,
);
await mkdir(path.dirname(durationsFile), { recursive: true });
await writeFile(
  durationsFile,
  JSON.stringify({ ...lastDurations, ...Object.fromEntries(durations) }, null, 1),
).catch(() => {});

await env.stop();
await rm(dir, { recursive: true, force: true });
const summaryFile = process.env.VMSNAP_TEST_SUMMARY;
if (summaryFile) await writeFile(summaryFile, JSON.stringify({ passed, failed, skipped }));
process.stdout.write(`\ntotal time ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
process.stdout.write(
  `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`,
);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
