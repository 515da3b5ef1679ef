// create -l SELECTOR [-A]: every matching VM with one preview and one confirmation listing them
// all. The safety rules of a single create hold per VM (names, preflight verdict, server-side dry
// run, --stop); a VM that cannot be snapshotted is reported as Skipped, never dropped, and one
// VM's failure never hides the others' results.
import { verifyConfirmation } from "../core/confirmation.js";
import { ErrorCode, VmsnapError, notFound } from "../core/errors.js";
import { validateParallel, validateSelector } from "../core/bulk.js";
import { defaultSnapshotName, validateName } from "../core/names.js";
import { validateQuiesceTimeout } from "../core/duration.js";
import { API_VERSION } from "../core/api-version.js";
import type { Preflight, Snapshot, SnapshotBatch, SnapshotBatchItem } from "../core/schema.js";
import { toVmsnapError } from "../kube/errors.js";
import { Informer } from "../kube/watch.js";
import type { KubeObject } from "../kube/resources.js";
import type {
  CreateOptions,
  Manifest,
  PreflightOptions,
  SnapshotPlatform,
  VmState,
} from "../platforms/types.js";
import { validateLabels } from "../core/labels.js";
import { planDigest, preview, withMarks, withoutGeneratedName, type Marks } from "./common.js";
import {
  DEFAULT_SNAPSHOT_TIMEOUT_MS,
  applyRunState,
  startVm,
  stopVm,
  waitForSnapshot,
} from "./create.js";
import type { Session } from "./session.js";

const DEADLINE_GRACE_MS = 5_000;

export interface BulkCreateRequest extends CreateOptions, Marks {
  selector: string;
  /** The snapshot name of each VM (default `<vm>-snapshot-<time>`). */
  nameFor?: (vm: { namespace: string; name: string }) => string;
  allNamespaces?: boolean;
  stop?: boolean;
  dryRun?: boolean;
  wait?: boolean;
  parallel?: number;
}

export interface BulkCreateResult {
  batch: SnapshotBatch;
  preview: string;
}

interface Planned {
  platform: SnapshotPlatform;
  vm: VmState;
  preflight?: Preflight;
  name: string;
  manifest?: Manifest;
  stopFirst: boolean;
  item: SnapshotBatchItem;
}

