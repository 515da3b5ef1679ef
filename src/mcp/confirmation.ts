// The MCP server's side of the confirmation (SPEC §7): plan, then execute. The human is asked by
// the server itself — never by trusting the model:
// - elicit: an MCP elicitation form (pushed on 2025-era connections that can carry a request to
//   the client: stdio, or an HTTP session; an input_required round trip on 2026-07-28 ones, whose
//   requestState is a single-use approval bound to the plan, which expires like a token: the
//   second round plans again with the first plan's pins and must find the same plan);
// - token: the first call returns the plan and a single-use, short-lived token bound to it; the
//   second call plans again with the same pins and carries the token and the name the human typed;
// - deny: destructive operations always refuse; additive ones proceed without a question.
// decide() only collects an answer, or says what to return instead; core's verifyConfirmation
// decides whether it confirms the plan. A form that is not answered in time, or fails, is a
// cancellation: nothing was changed.
import { z } from "zod";
import type { ConfirmationAnswer, ConfirmationRequest } from "../core/confirmation.js";
import { ErrorCode, VmsnapError, cancelled } from "../core/errors.js";
import type { Pins } from "../core/plan.js";
import type { TokenRefusal, TokenStore } from "./tokens.js";

export type ConfirmationMode = "elicit" | "token" | "deny";

/** How long the human has to answer a form (and a 2026-07-28 approval lives): 10 minutes. */
export const FORM_TIMEOUT_MS = 10 * 60_000;

/** What the MCP layer knows about the connection and the call. */
export interface McpCallContext {
  era: "legacy" | "modern";
  /**
   * The connection can carry a request to the client (2025 era: stdio, or an HTTP session; a
   * session-less 2025-era HTTP request cannot).
   */
  canPush: boolean;
  /** The authenticated caller (passthrough auth): approvals and tokens are bound to it. */
  caller?: string;
  /** The client declared form elicitation. */
  clientCanElicit: boolean;
  /** 2025-era push elicitation. */
  elicitInput: (
    params: {
      mode: "form";
      message: string;
      requestedSchema: Record<string, unknown>;
    },
    timeoutMs: number,
  ) => Promise<{ action: string; content?: Record<string, unknown> }>;
  /** 2026-07-28 re-entry: the answer of the previous round, if any. */
  inputResponse?: { action: string; content?: Record<string, unknown> };
  /** 2026-07-28 re-entry: the state minted with the question. */
  requestState?: string;
}

export interface TokenArgs {
  confirmationToken?: string;
  confirmSnapshotName?: string;
  stopVm?: boolean;
}

export const ELICIT_KEY = "vmsnap-confirmation";

/** What the server does about a plan's confirmation. */
export type Decision =
  /** The human's answer, to be verified by verifyConfirmation. */
  | { kind: "answer"; answer: ConfirmationAnswer }
  /** Token mode, first call: return the plan with a token; nothing is changed. */
  | { kind: "challenge"; token: string; expiresAt: Date; requires: string[] }
  /** 2026-07-28: end the round with this question; the client calls again with the answer. */
  | {
      kind: "input";
      question: string;
      requestedSchema: Record<string, unknown>;
      requestState: string;
    };

/** The form (flat JSON Schema, as elicitation requires) for each kind of confirmation. */
export function formFor(request: ConfirmationRequest): {
  message: string;
  schema: Record<string, unknown>;
} {
  const message = `${request.title}\n\n${request.preview}`;
  switch (request.kind) {
    case "yes-no":
      return {
        message,
        schema: {
          type: "object",
          properties: { confirm: { type: "boolean", title: `Yes, ${request.action}` } },
          required: ["confirm"],
        },
      };
    case "typed-name":
      return {
        message: `${message}\n\nType the ${request.noun ?? "snapshot name"} to confirm.`,
        schema: {
          type: "object",
          properties: {
            snapshotName: {
              type: "string",
              title: `Type ${request.expectedName} (the ${request.noun ?? "snapshot name"}) to delete`,
            },
          },
          required: ["snapshotName"],
        },
      };
    case "restore":
      return {
        message: `${message}\n\nType the snapshot name, then confirm.`,
        schema: {
          type: "object",
          properties: {
            snapshotName: { type: "string", title: `Type ${request.expectedName} to restore it` },
            ...(request.vmRunning
              ? {
                  runningVm: {
                    type: "string",
                    title: "The VM is running",
                    enum: ["stop-and-restore", "cancel"],
                  },
                }
              : {}),
            confirm: {
              type: "boolean",
              title: "Yes, restore now (everything written since the snapshot is lost)",
            },
          },
          required: ["snapshotName", ...(request.vmRunning ? ["runningVm"] : []), "confirm"],
        },
      };
  }
}

