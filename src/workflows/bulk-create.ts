// create -l SELECTOR [-A]: every matching VM, planned as the single create plans one VM (names,
// preflight verdict, manifest, server-side dry run, --stop), with one preview and one confirmation
// listing them all, then executed VM by VM. A VM that cannot be snapshotted is reported as
// Skipped, never dropped, and one VM's failure never hides the others' results.
import { advice, option } from "../core/advice.js";
import { ErrorCode, VmsnapError, notFound } from "../core/errors.js";
import { validateParallel, validateSelector } from "../core/bulk.js";
import { mapLimit } from "../core/concurrency.js";
import { defaultSnapshotName, validateName } from "../core/names.js";
import { validateQuiesceTimeout } from "../core/duration.js";
import { API_VERSION } from "../core/api-version.js";
import { makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import type { Preflight, Snapshot, SnapshotBatch, SnapshotBatchItem } from "../core/schema.js";
import { toVmsnapError } from "../kube/errors.js";
import { Informer } from "../kube/watch.js";
import type { KubeObject } from "../kube/resources.js";
import type {
  CreateOptions,
  PreflightOptions,
  SnapshotPlatform,
  VmState,
} from "../platforms/types.js";
import { validateLabels } from "../core/labels.js";
import { preview, type Marks } from "./common.js";
import { createOnce, draftCreate, runCreate, validateCreate, type CreateDraft } from "./create.js";
import type { Session } from "./session.js";
import { DEADLINE_GRACE_MS, DEFAULT_SNAPSHOT_TIMEOUT_MS } from "./wait.js";

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

/** One matching VM in the plan: its result row, and its draft unless it is skipped. */
interface BulkEntry {
  readonly item: Readonly<SnapshotBatchItem>;
  readonly draft?: CreateDraft;
  readonly preflight?: Preflight;
}

export interface CreateManyPlan extends PlanBase<SnapshotBatch, "create-many"> {
  readonly selector: string;
  readonly scope: string | undefined;
  readonly entries: readonly BulkEntry[];
  readonly parallel: number;
  readonly wait: boolean;
  readonly timeoutMs: number;
}

export async function planCreateMany(
  session: Session,
  req: BulkCreateRequest,
  pins?: Pins,
): Promise<CreateManyPlan> {
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
        ? advice`check the labels with ${{ do: "list-vms", allNamespaces: true, selector }}`
        : advice`check the labels with ${{ do: "list-vms", namespace: scopeNs, selector }}, or add ${option("allNamespaces", true)} for every namespace`,
    );

  const at = pins ? new Date(pins.at) : session.now();
  const drafted = await mapLimit(found, parallel, async (f): Promise<BulkEntry> => {
    const { platform, vm, preflight, error } = f;
    const name = req.nameFor?.(vm) ?? defaultSnapshotName(vm.name, at);
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
    const skip = (message: string): BulkEntry => ({ item: { ...item, message }, preflight });
    try {
      validateName("snapshot", name);
      validateName("VM", vm.name);
    } catch (err) {
      return skip(toVmsnapError(err).message);
    }
    if (error || !preflight) return skip(error ?? "preflight failed");
    if (!preflight.snapshottable)
      return skip(
        `blocked: ${preflight.problems.map((p) => `${p.message}${p.fix ? ` (fix: ${p.fix})` : ""}`).join("; ")}`,
      );
    try {
      const draft = await draftCreate(session, platform, vm, preflight, name, req);
      return { item: { ...item, consistency: draft.consistency }, draft, preflight };
    } catch (err) {
      return skip(toVmsnapError(err).message);
    }
  });

  // The API server validates every manifest (dryRun=All) before the human is asked.
  let checked = 0;
  const entries: BulkEntry[] = await mapLimit(drafted, parallel, async (e) => {
    if (!e.draft) return e;
    try {
      await validateCreate(session, e.draft);
      return e;
    } catch (err) {
      return {
        item: {
          ...e.item,
          message: `refused by the API server (dry run): ${toVmsnapError(err).message}`,
        },
        preflight: e.preflight,
      };
    } finally {
      session.progress(`validated ${++checked} manifests (server-side dry run)`);
    }
  });
  const go = entries.filter((e) => e.draft);
  const text = bulkPreview(entries);
  const planned = batchOf(
    selector,
    scopeNs,
    entries.map((e) => (e.draft ? { ...e.item, result: "DryRun" as const } : e.item)),
  );
  return makePlan(
    {
      operation: "create-many",
      title: `Create ${go.length} snapshot${go.length === 1 ? "" : "s"} of the VMs matching ${selector} in ${where}?`,
      preview: text,
      facts: [],
      // Nothing to create (every VM skipped): nothing to confirm.
      needs: go.length ? { kind: "yes-no", action: "create" } : null,
      subject: {
        selector,
        manifests: go.map((e) => e.draft!.manifest.body),
        stop: go.filter((e) => e.draft!.stopFirst).map((e) => `${e.item.namespace}/${e.item.vm}`),
        skipped: entries.filter((e) => !e.draft).map((e) => [e.item.namespace, e.item.vm]),
      },
      pins: pinsAt(at),
      planned,
    },
    {
      selector,
      scope: scopeNs,
      entries: Object.freeze(entries.map((e) => Object.freeze(e))),
      parallel,
      wait: req.wait !== false,
      timeoutMs: req.deadlineMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
    },
    go.map((e) => e.draft!.manifest),
  );
}