/** Runs fn over items with at most `limit` at once; results keep the items' order. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function createSnapshotsBySelector(
  session: Session,
  req: BulkCreateRequest,
): Promise<BulkCreateResult> {
  const selector = validateSelector(req.selector);
  const parallel = validateParallel(req.parallel);
  validateQuiesceTimeout(req.quiesceTimeout);
  validateLabels(req.labels);
  validateLabels(req.annotations, "annotation");
  const scopeNs = req.allNamespaces ? undefined : session.namespace;
  const where = scopeNs ? `namespace ${scopeNs}` : "any namespace";

  session.progress(`finding VMs matching ${selector}`);
  const found = await inventory(session, scopeNs, selector, parallel, {
    consistency: req.consistency,
    stop: req.stop,
  });
  if (found.length === 0)
    throw notFound(
      `no VM matches the selector ${selector} in ${where}`,
      req.allNamespaces
        ? "check the labels with `vmsnap vms -A -l …`"
        : "check the labels with `vmsnap vms -l …`, or add -A for every namespace",
    );

  const now = session.now();
  const plans: Planned[] = await mapLimit(
    found,
    parallel,
    async ({ platform, vm, preflight, error }) => {
      const name = req.nameFor?.(vm) ?? defaultSnapshotName(vm.name, now);
      const item: SnapshotBatchItem = {
        namespace: vm.namespace,
        vm: vm.name,
        platform: platform.name,
        snapshot: name,
        result: "Skipped",
        phase: null,
        consistency: "unknown",
        message: null,
      };
      const plan: Planned = { platform, vm, preflight, name, stopFirst: false, item };
      try {
        validateName("snapshot", name);
        validateName("VM", vm.name);
      } catch (err) {
        item.message = toVmsnapError(err).message;
        return plan;
      }
      if (error || !preflight) {
        item.message = error ?? "preflight failed";
        return plan;
      }
      if (!preflight.snapshottable) {
        item.message = `blocked: ${preflight.problems.map((p) => `${p.message}${p.fix ? ` (fix: ${p.fix})` : ""}`).join("; ")}`;
        return plan;
      }
      plan.stopFirst = Boolean(req.stop && vm.running);
      try {
        plan.manifest = withMarks(
          await platform.snapshotManifest(vm.namespace, name, vm.name, req, vm),
          req,
        );
      } catch (err) {
        item.message = toVmsnapError(err).message;
        return plan;
      }
      item.consistency = plan.stopFirst ? "consistent (VM stopped)" : preflight.expectedConsistency;
      return plan;
    },
  );

  // The API server validates every manifest (dryRun=All) before the human is asked.
  let checked = 0;
  await mapLimit(
    plans.filter((p) => p.manifest),
    parallel,
    async (p) => {
      try {
        await session.guard.create(p.manifest!.type, p.manifest!.body, { dryRun: true });
        if (p.stopFirst) {
          await applyRunState(session, p.vm, p.platform.runStateChange(p.vm, false), true);
        }
      } catch (err) {
        p.item.message = `refused by the API server (dry run): ${toVmsnapError(err).message}`;
        p.manifest = undefined;
      }
      session.progress(`validated ${++checked} manifests (server-side dry run)`);
    },
  );
  const go = plans.filter((p) => p.manifest);
  const text = bulkPreview(plans);

  if (req.dryRun) {
    for (const p of go) p.item.result = "DryRun";
    return { batch: batchOf(selector, scopeNs, plans), preview: text };
  }
  if (go.length === 0) return { batch: batchOf(selector, scopeNs, plans), preview: text };

  const request = {
    kind: "yes-no" as const,
    action: "create" as const,
    title: `Create ${go.length} snapshot${go.length === 1 ? "" : "s"} of the VMs matching ${selector} in ${where}?`,
    preview: text,
    planDigest: planDigest({
      selector,
      manifests: go.map((p) => withoutGeneratedName(p.manifest!.body, true)),
      stop: go.filter((p) => p.stopFirst).map((p) => `${p.vm.namespace}/${p.vm.name}`),
      skipped: plans.filter((p) => !p.manifest).map((p) => [p.item.namespace, p.item.vm]),
    }),
  };
  verifyConfirmation(request, await session.confirmation.confirm(request));

  const progress = new BatchProgress(session, go.length);
  const wait = req.wait !== false;
  const timeoutMs = req.deadlineMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS;

  // VMs the user chose to stop go one pipeline each (stop → create → wait → start); the others
  // are created, then waited for together with one watch per namespace.
  const online = go.filter((p) => !p.stopFirst);
  const stopped = go.filter((p) => p.stopFirst);
  const waiter = wait ? new NamespaceWaiter(session, online, progress) : undefined;
  try {
    await waiter?.start();
    await Promise.all([
      mapLimit(online, parallel, async (p) => {
        try {
          await session.guard.create(p.manifest!.type, p.manifest!.body);
          p.item.result = "Created";
          p.item.phase = "Pending";
          progress.created();
        } catch (err) {
          fail(p, err);
          waiter?.forget(p);
          progress.failed();
        }
      }),
      mapLimit(stopped, parallel, async (p) => {
        try {
          await stopVm(session, p.platform, p.vm);
          try {
            await session.guard.create(p.manifest!.type, p.manifest!.body);
            p.item.result = "Created";
            progress.created();
            if (wait) {
              const s = await waitForSnapshot(
                session,
                p.platform,
                p.vm.namespace,
                p.name,
                timeoutMs,
              );
              progress.settled(settle(p, s));
            }
          } finally {
            await startVm(session, p.platform, p.vm);
          }
        } catch (err) {
          fail(p, err);
          progress.failed();
        }
      }),
    ]);
    if (waiter) await waiter.done(timeoutMs + DEADLINE_GRACE_MS);
  } finally {
    await waiter?.stop();
  }
  // Failures get the platform's diagnosis (a few reads each; successes need none).
  await mapLimit(
    online.filter((p) => p.item.result === "Failed" && p.item.phase !== null),
    parallel,
    async (p) => {
      const s = await p.platform.getSnapshot(p.vm.namespace, p.name).catch(() => undefined);
      if (s?.diagnosis.length)
        p.item.message = `${p.item.message ?? "failed"}; ${s.diagnosis.join("; ")}`;
    },
  );
  return { batch: batchOf(selector, scopeNs, plans), preview: text };
}

/** Every matching VM with its preflight, across the session's platforms. */
async function inventory(
  session: Session,
  namespace: string | undefined,
  labelSelector: string,
  parallel: number,
  options: PreflightOptions,
): Promise<{ platform: SnapshotPlatform; vm: VmState; preflight?: Preflight; error?: string }[]> {
  const out: { platform: SnapshotPlatform; vm: VmState; preflight?: Preflight; error?: string }[] =
    [];
  for (const platform of session.platforms) {
    if (platform.preflightAll) {
      const all = await platform.preflightAll({ namespace, labelSelector });
      out.push(...all.map((a) => ({ platform, ...a })));
      continue;
    }
    const vms = await platform.listVms({ namespace, labelSelector });
    out.push(
      ...(await mapLimit(vms, parallel, async (v) => {
        try {
          const vm = await platform.getVm(v.namespace, v.name);
          return {
            platform,
            vm,
            preflight: await platform.preflight(v.namespace, v.name, options),
          };
        } catch (err) {
          const vm: VmState = {
            namespace: v.namespace,
            name: v.name,
            uid: "",
            running: v.running,
            status: v.status,
            runStrategy: "",
            raw: { metadata: { name: v.name, namespace: v.namespace } },
          };
          return { platform, vm, error: toVmsnapError(err).message };
        }
      })),
    );
  }
  return out.sort(
    (a, b) => a.vm.namespace.localeCompare(b.vm.namespace) || a.vm.name.localeCompare(b.vm.name),
  );
}

