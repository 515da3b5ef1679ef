// The confirmation check (SPEC §3.4). A plan names the confirmation it needs; a face collects an
// answer (the CLI from its TTY or flags, the MCP server by elicitation or token, a library caller
// from a preset); verifyConfirmation — here, once — decides, and is the only maker of a Consent.
// execute() (src/workflows/execute.ts) acts only on a Consent made for that very plan.
import { advice, option } from "./advice.js";
import { cancelled, conflict, invalidInput } from "./errors.js";

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
      /** What is typed (default "snapshot name"; a policy's name, a number of snapshots). */
      noun?: string;
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
  /** The running-VM choice: true = stop-and-restore. The only route of that choice. */
  stopVm?: boolean;
  /** The final yes of a restore. */
  finalYes?: boolean;
}

export interface ConfirmationPort {
  confirm(request: ConfirmationRequest): Promise<ConfirmationAnswer>;
}

const ISSUER = Symbol("verifyConfirmation");
let issue: (digest: string, stopVm: boolean) => Consent;

/**
 * The human's consent to one plan (by its digest), made only by verifyConfirmation and spent by
 * the first execute(). The constructor is closed to other modules: at compile time (private) and
 * at run time (a module-private key), so a consent cannot be forged or reused.
 */
export class Consent {
  readonly #digest: string;
  #spent = false;
  /** The user chose to stop the running VM (restore). */
  readonly stopVm: boolean;

  private constructor(key: symbol, digest: string, stopVm: boolean) {
    if (key !== ISSUER) throw new TypeError("a Consent is made only by verifyConfirmation");
    this.#digest = digest;
    this.stopVm = stopVm;
  }

  static {
    issue = (digest, stopVm) => new Consent(ISSUER, digest, stopVm);
  }

  /** Checks that this is a genuine, unspent consent to the plan with this digest, and spends it. */
  static redeem(consent: unknown, digest: string): { stopVm: boolean } {
    if (!(consent instanceof Object) || !(#digest in consent))
      throw invalidInput(
        "not a consent made by verifyConfirmation: nothing was changed",
        "confirm the plan (verifyConfirmation) before executing it",
      );
    if (consent.#digest !== digest)
      throw cancelled("the consent was given to another plan: nothing was changed");
    if (consent.#spent) throw cancelled("the consent was already used: nothing was changed");
    consent.#spent = true;
    return { stopVm: consent.stopVm };
  }
}

/** Accepts an answer (a Consent to the request's plan) or throws Cancelled/Conflict. */
export function verifyConfirmation(
  request: ConfirmationRequest,
  answer: ConfirmationAnswer,
): Consent {
  if (!answer.confirmed) throw cancelled(`${request.action} cancelled: not confirmed`);
  if (request.kind === "yes-no") return issue(request.planDigest, false);
  if (answer.typedName !== request.expectedName) {
    // Case-sensitive, exact: a near miss is a miss.
    throw cancelled(
      `${request.action} cancelled: the typed name ${JSON.stringify(answer.typedName ?? "")} does not match ${JSON.stringify(request.expectedName)}`,
      `type the ${request.kind === "typed-name" ? (request.noun ?? "snapshot name") : "snapshot name"} exactly (case-sensitive)`,
    );
  }
  if (request.kind === "typed-name") return issue(request.planDigest, false);
  if (request.vmRunning && answer.stopVm !== true) {
    throw conflict(
      "restore refused: the VM is running and stopping it was not chosen",
      advice`choose stop-and-restore (${option("stop", true)}), or stop the VM first`,
    );
  }
  if (answer.finalYes !== true) throw cancelled("restore cancelled at the final confirmation");
  return issue(request.planDigest, request.vmRunning);
}

/** Spends a consent for the plan with this digest; throws unless it is genuine, unspent and its. */
export function redeemConsent(consent: Consent | null | undefined, digest: string) {
  return Consent.redeem(consent, digest);
}

/** A port that answers from fixed values (scripts, tests, library callers). */
export function presetConfirmation(answer: ConfirmationAnswer): ConfirmationPort {
  return { confirm: async () => answer };
}
