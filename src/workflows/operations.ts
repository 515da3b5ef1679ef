// The one-call operations of the library (and the CLI): plan, ask the port, execute. A script or
// a controller passes a ConfirmationPort (presetConfirmation for a fixed answer): the answer
// still goes through verifyConfirmation, and a dry run returns the plan's result as planned.
import type { ConfirmationPort } from "../core/confirmation.js";
import type { Pins } from "../core/plan.js";
import { planCreateMany, type BulkCreateRequest } from "./bulk-create.js";

export { batchFailed } from "./bulk-create.js";
import { planClone, type CloneRequest } from "./clone.js";
import { planCreate, type CreateRequest } from "./create.js";
import {
  planDelete,
  planDeleteMany,
  type DeleteManyRequest,
  type DeleteRequest,
} from "./delete.js";
import {
  planDiskRestore,
  planDiskSnapshot,
  type DiskRestoreRequest,
  type DiskSnapshotRequest,
} from "./disk.js";
import { settle, type Plan, type ResultOf } from "./execute.js";
import { beforeAnyWrite } from "./interrupt.js";
import {
  planPolicyCreate,
  planPolicyDelete,
  type PolicyCreateRequest,
  type PolicyDeleteRequest,
} from "./policy.js";
import { planPrune, type PruneRequest } from "./prune.js";
import { planRestore, type RestoreRequest } from "./restore.js";
import type { Session } from "./session.js";

type Planner<R, P extends Plan> = (session: Session, req: R, pins?: Pins) => Promise<P>;

async function oneCall<R extends { dryRun?: boolean }, P extends Plan>(
  planner: Planner<R, P>,
  session: Session,
  req: R,
  port: ConfirmationPort | undefined,
): Promise<{ result: ResultOf<P>; preview: string }> {
  // Planning reads and dry-runs only: an interrupt ends it at once.
  const plan = await beforeAnyWrite(planner(session, req), session.interrupt.signal);
  const result = await settle(session, plan, { dryRun: req.dryRun, port });
  return { result, preview: plan.preview };
}

export async function createSnapshot(
  session: Session,
  req: CreateRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planCreate, session, req, port);
  return { snapshot: result, preview };
}

export async function createSnapshotsBySelector(
  session: Session,
  req: BulkCreateRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planCreateMany, session, req, port);
  return { batch: result, preview };
}

export async function createDiskSnapshot(
  session: Session,
  req: DiskSnapshotRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planDiskSnapshot, session, req, port);
  return { snapshot: result, preview };
}

export async function restoreSnapshot(
  session: Session,
  req: RestoreRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planRestore, session, req, port);
  return { restore: result, preview };
}

export async function restoreDisk(
  session: Session,
  req: DiskRestoreRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planDiskRestore, session, req, port);
  return { clone: result, preview };
}

export async function cloneFromSnapshot(
  session: Session,
  req: CloneRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planClone, session, req, port);
  return { clone: result, preview };
}

export async function deleteSnapshot(
  session: Session,
  req: DeleteRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planDelete, session, req, port);
  return { deletion: result, preview };
}

/** Several snapshots of one namespace, with one confirmation (the number of snapshots typed). */
export async function deleteSnapshots(
  session: Session,
  req: DeleteManyRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planDeleteMany, session, req, port);
  return { deletions: result, preview };
}

export async function createPolicy(
  session: Session,
  req: PolicyCreateRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planPolicyCreate, session, req, port);
  return { policy: result, preview };
}

export async function deletePolicy(
  session: Session,
  req: PolicyDeleteRequest,
  port?: ConfirmationPort,
) {
  const { result, preview } = await oneCall(planPolicyDelete, session, req, port);
  return { policy: result, preview };
}

export async function prune(session: Session, req: PruneRequest, port?: ConfirmationPort) {
  const { result, preview } = await oneCall(planPrune, session, req, port);
  return { prune: result, preview };
}