function fail(p: Planned, err: unknown): void {
  const e = toVmsnapError(err);
  p.item.result = "Failed";
  p.item.message = e.message;
  const snap = (e.details as { snapshot?: Snapshot } | undefined)?.snapshot;
  if (snap) p.item.phase = snap.phase;
}

/** Records a settled snapshot; true when it is ready. */
function settle(p: Planned, s: Snapshot): boolean {
  p.item.phase = s.phase;
  if (s.phase === "Failed" || !s.readyToUse) {
    p.item.result = "Failed";
    p.item.message = `snapshot failed${s.error ? `: ${s.error}` : ""}`;
  } else {
    p.item.result = "Ready";
    p.item.message = null;
    if (s.consistency !== "unknown") p.item.consistency = s.consistency;
  }
  return p.item.result === "Ready";
}

function batchOf(selector: string, namespace: string | undefined, plans: Planned[]): SnapshotBatch {
  const items = plans.map((p) => p.item);
  return {
    apiVersion: API_VERSION,
    kind: "SnapshotBatch",
    selector,
    namespace: namespace ?? null,
    summary: {
      total: items.length,
      succeeded: items.filter((i) => ["Ready", "Created", "DryRun"].includes(i.result)).length,
      failed: items.filter((i) => i.result === "Failed").length,
      skipped: items.filter((i) => i.result === "Skipped").length,
    },
    items,
  };
}

/** The batch failed for at least one VM (exit 1; the table still lists every success). */
export function batchFailed(batch: SnapshotBatch): boolean {
  return batch.summary.failed + batch.summary.skipped > 0;
}

/** One example manifest (they differ only in names), then every VM with its snapshot. */
function bulkPreview(plans: Planned[]): string {
  const go = plans.filter((p) => p.manifest);
  const example = go[0] ? preview([go[0].manifest!]) : "";
  const lines = [
    ...(example
      ? [
          `Each snapshot is this manifest with its own name and VM (example: ${go[0]!.vm.name}):`,
          example,
          "",
        ]
      : []),
    `${go.length} to snapshot:`,
    ...go.map(
      (p) =>
        `  ${p.vm.namespace}/${p.vm.name} → ${p.name} (${p.vm.status}; ${p.item.consistency}${
          p.preflight?.volumes.some((v) => !v.included)
            ? `; not included: ${p.preflight.volumes
                .filter((v) => !v.included)
                .map((v) => v.name)
                .join(", ")}`
            : ""
        }${p.stopFirst ? "; stopped for the snapshot, started again afterwards" : ""})`,
    ),
  ];
  const skipped = plans.filter((p) => !p.manifest);
  if (skipped.length)
    lines.push(
      `${skipped.length} skipped (nothing will be written for them):`,
      ...skipped.map((p) => `  ${p.vm.namespace}/${p.vm.name}: ${p.item.message ?? "skipped"}`),
    );
  const warned = go.filter((p) => p.preflight?.warnings.length);
  if (warned.length)
    lines.push(
      `warnings:`,
      ...warned.map(
        (p) =>
          `  ${p.vm.namespace}/${p.vm.name}: ${p.preflight!.warnings.map((w) => w.message).join("; ")}`,
      ),
    );
  return lines.join("\n");
}

