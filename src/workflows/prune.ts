// prune: delete a VM's old snapshots by the retention rules of core/retention — keep the newest
// N (and, with --older-than, delete only what is older) — never the VM's newest ready snapshot,
// one a restore or clone uses, VM Operator's current one, one in progress, or one a snapshot
// policy made (its policy's retention manages it). Plan: read → decide → dry-run every deletion.
// Execute, after the human typed the number of snapshots to delete: delete them one by one.
import { invalidInput } from "../core/errors.js";
import { validateSelector } from "../core/bulk.js";
import { mapLimit } from "../core/concurrency.js";
import { validateName } from "../core/names.js";
import { deleteCountNeeds, makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import { POLICY_LABEL, parseAge } from "../core/policy.js";
import { decideRetention, type RetentionCandidate } from "../core/retention.js";
import { API_VERSION } from "../core/api-version.js";
import type { Prune, PruneItem } from "../core/schema.js";
import { KubeApiError } from "../kube/client.js";
import type { KubeObject } from "../kube/resources.js";
import { holdsFrom, platformHolds } from "../platforms/holds.js";
import type { SnapshotPlatform } from "../platforms/types.js";
import { step } from "./common.js";
import type { Session } from "./session.js";

export interface PruneRequest {
  /** One VM, or every VM matching `selector`. */
  vm?: string;
  selector?: string;
  keepLast: number;
  /** Only snapshots older than this are deleted ("7d", "36h", "2w"). */
  olderThan?: string;
  dryRun?: boolean;
}

export interface PrunePlan extends PlanBase<Prune, "prune"> {
  /** The deletions, by platform (the snapshot's type is the platform's). */
  readonly deletions: readonly { platform: SnapshotPlatform; name: string }[];
}

const time = (text: string | null): Date | null => {
  if (!text) return null;
  const t = new Date(text);
  return Number.isNaN(t.getTime()) ? null : t;
};

/** Lists a holder kind; a kind this cluster does not serve holds nothing. */
async function listOrNone(session: Session, type: Parameters<Session["client"]["list"]>[0]) {
  try {
    return (await session.client.list(type, session.namespace)).items;
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return [] as KubeObject[];
    throw err;
  }
}

export async function planPrune(
  session: Session,
  req: PruneRequest,
  pins?: Pins,
): Promise<PrunePlan> {
  if ((req.vm === undefined) === (req.selector === undefined))
    throw invalidInput("give a VM or a label selector (-l), not both and not neither");
  const vm = req.vm !== undefined ? validateName("VM", req.vm) : undefined;
  const selector = req.selector !== undefined ? validateSelector(req.selector) : undefined;
  if (!Number.isInteger(req.keepLast) || req.keepLast < 1)
    throw invalidInput(
      `invalid --keep-last ${String(req.keepLast)}`,
      "give the number of newest snapshots to keep per VM (1 or more)",
    );
  const minAgeMs = req.olderThan === undefined ? undefined : parseAge(req.olderThan);
  if (req.olderThan !== undefined && minAgeMs === undefined)
    throw invalidInput(
      `invalid --older-than ${JSON.stringify(req.olderThan)}`,
      "use a duration such as 7d, 36h or 2w",
    );
  const ns = session.namespace;
  const at = pins ? new Date(pins.at) : session.now();

  const items: PruneItem[] = [];
  const deletions: { platform: SnapshotPlatform; name: string }[] = [];
  for (const platform of session.platforms) {
    const vms = selector
      ? new Set(
          (await step(() => platform.listVms({ namespace: ns, labelSelector: selector }))).map(
            (v) => v.name,
          ),
        )
      : new Set([vm!]);
    if (vms.size === 0) continue;
    const holds = platformHolds(platform.name, session.ctx.discovery);
    const [raw, vmObjects, ...holderObjects] = await step(() =>
      Promise.all([
        listOrNone(session, platform.snapshotType),
        holds.vmHolds ? listOrNone(session, holds.vms) : Promise.resolve([] as KubeObject[]),
        ...holds.holders.map((h) => listOrNone(session, h.type)),
      ]),
    );
    const held = holdsFrom(holds, {
      snapshots: raw,
      vms: vmObjects,
      holders: holds.holders.map((h, i) => ({ holds: h.holds, objects: holderObjects[i]! })),
    });
    const ofVms = raw
      .map((r) => ({ raw: r, snapshot: platform.snapshotOf(r) }))
      .filter((s) => vms.has(s.snapshot.vm));
    const policyOf = new Map(
      ofVms.map((s) => [s.snapshot.name, s.raw.metadata.labels?.[POLICY_LABEL]]),
    );
    const candidates: RetentionCandidate[] = ofVms.map(({ raw: r, snapshot: s }) => ({
      name: s.name,
      vm: s.vm,
      origin: policyOf.get(s.name) ? "other" : "policy",
      state: r.metadata.deletionTimestamp
        ? "deleting"
        : s.phase === "Failed"
          ? "failed"
          : s.readyToUse
            ? "ready"
            : "in-progress",
      time: time(s.creationTime) ?? time(s.createdAt),
      holds: held.get(s.name),
    }));
    const decisions = decideRetention(candidates, { keepLast: req.keepLast, minAgeMs }, at);
    for (const d of decisions) {
      const madeBy = policyOf.get(d.name);
      items.push({
        namespace: ns,
        vm: d.vm,
        platform: platform.name,
        snapshot: d.name,
        action: d.action,
        reason: madeBy ? `made by snapshot policy ${madeBy}: its retention manages it` : d.detail,
        result: d.action === "delete" ? "Planned" : "Kept",
        message: null,
      });
      if (d.action === "delete") deletions.push({ platform, name: d.name });
    }
  }
  if (vm && items.length === 0 && !(await anyPlatformHasVm(session, vm)))
    throw invalidInput(`VM ${ns}/${vm} not found`, "check the VM name and the namespace (-n)");
  items.sort(
    (a, b) =>
      a.vm.localeCompare(b.vm) ||
      a.action.localeCompare(b.action) ||
      a.snapshot.localeCompare(b.snapshot),
  );

  // The API server validates every deletion before the human is asked.
  await mapLimit(deletions, 8, (d) =>
    step(() => session.guard.delete(d.platform.snapshotType, d.name, ns, { dryRun: true })),
  );

  const count = deletions.length;
  const scope = vm ? `VM ${ns}/${vm}` : `the VMs matching ${selector} in ${ns}`;
  const rule = `keep the newest ${req.keepLast}${req.olderThan ? `, delete only what is older than ${req.olderThan}` : ""}`;
  const lines = items.map(
    (i) => `${i.action === "delete" ? "delete" : "keep  "} ${i.vm}/${i.snapshot}: ${i.reason}`,
  );
  const facts = [
    `${scope}: ${rule}`,
    `${count} snapshot${count === 1 ? "" : "s"} to delete, ${items.length - count} kept`,
  ];
  const planned: Prune = {
    apiVersion: API_VERSION,
    kind: "Prune",
    phase: "DryRun",
    keepLast: req.keepLast,
    olderThan: req.olderThan ?? null,
    summary: { kept: items.length - count, deleted: 0, failed: 0 },
    items,
  };
  return makePlan(
    {
      operation: "prune",
      title: `Delete ${count} snapshot${count === 1 ? "" : "s"} of ${scope}?`,
      preview: [...lines, "", ...facts].join("\n"),
      facts,
      lost: count
        ? [`${count} snapshots are deleted; they cannot be restored from afterwards`]
        : [],
      needs: deleteCountNeeds(count),
      subject: { ns, scope, rule, deletions: deletions.map((d) => `${d.platform.name}/${d.name}`) },
      pins: pinsAt(at),
      planned,
    },
    { deletions },
  );
}

async function anyPlatformHasVm(session: Session, vm: string): Promise<boolean> {
  for (const p of session.platforms)
    if ((await step(() => p.listVms({ namespace: session.namespace }))).some((v) => v.name === vm))
      return true;
  return false;
}

export async function executePrune(session: Session, plan: PrunePlan): Promise<Prune> {
  const ns = session.namespace;
  const results = new Map<string, Pick<PruneItem, "result" | "message">>();
  for (const d of plan.deletions) {
    session.progress(`deleting snapshot ${d.name}`);
    try {
      await session.guard.delete(d.platform.snapshotType, d.name, ns);
      results.set(d.name, { result: "Deleted", message: null });
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404)
        results.set(d.name, { result: "Gone", message: "deleted meanwhile" });
      else results.set(d.name, { result: "Failed", message: (err as Error).message });
    }
  }
  const items = plan.planned.items.map((i) => ({ ...i, ...(results.get(i.snapshot) ?? {}) }));
  return {
    ...plan.planned,
    phase: "Done",
    items,
    summary: {
      kept: items.filter((i) => i.action === "keep").length,
      deleted: items.filter((i) => i.result === "Deleted" || i.result === "Gone").length,
      failed: items.filter((i) => i.result === "Failed").length,
    },
  };
}
