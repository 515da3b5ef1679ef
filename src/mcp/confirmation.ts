// The MCP server's side of the confirmation (SPEC §7): plan, then execute. The human is asked by
// the server itself — never by trusting the model:
// - elicit: an MCP elicitation form (pushed on 2025-era connections; an input_required round
//   trip on 2026-07-28 ones, whose second round plans again with the first plan's pins and must
//   find the same plan);
// - token: the first call returns the plan and a single-use, short-lived token bound to it; the
//   second call plans again with the same pins and carries the token and the name the human typed;
// - deny: destructive operations always refuse; additive ones proceed without a question.
// decide() only collects an answer, or says what to return instead; core's verifyConfirmation
// decides whether it confirms the plan.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { ConfirmationAnswer, ConfirmationRequest } from "../core/confirmation.js";
import { ErrorCode, VmsnapError, cancelled } from "../core/errors.js";
import type { Pins } from "../core/plan.js";
import type { TokenRefusal, TokenStore } from "./tokens.js";

export type ConfirmationMode = "elicit" | "token" | "deny";

/** What the MCP layer knows about the connection and the call. */
export interface McpCallContext {
  era: "legacy" | "modern";
  /** Served over HTTP (legacy HTTP is stateless: nothing can be pushed to the client). */
  http: boolean;
  /** The client declared form elicitation. */
  clientCanElicit: boolean;
  /** 2025-era push elicitation. */
  elicitInput: (params: {
    mode: "form";
    message: string;
    requestedSchema: Record<string, unknown>;
  }) => Promise<{ action: string; content?: Record<string, unknown> }>;
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

// requestState travels through the client: sign it so a client cannot forge "same plan" or the
// names the plan was shown with.
const STATE_KEY = randomBytes(32);
const mac = (payload: string) => createHmac("sha256", STATE_KEY).update(payload).digest("hex");
const PinsState = z.object({
  d: z.string(),
  p: z.object({ at: z.string(), attempt: z.number().optional() }),
});

function signState(digest: string, pins: Pins): string {
  const payload = Buffer.from(JSON.stringify({ d: digest, p: pins })).toString("base64url");
  return `${payload}.${mac(payload)}`;
}

function verifiedState(state: string | undefined): { digest: string; pins: Pins } | undefined {
  if (!state) return undefined;
  const [payload, tag] = state.split(".");
  if (!payload || !tag) return undefined;
  const expected = mac(payload);
  if (tag.length !== expected.length || !timingSafeEqual(Buffer.from(tag), Buffer.from(expected)))
    return undefined;
  try {
    const parsed = PinsState.safeParse(JSON.parse(Buffer.from(payload, "base64url").toString()));
    return parsed.success ? { digest: parsed.data.d, pins: parsed.data.p } : undefined;
  } catch {
    return undefined;
  }
}

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

export class McpConfirmation {
  /** Token mode, second call: the plan the presented token was issued for. */
  private claimed?: { digest: string; pins: Pins };

  constructor(
    private readonly mode: ConfirmationMode,
    private readonly tool: string,
    private readonly call: McpCallContext,
    private readonly tokens: TokenStore,
    private readonly args: TokenArgs,
  ) {}

  /**
   * Before planning: the pins of the plan this call confirms (a token's, or the signed state's),
   * if any. A presented token is spent here, at its first presentation; an unusable one is
   * refused before anything is read or planned.
   */
  pins(): Pins | undefined {
    if (this.mode === "token" && this.args.confirmationToken) {
      const claim = this.tokens.claim(this.args.confirmationToken, this.tool);
      if (!claim.ok) throw tokenRefused(claim.reason);
      this.claimed = claim;
      return claim.pins;
    }
    if (this.mode === "elicit" && this.call.inputResponse)
      return verifiedState(this.call.requestState)?.pins;
    return undefined;
  }

  async decide(request: ConfirmationRequest, pins: Pins): Promise<Decision> {
    const destructive = request.kind !== "yes-no";
    if (this.mode === "deny") {
      if (destructive)
        throw new VmsnapError(
          ErrorCode.Cancelled,
          `${request.action} refused: this server's confirmation mode is deny`,
          "ask the human to run this operation themselves",
        );
      return { kind: "answer", answer: { confirmed: true } };
    }
    if (this.mode === "token") return this.viaToken(request, pins);
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
      const { token, expiresAt } = this.tokens.issue(this.tool, request.planDigest, pins);
      return { kind: "challenge", token, expiresAt, requires };
    }
    if (this.claimed.digest !== request.planDigest) throw tokenRefused("plan-changed");
    return {
      kind: "answer",
      answer: {
        confirmed: true,
        typedName: this.args.confirmSnapshotName,
        stopVm: this.args.stopVm,
        finalYes: true,
      },
    };
  }

  private async viaElicitation(request: ConfirmationRequest, pins: Pins): Promise<Decision> {
    const { era, http, clientCanElicit } = this.call;
    if (!clientCanElicit || (era === "legacy" && http)) {
      throw new VmsnapError(
        ErrorCode.Cancelled,
        `${request.action} refused: this client cannot show a confirmation to the human (no MCP elicitation${era === "legacy" && http ? " on a 2025-era HTTP connection" : ""})`,
        "use a client that supports MCP elicitation, or ask the operator to start the server with confirmation mode token",
      );
    }
    const form = formFor(request);
    if (era === "legacy") {
      const reply = await this.call.elicitInput({
        mode: "form",
        message: form.message,
        requestedSchema: form.schema,
      });
      return { kind: "answer", answer: answerFrom(request, reply) };
    }
    const reply = this.call.inputResponse;
    if (!reply)
      return {
        kind: "input",
        question: form.message,
        requestedSchema: form.schema,
        requestState: signState(request.planDigest, pins),
      };
    if (verifiedState(this.call.requestState)?.digest !== request.planDigest) {
      throw new VmsnapError(
        ErrorCode.Conflict,
        `${request.action} refused: the plan changed between the question and the answer; nothing was changed`,
        "call the tool again to confirm the current plan",
      );
    }
    return { kind: "answer", answer: answerFrom(request, reply) };
  }
}

function tokenRefused(reason: TokenRefusal): VmsnapError {
  const why = {
    unknown: "the confirmation token is unknown",
    expired: "the confirmation token has expired",
    used: "the confirmation token was already used",
    "plan-changed":
      "the plan changed since the token was issued (the cluster state differs from what was confirmed)",
    "other-tool": "the confirmation token was issued for another tool",
  }[reason];
  return cancelled(
    `refused: ${why}; nothing was changed`,
    "call the tool again without a token to get a fresh plan and token",
  );
}
