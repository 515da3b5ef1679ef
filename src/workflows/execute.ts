// Plan, consent, execute. Every operation plans first (./create.ts, ./restore.ts, …: a sealed
// value, no writes); a face shows the plan and collects the human's answer; core's
// verifyConfirmation turns it into a Consent; execute() — here, once for every operation —
// checks that the plan is genuine and the consent is for it, then carries the plan out.
import {
  redeemConsent,
  verifyConfirmation,
  type Consent,
  type ConfirmationPort,
} from "../core/confirmation.js";
import { VmsnapError, cancelled } from "../core/errors.js";
import { assertSealed } from "../core/plan.js";
import { executeCreateMany, type CreateManyPlan } from "./bulk-create.js";
import { executeClone, type ClonePlan } from "./clone.js";
import { executeCreate, type CreatePlan } from "./create.js";
import {
  executeDelete,
  executeDeleteMany,
  type DeleteManyPlan,
  type DeletePlan,
} from "./delete.js";
import {
  executeDiskRestore,
  executeDiskSnapshot,
  type DiskRestorePlan,
  type DiskSnapshotPlan,
} from "./disk.js";
import {
  executePolicyCreate,
  executePolicyDelete,
  type PolicyCreatePlan,
  type PolicyDeletePlan,
} from "./policy.js";
import { executePrune, type PrunePlan } from "./prune.js";
import type { RestorePlan } from "./restore.js";
import { executeRestore } from "./restore-run.js";
import { beforeAnyWrite, interrupted, type Interrupt } from "./interrupt.js";
import type { Session } from "./session.js";

export type Plan =
  | CreatePlan
  | CreateManyPlan
  | DiskSnapshotPlan
  | RestorePlan
  | DiskRestorePlan
  | ClonePlan
  | DeletePlan
  | DeleteManyPlan
  | PolicyCreatePlan
  | PolicyDeletePlan
  | PrunePlan;

/** What executing a plan returns: the object its dry run reports, as done. */
export type ResultOf<P extends Plan> = P["planned"];

/**
 * signal: aborts the waits and stops before the next write; the operation cleans up (a VM vmsnap
 * stopped is started again when nothing was restored) and reports where it stands (Cancelled,
 * exit 3). abandon: a second interrupt — stop cleaning up and report what is left. Both default to
 * the session's (the CLI wires Ctrl-C and SIGTERM there).
 */
export type ExecuteOptions = Interrupt;

/**
 * Asks the port about the plan's confirmation and verifies the answer: the Consent to this plan,
 * or null for a plan that writes nothing. Throws Cancelled/Conflict when the answer does not
 * confirm it.
 */
export async function confirmPlan(
  plan: Plan,
  port: ConfirmationPort | undefined,
): Promise<Consent | null> {
  if (!plan.confirmation) return null;
  if (!port)
    throw cancelled(
      `${plan.confirmation.action} refused: there is no one to confirm it (no confirmation port)`,
      "give the session or the call a ConfirmationPort",
    );
  return verifyConfirmation(plan.confirmation, await port.confirm(plan.confirmation));
}

/**
 * Carries out a plan made by a planner, with the consent verifyConfirmation made for it (null
 * only for a plan that writes nothing). Nothing is written otherwise.
 */
export async function execute<P extends Plan>(
  session: Session,
  plan: P,
  consent: Consent | null,
  options: ExecuteOptions = {},
): Promise<ResultOf<P>> {
  assertSealed(plan);
  const { stopVm } = plan.confirmation
    ? redeemConsent(consent, plan.confirmation.planDigest)
    : { stopVm: false };
  const p = plan as Plan;
  const o = {
    signal: options.signal ?? session.interrupt.signal,
    abandon: options.abandon ?? session.interrupt.abandon,
  };
  const result = await (() => {
    switch (p.operation) {
      case "create":
        return executeCreate(session, p, o);
      case "create-many":
        return executeCreateMany(session, p, o);
      case "create-disk":
        return executeDiskSnapshot(session, p, o);
      case "restore":
        return executeRestore(session, p, { ...o, stopVm });
      case "restore-disk":
        return executeDiskRestore(session, p, o);
      case "clone":
        return executeClone(session, p, o);
      case "delete":
        return executeDelete(session, p, o);
      case "delete-many":
        return executeDeleteMany(session, p, o);
      case "policy-create":
        return executePolicyCreate(session, p);
      case "policy-delete":
        return executePolicyDelete(session, p);
      case "prune":
        return executePrune(session, p);
    }
  })().catch((err: unknown) => {
    // Operations without a report of their own: what was sent may still be under way.
    if (!o.signal?.aborted || (err instanceof VmsnapError && err.details?.interrupted)) throw err;
    throw interrupted(
      o.signal,
      `vmsnap stopped waiting for the ${p.operation}; what it had sent may still be in progress`,
    );
  });
  return result as ResultOf<P>;
}

/**
 * Plan → consent → execute with one port (the CLI's TTY, a library caller's preset): a dry run
 * returns the plan's result as planned.
 */
export async function settle<P extends Plan>(
  session: Session,
  plan: P,
  o: { dryRun?: boolean; port?: ConfirmationPort } & Interrupt = {},
): Promise<ResultOf<P>> {
  if (o.dryRun) return plan.planned;
  const signal = o.signal ?? session.interrupt.signal;
  const consent = await beforeAnyWrite(confirmPlan(plan, o.port ?? session.confirmation), signal);
  return execute(session, plan, consent, { signal, abandon: o.abandon });
}