/** The live progress line: created, ready and failed counts over the batch. */
class BatchProgress {
  private createdCount = 0;
  private readyCount = 0;
  private failedCount = 0;

  constructor(
    private readonly session: Session,
    private readonly total: number,
  ) {}

  created(): void {
    this.createdCount++;
    this.show();
  }
  settled(ready: boolean): void {
    if (ready) this.readyCount++;
    else this.failedCount++;
    this.show();
  }
  failed(): void {
    this.failedCount++;
    this.show();
  }
  private show(): void {
    this.session.progress(
      `snapshots: ${this.createdCount}/${this.total} created, ${this.readyCount} ready, ${this.failedCount} failed`,
    );
  }
}

/**
 * Waits for many snapshots with one watch per namespace (not one per snapshot). Started before
 * the creates, so that no transition is missed.
 */
class NamespaceWaiter {
  private readonly informers: { platform: SnapshotPlatform; informer: Informer }[] = [];
  private readonly pending = new Map<string, Planned>();
  private allSettled!: () => void;
  private readonly settled = new Promise<void>((resolve) => (this.allSettled = resolve));

  constructor(
    private readonly session: Session,
    private readonly plans: Planned[],
    private readonly progress: BatchProgress,
  ) {
    for (const p of plans) this.pending.set(`${p.platform.name}/${p.vm.namespace}/${p.name}`, p);
  }

  async start(): Promise<void> {
    const scopes = new Map<string, SnapshotPlatform>();
    for (const p of this.plans) scopes.set(`${p.platform.name}/${p.vm.namespace}`, p.platform);
    await Promise.all(
      [...scopes].map(async ([key, platform]) => {
        const namespace = key.slice(platform.name.length + 1);
        const informer = new Informer(this.session.client, platform.snapshotType, { namespace });
        informer.on((event, obj) => {
          if (event !== "delete") this.observe(platform, obj);
        });
        this.informers.push({ platform, informer });
        await informer.start();
      }),
    );
    this.check();
  }

  private observe(platform: SnapshotPlatform, obj: KubeObject): void {
    const key = `${platform.name}/${obj.metadata.namespace}/${obj.metadata.name}`;
    const p = this.pending.get(key);
    if (!p || p.item.result !== "Created") return;
    const s = platform.snapshotOf(obj);
    p.item.phase = s.phase;
    if (s.phase === "Failed" || s.readyToUse) {
      this.pending.delete(key);
      this.progress.settled(settle(p, s));
      this.check();
    }
  }

  /** A plan that will never be created (its create failed). */
  forget(p: Planned): void {
    this.pending.delete(`${p.platform.name}/${p.vm.namespace}/${p.name}`);
    this.check();
  }

  private check(): void {
    if (this.pending.size === 0) this.allSettled();
  }

  /** Resolves when every created snapshot is ready or failed, or marks the rest timed out. */
  async done(timeoutMs: number): Promise<void> {
    // Creates are over: objects the informers saw before their create was recorded count now.
    for (const { platform, informer } of this.informers)
      for (const obj of informer.list()) this.observe(platform, obj);
    this.check();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.settled,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    for (const p of this.pending.values()) {
      p.item.result = "Failed";
      p.item.message = new VmsnapError(
        ErrorCode.DeadlineExceeded,
        `not ready within ${Math.round(timeoutMs / 1000)}s (phase ${p.item.phase ?? "unknown"})`,
      ).message;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map(({ informer }) => informer.stop()));
  }
}