/** What execution records of one VM (the plan's rows are not changed). */
interface Running {
  draft: CreateDraft;
  item: SnapshotBatchItem;
}

export async function executeCreateMany(
  session: Session,
  plan: CreateManyPlan,
  o: { signal?: AbortSignal } = {},
): Promise<SnapshotBatch> {
  const rows = plan.entries.map((e) => ({ ...e.item }));
  const go: Running[] = plan.entries.flatMap((e, i) =>
    e.draft ? [{ draft: e.draft, item: rows[i]! }] : [],
  );
  const { parallel, wait, timeoutMs } = plan;
  const progress = new BatchProgress(session, go.length);

  // VMs the user chose to stop go one pipeline each (the single create's: stop → create → wait
  // → start); the others are created, then waited for together with one watch per namespace.
  const online = go.filter((p) => !p.draft.stopFirst);
  const stopped = go.filter((p) => p.draft.stopFirst);
  const waiter = wait ? new NamespaceWaiter(session, online, progress) : undefined;
  try {
    await waiter?.start();
    await Promise.all([
      mapLimit(online, parallel, async (p) => {
        try {
          await createOnce(session, p.draft.platform, p.draft.manifest);
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
          const s = await runCreate(session, p.draft, {
            wait,
            timeoutMs,
            signal: o.signal,
            onCreated: () => {
              p.item.result = "Created";
              progress.created();
            },
          });
          if (wait) progress.settled(settle(p, s));
          // The VM stays stopped (KubeVirt runStrategy Manual): the item says so, and how to start it.
          if (p.draft.notStarted && p.item.result !== "Failed")
            p.item.message = `VM stopped for the snapshot and NOT started again: ${p.draft.notStarted}`;
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
      const s = await p.draft.platform
        .getSnapshot(p.item.namespace, p.draft.name)
        .catch(() => undefined);
      if (s?.diagnosis.length)
        p.item.message = `${p.item.message ?? "failed"}; ${s.diagnosis.join("; ")}`;
    },
  );
  return batchOf(plan.selector, plan.scope, rows);
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

function fail(p: Running, err: unknown): void {
  const e = toVmsnapError(err);
  p.item.result = "Failed";
  p.item.message = e.message;
  const snap = (e.details as { snapshot?: Snapshot } | undefined)?.snapshot;
  if (snap) p.item.phase = snap.phase;
}

/** Records a settled snapshot; true when it is ready. */
function settle(p: Running, s: Snapshot): boolean {
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

function batchOf(
  selector: string,
  namespace: string | undefined,
  items: SnapshotBatchItem[],
): SnapshotBatch {
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
function bulkPreview(entries: readonly BulkEntry[]): string {
  const go = entries.filter((e) => e.draft);
  const example = go[0] ? preview([go[0].draft!.manifest]) : "";
  const lines = [
    ...(example
      ? [
          `Each snapshot is this manifest with its own name and VM (example: ${go[0]!.item.vm}):`,
          example,
          "",
        ]
      : []),
    `${go.length} to snapshot:`,
    ...go.map((e) => {
      const excluded = e.preflight?.volumes.filter((v) => !v.included) ?? [];
      return `  ${e.item.namespace}/${e.item.vm} → ${e.item.snapshot} (${e.draft!.vm.status}; ${e.item.consistency}${
        excluded.length ? `; not included: ${excluded.map((v) => v.name).join(", ")}` : ""
      }${
        e.draft!.stopFirst
          ? e.draft!.notStarted
            ? `; stopped for the snapshot, NOT started again: ${e.draft!.notStarted}`
            : "; stopped for the snapshot, started again afterwards"
          : ""
      })`;
    }),
  ];
  const skipped = entries.filter((e) => !e.draft);
  if (skipped.length)
    lines.push(
      `${skipped.length} skipped (nothing will be written for them):`,
      ...skipped.map((e) => `  ${e.item.namespace}/${e.item.vm}: ${e.item.message ?? "skipped"}`),
    );
  const warned = go.filter((e) => e.preflight?.warnings.length);
  if (warned.length)
    lines.push(
      `warnings:`,
      ...warned.map(
        (e) =>
          `  ${e.item.namespace}/${e.item.vm}: ${e.preflight!.warnings.map((w) => w.message).join("; ")}`,
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
  private readonly pending = new Map<string, Running>();
  private allSettled!: () => void;
  private readonly settled = new Promise<void>((resolve) => (this.allSettled = resolve));

  constructor(
    private readonly session: Session,
    private readonly plans: Running[],
    private readonly progress: BatchProgress,
  ) {
    for (const p of plans)
      this.pending.set(`${p.draft.platform.name}/${p.item.namespace}/${p.draft.name}`, p);
  }

  async start(): Promise<void> {
    const scopes = new Map<string, SnapshotPlatform>();
    for (const p of this.plans)
      scopes.set(`${p.draft.platform.name}/${p.item.namespace}`, p.draft.platform);
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
  forget(p: Running): void {
    this.pending.delete(`${p.draft.platform.name}/${p.item.namespace}/${p.draft.name}`);
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
