// The confirmation port (SPEC §3.4): workflows ask, a face answers (the CLI from a TTY or its
// flags, the MCP server by elicitation or token), and verifyConfirmation — here, once — decides.
import { cancelled, conflict } from "./errors.js";

export type ConfirmationRequest =
  | {
      kind: "yes-no";
      action: "create" | "clone";
      title: string;
      /** The exact manifest and facts shown before applying. */
      preview: string;
      planDigest: string;
    }
  | {
      kind: "typed-name";
      action: "delete";
      title: string;
      preview: string;
      expectedName: string;
      warnings: string[];
      planDigest: string;
    }
  | {
      kind: "restore";
      action: "restore";
      title: string;
      preview: string;
      expectedName: string;
      warnings: string[];
      /** The VM runs: the user must choose stop-and-restore, or cancel. */
      vmRunning: boolean;
      planDigest: string;
    };

export interface ConfirmationAnswer {
  /** false: the user declined or cancelled. */
  confirmed: boolean;
  /** The snapshot name the user typed (typed-name and restore). */
  typedName?: string;
  /** The running-VM choice: true = stop-and-restore. */
  stopVm?: boolean;
  /** The final yes of a restore. */
  finalYes?: boolean;
}

export interface ConfirmationPort {
  confirm(request: ConfirmationRequest): Promise<ConfirmationAnswer>;
}

/** Accepts an answer or throws Cancelled/Conflict; returns whether to stop the VM (restore). */
export function verifyConfirmation(
  request: ConfirmationRequest,
  answer: ConfirmationAnswer,
): { stopVm: boolean } {
  if (!answer.confirmed) throw cancelled(`${request.action} cancelled: not confirmed`);
  if (request.kind === "yes-no") return { stopVm: false };
  if (answer.typedName !== request.expectedName) {
    // Case-sensitive, exact: a near miss is a miss.
    throw cancelled(
      `${request.action} cancelled: the typed name ${JSON.stringify(answer.typedName ?? "")} does not match ${JSON.stringify(request.expectedName)}`,
      "type the snapshot name exactly (case-sensitive)",
    );
  }
  if (request.kind === "typed-name") return { stopVm: false };
  if (request.vmRunning && answer.stopVm !== true) {
    throw conflict(
      "restore refused: the VM is running and stopping it was not chosen",
      "choose stop-and-restore (CLI: --stop), or stop the VM first",
    );
  }
  if (answer.finalYes !== true) throw cancelled("restore cancelled at the final confirmation");
  return { stopVm: request.kind === "restore" && request.vmRunning };
}

/** A port that answers from fixed values (scripts, tests, library callers). */
export function presetConfirmation(answer: ConfirmationAnswer): ConfirmationPort {
  return { confirm: async () => answer };
}
