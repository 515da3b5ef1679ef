// The MCP server's side of the confirmation port (SPEC §7). The human is asked by the server
// itself — never by trusting the model:
// - elicit: an MCP elicitation form (pushed on 2025-era connections; an input_required round
//   trip on 2026-07-28 ones, where the re-entered call re-plans and must find the same plan);
// - token: the first call returns the plan and a single-use, short-lived token bound to it; the
//   second call carries the token and the name the human typed;
// - deny: destructive operations always refuse; additive ones proceed without a question.
// Whatever the answer, core's verifyConfirmation decides.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type {
  ConfirmationAnswer,
  ConfirmationPort,
  ConfirmationRequest,
} from "../core/confirmation.js";
import { ErrorCode, VmsnapError, cancelled } from "../core/errors.js";
import type { TokenStore } from "./tokens.js";

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

/** Thrown to end the round: the tool returns input_required with this question. */
export class InputNeeded extends Error {
  constructor(
    readonly question: string,
    readonly requestedSchema: Record<string, unknown>,
    readonly requestState: string,
  ) {
    super("input required");
  }
}

/** Thrown in token mode on the first call: the tool returns the plan and the token. */
export class TokenChallenge extends Error {
  constructor(
    readonly request: ConfirmationRequest,
    readonly token: string,
    readonly expiresAt: Date,
    readonly requires: string[],
  ) {
    super("confirmation token issued");
  }
}

// requestState travels through the client: sign it so a client cannot forge "same plan".
const STATE_KEY = randomBytes(32);
function sign(digest: string): string {
  return `${digest}.${createHmac("sha256", STATE_KEY).update(digest).digest("hex")}`;
}
function verifiedDigest(state: string | undefined): string | undefined {
  if (!state) return undefined;
  const [digest, mac] = state.split(".");
  if (!digest || !mac) return undefined;
  const expected = createHmac("sha256", STATE_KEY).update(digest).digest("hex");
  return mac.length === expected.length && timingSafeEqual(Buffer.from(mac), Buffer.from(expected))
    ? digest
    : undefined;
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
        message: `${message}\n\nType the snapshot name to confirm.`,
        schema: {
          type: "object",
          properties: {
            snapshotName: { type: "string", title: `Type ${request.expectedName} to delete it` },
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

export class McpConfirmation implements ConfirmationPort {
  constructor(
    private readonly mode: ConfirmationMode,
    private readonly tool: string,
    private readonly call: McpCallContext,
    private readonly tokens: TokenStore,
    private readonly args: TokenArgs,
  ) {}

  async confirm(request: ConfirmationRequest): Promise<ConfirmationAnswer> {
    const destructive = request.kind !== "yes-no";
    if (this.mode === "deny") {
      if (destructive)
        throw new VmsnapError(
          ErrorCode.Cancelled,
          `${request.action} refused: this server runs with --confirmation deny`,
          "ask the operator to run it with vmsnap on a terminal",
        );
      return { confirmed: true };
    }
    if (this.mode === "token") return this.viaToken(request);
    return this.viaElicitation(request);
  }

  private viaToken(request: ConfirmationRequest): ConfirmationAnswer {
    const requires = [
      "confirmationToken",
      ...(request.kind !== "yes-no" ? ["confirmSnapshotName (typed by the human)"] : []),
      ...(request.kind === "restore" && request.vmRunning
        ? ["stopVm: true (the human chose stop-and-restore)"]
        : []),
    ];
    if (!this.args.confirmationToken) {
      const { token, expiresAt } = this.tokens.issue(this.tool, request.planDigest);
      throw new TokenChallenge(request, token, expiresAt, requires);
    }
    const check = this.tokens.redeem(this.args.confirmationToken, this.tool, request.planDigest);
    if (!check.ok) {
      const why = {
        unknown: "the confirmation token is unknown",
        expired: "the confirmation token has expired",
        used: "the confirmation token was already used",
        "plan-changed":
          "the plan changed since the token was issued (the cluster state differs from what was confirmed)",
        "other-tool": "the confirmation token was issued for another tool",
      }[check.reason];
      throw cancelled(
        `${request.action} refused: ${why}; nothing was changed`,
        "call the tool again without a token to get a fresh plan and token",
      );
    }
    return {
      confirmed: true,
      typedName: this.args.confirmSnapshotName,
      stopVm: this.args.stopVm,
      finalYes: true,
    };
  }

  private async viaElicitation(request: ConfirmationRequest): Promise<ConfirmationAnswer> {
    const { era, http, clientCanElicit } = this.call;
    if (!clientCanElicit || (era === "legacy" && http)) {
      throw new VmsnapError(
        ErrorCode.Cancelled,
        `${request.action} refused: this client cannot show a confirmation to the human (no MCP elicitation${era === "legacy" && http ? " on a 2025-era HTTP connection" : ""})`,
        "use a client with elicitation support, or run the server with --confirmation token",
      );
    }
    const form = formFor(request);
    if (era === "legacy") {
      return answerFrom(
        request,
        await this.call.elicitInput({
          mode: "form",
          message: form.message,
          requestedSchema: form.schema,
        }),
      );
    }
    const reply = this.call.inputResponse;
    if (!reply) throw new InputNeeded(form.message, form.schema, sign(request.planDigest));
    if (verifiedDigest(this.call.requestState) !== request.planDigest) {
      throw new VmsnapError(
        ErrorCode.Conflict,
        `${request.action} refused: the plan changed between the question and the answer; nothing was changed`,
        "call the tool again to confirm the current plan",
      );
    }
    return answerFrom(request, reply);
  }
}
