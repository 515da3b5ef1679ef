// delete. Plan: validate → find → notes and warnings (the VM's only usable snapshot?) → dry run.
// Execute, after the typed name: delete → wait until it is gone.
import { advice } from "../core/advice.js";
import { ErrorCode, VmsnapError, nameNotFound } from "../core/errors.js";
import { mapLimit } from "../core/concurrency.js";
import { validateName } from "../core/names.js";
import { deleteCountNeeds, makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import { API_VERSION } from "../core/api-version.js";
import type { Deletion, DeletionList } from "../core/schema.js";
import type { SnapshotPlatform } from "../platforms/types.js";
import type { ResourceType } from "../kube/resources.js";
import { toVmsnapError } from "../kube/errors.js";
import { step } from "./common.js";
import type { Session } from "./session.js";

export const DELETE_WAIT_MS = 2 * 60_000;

export interface DeleteRequest {
  snapshot: string;
  dryRun?: boolean;
  wait?: boolean;
}

export interface DeletePlan extends PlanBase<Deletion, "delete"> {
  readonly platform: SnapshotPlatform;
  readonly type: ResourceType;
  readonly wait: boolean;
}

export async function planDelete(
  session: Session,
  req: DeleteRequest,
  pins?: Pins,
): Promise<DeletePlan> {
  const name = validateName("snapshot", req.snapshot);
  const ns = session.namespace;
  const platform = await step(() => session.platformForSnapshot(ns, name));
  const snapshot = await step(() => platform.getSnapshot(ns, name));
  if (!snapshot)
    throw nameNotFound(
      { kind: "snapshot", namespace: ns, name },
      `snapshot ${ns}/${name} not found`,
      advice`list the snapshots with ${{ do: "list-snapshots", namespace: ns }}`,
    );
  const siblings = await step(() => platform.listSnapshots({ namespace: ns, vm: snapshot.vm }));
  const usable = siblings.filter((s) => s.readyToUse && s.name !== name);
  // A snapshot that is not usable (Failed, not ready) loses no restore point when deleted.
  const wasOnlySnapshot = snapshot.readyToUse && usable.length === 0;
  const warnings = wasOnlySnapshot
    ? [
        `this is the only usable snapshot of VM ${snapshot.vm}: after deleting it, the VM cannot be restored`,
      ]
    : [];
  const notes = await step(() => platform.deleteNotes(ns, snapshot));
  const type = platform.snapshotTypeOf(snapshot);
  const facts = [
    `delete ${type.kind} ${ns}/${name} (VM ${snapshot.vm}, ${snapshot.phase}${snapshot.creationTime ? `, taken ${snapshot.creationTime}` : ""})`,
    ...notes,
  ];
  const text = [...facts, ...warnings.map((w) => `warning: ${w}`)].join("\n");
  await step(() => session.guard.delete(type, name, ns, { dryRun: true }));
  const deletion = (phase: Deletion["phase"]): Deletion => ({
    apiVersion: API_VERSION,
    kind: "Deletion",
    namespace: ns,
    snapshot: name,
    vm: snapshot.vm,
    phase,
    wasOnlySnapshot,
  });
  return makePlan(
    {
      operation: "delete",
      title: `Delete snapshot ${ns}/${name}?`,
      preview: text,
      facts,
      lost: warnings,
      needs: { kind: "typed-name", action: "delete", expectedName: name },
      subject: {
        ns,
        name,
        createdAt: snapshot.createdAt,
        vm: snapshot.vm,
        wasOnlySnapshot,
        notes,
      },
      pins: pinsAt(pins ? new Date(pins.at) : session.now()),
      planned: deletion("DryRun"),
    },
    { platform, type, wait: req.wait !== false },
  );
}

export async function executeDelete(
  session: Session,
  plan: DeletePlan,
  o: { signal?: AbortSignal } = {},
): Promise<Deletion> {
  const { namespace, snapshot } = plan.planned;
  session.progress(`deleting snapshot ${snapshot}`);
  await step(() => session.guard.delete(plan.type, snapshot, namespace));
  if (plan.wait)
    await step(() =>
      plan.platform.waitSnapshotGone(namespace, snapshot, {
        timeoutMs: DELETE_WAIT_MS,
        onProgress: session.progress,
        signal: o.signal,
      }),
    );
  return { ...plan.planned, phase: "Deleted" };
}

// ---------------------------------------------------------------------------------------------
// delete A B C: several snapshots of one namespace, as kubectl deletes several names. One plan:
// every name found (one list per platform), each deletion validated by the API server, the names
// not found said in the preview; one confirmation, typing the number of snapshots to delete (the
// plan's digest binds it to exactly those). Names not found are reported after the others are
// deleted (NotFound, exit 4), as kubectl reports them after deleting the rest.

export interface DeleteManyRequest {
  snapshots: string[];
  dryRun?: boolean;
  wait?: boolean;
}

interface DeleteTarget {
  platform: SnapshotPlatform;
  type: ResourceType;
  planned: Deletion;
}

export interface DeleteManyPlan extends PlanBase<DeletionList, "delete-many"> {
  readonly targets: readonly DeleteTarget[];
  readonly wait: boolean;
}

export async function planDeleteMany(
  session: Session,
  req: DeleteManyRequest,
  pins?: Pins,
): Promise<DeleteManyPlan> {
  const names = [...new Set(req.snapshots.map((s) => validateName("snapshot", s)))];
  const ns = session.namespace;
  const listed = await step(() =>
    Promise.all(
      session.platforms.map(async (platform) => ({
        platform,
        snapshots: await platform.listSnapshots({ namespace: ns }),
      })),
    ),
  );
  const found = names.flatMap((name) =>
    listed.flatMap(({ platform, snapshots }) =>
      snapshots.filter((s) => s.name === name).map((snapshot) => ({ platform, snapshot })),
    ),
  );
  const deleting = new Set(found.map((f) => f.snapshot.name));
  const notFound = names.filter((n) => !deleting.has(n));
  // A VM left without a usable snapshot by the deletions together, not one by one.
  const usableLeft = (vm: string) =>
    listed.some(({ snapshots }) =>
      snapshots.some((s) => s.vm === vm && s.readyToUse && !deleting.has(s.name)),
    );
  const targets: DeleteTarget[] = [];
  const facts: string[] = [];
  for (const { platform, snapshot } of found) {
    const type = platform.snapshotTypeOf(snapshot);
    const notes = await step(() => platform.deleteNotes(ns, snapshot));
    facts.push(
      `delete ${type.kind} ${ns}/${snapshot.name} (VM ${snapshot.vm}, ${snapshot.phase}${snapshot.creationTime ? `, taken ${snapshot.creationTime}` : ""})`,
      ...notes.map((n) => `  ${n}`),
    );
    targets.push({
      platform,
      type,
      planned: {
        apiVersion: API_VERSION,
        kind: "Deletion",
        namespace: ns,
        snapshot: snapshot.name,
        vm: snapshot.vm,
        phase: "DryRun",
        wasOnlySnapshot: snapshot.readyToUse && !usableLeft(snapshot.vm),
      },
    });
  }
  for (const n of notFound) facts.push(`not found: snapshot ${ns}/${n} (nothing to delete)`);
  const bereft = [
    ...new Set(targets.filter((t) => t.planned.wasOnlySnapshot).map((t) => t.planned.vm)),
  ];
  const warnings = bereft.map(
    (vm) =>
      `these are the last usable snapshots of VM ${vm}: after deleting them, the VM cannot be restored`,
  );
  // The API server validates every deletion before the human is asked.
  for (const t of targets)
    await step(() => session.guard.delete(t.type, t.planned.snapshot, ns, { dryRun: true }));
  const count = targets.length;
  const planned: DeletionList = {
    apiVersion: API_VERSION,
    kind: "DeletionList",
    namespace: ns,
    phase: "DryRun",
    items: targets.map((t) => t.planned),
    notFound,
    failed: [],
  };
  return makePlan(
    {
      operation: "delete-many",
      title: `Delete ${count} snapshot${count === 1 ? "" : "s"} in namespace ${ns}?`,
      preview: [...facts, ...warnings.map((w) => `warning: ${w}`)].join("\n"),
      facts,
      lost: warnings,
      needs: deleteCountNeeds(count),
      subject: {
        ns,
        targets: targets.map((t) => ({
          name: t.planned.snapshot,
          vm: t.planned.vm,
          platform: t.platform.name,
          wasOnlySnapshot: t.planned.wasOnlySnapshot,
        })),
        notFound,
      },
      pins: pinsAt(pins ? new Date(pins.at) : session.now()),
      planned,
    },
    { targets, wait: req.wait !== false },
  );
}

export async function executeDeleteMany(
  session: Session,
  plan: DeleteManyPlan,
  o: { signal?: AbortSignal } = {},
): Promise<DeletionList> {
  const ns = plan.planned.namespace;
  const failed: DeletionList["failed"] = [];
  const sent: DeleteTarget[] = [];
  for (const t of plan.targets) {
    const name = t.planned.snapshot;
    if (o.signal?.aborted) {
      failed.push({
        snapshot: name,
        code: ErrorCode.Cancelled,
        message: "not deleted: interrupted",
      });
      continue;
    }
    session.progress(`deleting snapshot ${name}`);
    try {
      await session.guard.delete(t.type, name, ns);
      sent.push(t);
    } catch (err) {
      const e = toVmsnapError(err);
      // Deleted meanwhile by someone else: gone, as asked.
      if (e.code === ErrorCode.NotFound) sent.push(t);
      else failed.push({ snapshot: name, code: e.code, message: e.message });
    }
  }
  const gone = new Set<string>();
  await mapLimit(sent, 8, async (t) => {
    const name = t.planned.snapshot;
    try {
      if (plan.wait)
        await t.platform.waitSnapshotGone(ns, name, {
          timeoutMs: DELETE_WAIT_MS,
          onProgress: session.progress,
          signal: o.signal,
        });
      gone.add(name);
    } catch (err) {
      const e = toVmsnapError(err);
      failed.push({ snapshot: name, code: e.code, message: e.message });
    }
  });
  const order = (s: string) => plan.targets.findIndex((t) => t.planned.snapshot === s);
  return {
    ...plan.planned,
    phase: "Done",
    items: plan.targets
      .filter((t) => gone.has(t.planned.snapshot))
      .map((t) => ({ ...t.planned, phase: "Deleted" as const })),
    failed: failed.sort((a, b) => order(a.snapshot) - order(b.snapshot)),
  };
}

/** The names a DeletionList did not delete, as errors (NotFound for a name no snapshot has). */
export function deletionErrors(list: DeletionList): VmsnapError[] {
  const ns = list.namespace;
  return [
    ...list.notFound.map((name) =>
      nameNotFound(
        { kind: "snapshot", namespace: ns, name },
        `snapshot ${ns}/${name} not found`,
        advice`list the snapshots with ${{ do: "list-snapshots", namespace: ns }}`,
      ),
    ),
    ...list.failed.map(
      (f) =>
        new VmsnapError(
          f.code as ErrorCode,
          `snapshot ${ns}/${f.snapshot} was not deleted: ${f.message}`,
        ),
    ),
  ];
}
