// Failures that platforms own and report as types: workflows branch on these, never on the text
// of a platform's message.
import { ErrorCode, VmsnapError } from "../core/errors.js";

/**
 * The platform refused or failed a restore because another restore of the same VM holds it
 * (KubeVirt's admission webhook, or its controller's lock): this one changes nothing, and the
 * other one is the restore that completes.
 */
export class ConcurrentRestoreError extends VmsnapError {
  constructor(message: string) {
    super(ErrorCode.Conflict, message, "wait for it to complete");
    this.name = "ConcurrentRestoreError";
  }
}

/**
 * An admission webhook refused a change because another operation of the VM has not finished
 * (Deckhouse's "should finish first", KubeVirt's "until snapshot … completes"): a conflict with
 * that operation, never a missing permission, even when the webhook answered 403.
 */
export class OperationInProgressError extends VmsnapError {
  constructor(
    /** The operation that blocks this one, as the platform names it. */
    readonly blocking: string,
    message: string,
    hint = "wait for it to finish, then try again",
  ) {
    super(ErrorCode.Conflict, message, hint);
    this.name = "OperationInProgressError";
  }
}

/**
 * An operation vmsnap sent was superseded by another client's (Deckhouse marks it Superseded when
 * a later operation of the VM takes over, e.g. a forced Stop or Restart over a Stop): the other
 * operation now decides the VM's power state, so vmsnap neither goes on nor undoes it.
 */
export class OperationSupersededError extends VmsnapError {
  constructor(
    /** The operation of vmsnap that was superseded. */
    readonly operation: string,
    /** The operation that superseded it, as the platform names it (if it says). */
    readonly by: string | undefined,
    message: string,
    hint?: string,
  ) {
    super(ErrorCode.Conflict, message, hint);
    this.name = "OperationSupersededError";
  }
}
