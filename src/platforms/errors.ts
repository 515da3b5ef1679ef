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