const Answer = z.object({
  confirm: z.boolean().optional(),
  snapshotName: z.string().optional(),
  runningVm: z.enum(["stop-and-restore", "cancel"]).optional(),
});

/** Maps a form answer to the port's answer (untrusted content is parsed, never assumed). */
export function answerFrom(
  request: ConfirmationRequest,
  reply: { action: string; content?: Record<string, unknown> },
): ConfirmationAnswer {
  if (reply.action !== "accept") return { confirmed: false };
  const parsed = Answer.safeParse(reply.content ?? {});
  if (!parsed.success) return { confirmed: false };
  const a = parsed.data;
  switch (request.kind) {
    case "yes-no":
      return { confirmed: a.confirm === true };
    case "typed-name":
      return { confirmed: true, typedName: a.snapshotName };
    case "restore":
      if (a.runningVm === "cancel") return { confirmed: false, typedName: a.snapshotName };
      return {
        confirmed: true,
        typedName: a.snapshotName,
        stopVm: a.runningVm === "stop-and-restore",
        finalYes: a.confirm === true,
      };
  }
}

export interface McpConfirmationOptions {
  mode: ConfirmationMode;
  tool: string;
  call: McpCallContext;
  /** Token mode's tokens. */
  tokens: TokenStore;
  /** 2026-07-28 approvals (their TTL is the time the human has to answer). */
  approvals: TokenStore;
  args: TokenArgs;
  /** How long a pushed form waits for the human. */
  formTimeoutMs: number;
}

export class McpConfirmation {
  /** The plan the presented token or approval was issued for (spent when presented). */
  private claimed?: { digest: string; pins: Pins };

  constructor(private readonly o: McpConfirmationOptions) {}

  /**
   * Before planning: the pins of the plan this call confirms (a token's, or an approval's), if
   * any. A presented token or approval is spent here, at its first presentation; an unusable one
   * is refused before anything is read or planned.
   */
  pins(): Pins | undefined {
    const { mode, args, call, tool } = this.o;
    if (mode === "token" && args.confirmationToken) {
      const claim = this.o.tokens.claim(args.confirmationToken, tool, call.caller);
      if (!claim.ok) throw tokenRefused(claim.reason, "token");
      this.claimed = claim;
      return claim.pins;
    }
    if (mode === "elicit" && (call.inputResponse || call.requestState)) {
      // A second round: its answer confirms only the plan the approval was issued for, once.
      const claim = call.requestState
        ? this.o.approvals.claim(call.requestState, tool, call.caller)
        : ({ ok: false, reason: "unknown" } as const);
      if (!claim.ok) throw tokenRefused(claim.reason, "approval");
      if (!call.inputResponse)
        throw cancelled(
          "refused: the confirmation form came back without an answer; nothing was changed",
          "call the tool again to ask the human again",
        );
      this.claimed = claim;
      return claim.pins;
    }
    return undefined;
  }

  async decide(request: ConfirmationRequest, pins: Pins): Promise<Decision> {
    const destructive = request.kind !== "yes-no";
    if (this.o.mode === "deny") {
      if (destructive)
        throw new VmsnapError(
          ErrorCode.Cancelled,
          `${request.action} refused: this server's confirmation mode is deny`,
          "ask the human to run this operation themselves",
        );
      return { kind: "answer", answer: { confirmed: true } };
    }
    if (this.o.mode === "token") return this.viaToken(request, pins);
    return this.viaElicitation(request, pins);
  }

