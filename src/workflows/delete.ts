// delete: validate → find → dry run → typed confirmation (warn when it is the VM's only one) → delete → wait.
import { verifyConfirmation } from "../core/confirmation.js";
import { notFound } from "../core/errors.js";
import { validateName } from "../core/names.js";
import { API_VERSION, type Deletion } from "../core/schema.js";
import { planDigest, step } from "./common.js";
import type { Session } from "./session.js";

export interface DeleteRequest {
  snapshot: string;
  dryRun?: boolean;
  wait?: boolean;
}

export async function deleteSnapshot(
  session: Session,
  req: DeleteRequest,
): Promise<{ deletion: Deletion; preview: string }> {
  const name = validateName("snapshot", req.snapshot);
  const ns = session.namespace;
  const platform = await step(() => session.platformForSnapshot(ns, name));
  const snapshot = await step(() => platform.getSnapshot(ns, name));
  if (!snapshot)
    throw notFound(`snapshot ${ns}/${name} not found`, "list snapshots with `vmsnap list`");
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
  const text = [
    `delete ${type.kind} ${ns}/${name} (VM ${snapshot.vm}, ${snapshot.phase}${snapshot.creationTime ? `, taken ${snapshot.creationTime}` : ""})`,
    ...notes,
    ...warnings.map((w) => `warning: ${w}`),
  ].join("\n");
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
  if (req.dryRun) return { deletion: deletion("DryRun"), preview: text };

  const request = {
    kind: "typed-name" as const,
    action: "delete" as const,
    title: `Delete snapshot ${ns}/${name}?`,
    preview: text,
    expectedName: name,
    warnings,
    planDigest: planDigest({
      ns,
      name,
      createdAt: snapshot.createdAt,
      vm: snapshot.vm,
      wasOnlySnapshot,
      notes,
    }),
  };
  verifyConfirmation(request, await session.confirmation.confirm(request));
  session.progress(`deleting snapshot ${name}`);
  await step(() => session.guard.delete(type, name, ns));
  if (req.wait !== false)
    await step(() =>
      platform.waitSnapshotGone(ns, name, { timeoutMs: 2 * 60_000, onProgress: session.progress }),
    );
  return { deletion: deletion("Deleted"), preview: text };
}
