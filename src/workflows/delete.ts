// delete. Plan: validate → find → notes and warnings (the VM's only usable snapshot?) → dry run.
// Execute, after the typed name: delete → wait until it is gone.
import { advice } from "../core/advice.js";
import { notFound } from "../core/errors.js";
import { validateName } from "../core/names.js";
import { makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import { API_VERSION } from "../core/api-version.js";
import type { Deletion } from "../core/schema.js";
import type { SnapshotPlatform } from "../platforms/types.js";
import type { ResourceType } from "../kube/resources.js";
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
    throw notFound(
      `snapshot ${ns}/${name} not found`,
      advice`list the snapshots with ${{ do: "list-snapshots", namespace: ns }}`,
    );
  const siblings = await step(() => platform.listSnapshots({ namespace: ns, vm: snapshot.vm }));
  const usable = siblings.filter((s) => s.readyToUse && s.name !== name);
  const wasOnlySnapshot = usable.length === 0;
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