  private viaToken(request: ConfirmationRequest, pins: Pins): Decision {
    const requires = [
      "confirmationToken",
      ...(request.kind === "typed-name" && request.noun
        ? [`confirmSnapshotName (the ${request.noun}, typed by the human)`]
        : request.kind !== "yes-no"
          ? ["confirmSnapshotName (typed by the human)"]
          : []),
      ...(request.kind === "restore" && request.vmRunning
        ? ["stopVm: true (the human chose stop-and-restore)"]
        : []),
    ];
    if (!this.claimed) {
      const { token, expiresAt } = this.o.tokens.issue(
        this.o.tool,
        request.planDigest,
        pins,
        this.o.call.caller,
      );
      return { kind: "challenge", token, expiresAt, requires };
    }
    if (this.claimed.digest !== request.planDigest) throw tokenRefused("plan-changed", "token");
    const { args } = this.o;
    return {
      kind: "answer",
      answer: {
        confirmed: true,
        typedName: args.confirmSnapshotName,
        stopVm: args.stopVm,
        finalYes: true,
      },
    };
  }

  private async viaElicitation(request: ConfirmationRequest, pins: Pins): Promise<Decision> {
    const { era, canPush, clientCanElicit } = this.o.call;
    const sessionless = era === "legacy" && !canPush;
    if (!clientCanElicit || sessionless) {
      throw new VmsnapError(
        ErrorCode.Cancelled,
        `${request.action} refused: this client cannot show a confirmation to the human (no MCP elicitation${sessionless ? " on a 2025-era HTTP request without a session" : ""})`,
        "use a client that supports MCP elicitation, or ask the operator to start the server with confirmation mode token",
      );
    }
    const form = formFor(request);
    if (era === "legacy") {
      let reply: { action: string; content?: Record<string, unknown> };
      try {
        reply = await this.o.call.elicitInput(
          { mode: "form", message: form.message, requestedSchema: form.schema },
          this.o.formTimeoutMs,
        );
      } catch (err) {
        throw formFailed(request, err, this.o.formTimeoutMs);
      }
      return { kind: "answer", answer: answerFrom(request, reply) };
    }
    const reply = this.o.call.inputResponse;
    if (!reply) {
      const { token } = this.o.approvals.issue(
        this.o.tool,
        request.planDigest,
        pins,
        this.o.call.caller,
      );
      return {
        kind: "input",
        question: form.message,
        requestedSchema: form.schema,
        requestState: token,
      };
    }
    if (this.claimed?.digest !== request.planDigest) {
      throw new VmsnapError(
        ErrorCode.Conflict,
        `${request.action} refused: the plan changed between the question and the answer; nothing was changed`,
        "call the tool again to confirm the current plan",
      );
    }
    return { kind: "answer", answer: answerFrom(request, reply) };
  }
}

/** A pushed form that was not answered in time, or failed: nothing was changed. */
function formFailed(request: ConfirmationRequest, err: unknown, timeoutMs: number): VmsnapError {
  const e = err as { code?: number; message?: string };
  // -32001: the SDK's request timeout (ProtocolErrorCode.RequestTimeout).
  const timedOut = e.code === -32001 || /timed? ?out/i.test(e.message ?? "");
  const minutes = Math.round((timeoutMs / 60_000) * 10) / 10;
  const waited = minutes >= 1 ? `${minutes} min` : `${Math.round(timeoutMs / 1000)} s`;
  return cancelled(
    timedOut
      ? `${request.action} cancelled: the confirmation form was not answered within ${waited}; nothing was changed`
      : `${request.action} cancelled: the confirmation form failed (${e.message ?? String(err)}); nothing was changed`,
    "call the tool again when the human is there to answer",
  );
}

function tokenRefused(reason: TokenRefusal, what: "token" | "approval"): VmsnapError {
  const noun = what === "token" ? "the confirmation token" : "the human's approval";
  const why = {
    unknown: `${noun} is unknown`,
    expired: `${noun} has expired`,
    used: `${noun} was already used`,
    "plan-changed": `the plan changed since ${noun} was issued (the cluster state differs from what was confirmed)`,
    "other-tool": `${noun} was issued for another tool`,
  }[reason];
  return cancelled(
    `refused: ${why}; nothing was changed`,
    what === "token"
      ? "call the tool again without a token to get a fresh plan and token"
      : "call the tool again to ask the human again",
  );
}
