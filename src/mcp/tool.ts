// One tool = one definition: schemas, honest annotations, the names to validate, and either a
// read over a Session or a planner. runTool is the only place MCP calls turn into workflow calls:
// a write tool plans, returns the plan (dry run, token challenge, input request) or has it
// confirmed, and executes it — the same plan → consent → execute as every face.
import type { z } from "zod";
import { verifyConfirmation } from "../core/confirmation.js";
import { invalidInput, operationFailed } from "../core/errors.js";
import { validateName, type NameKind } from "../core/names.js";
import type { PlatformChoice } from "../core/platform-names.js";
import type { Pins } from "../core/plan.js";
import { toVmsnapError } from "../workflows/errors.js";
import { execute, type Plan } from "../workflows/execute.js";
import { batchFailed } from "../workflows/bulk-create.js";
import { Session } from "../workflows/session.js";
import { withSuggestions } from "../workflows/suggest.js";
import { errorObject } from "../report/errors.js";
import { renderText, type OutputObject } from "../report/render.js";
import { mcpWords } from "../report/words.js";
import {
  FORM_TIMEOUT_MS,
  McpConfirmation,
  type ConfirmationMode,
  type McpCallContext,
  type TokenArgs,
} from "./confirmation.js";
import { TokenStore } from "./tokens.js";

export type ToolKind = "read" | "additive" | "destructive";

interface ToolBase<I extends z.ZodObject> {
  name: string;
  title: string;
  description: string;
  idempotent: boolean;
  input: I;
  output: z.ZodObject;
  /** Names from the arguments, validated before any request is sent. */
  names: (args: z.infer<I>) => [NameKind, string | undefined][];
  /** Checks of the arguments together, before any request is sent. */
  validate?: (args: z.infer<I>) => void;
}

export interface ReadTool<I extends z.ZodObject = z.ZodObject> extends ToolBase<I> {
  kind: "read";
  read: (session: Session, args: z.infer<I>) => Promise<OutputObject>;
}

export interface WriteTool<I extends z.ZodObject = z.ZodObject> extends ToolBase<I> {
  kind: "additive" | "destructive";
  /** Plans the operation (no writes); with pins, the names are the ones shown before. */
  plan: (session: Session, args: z.infer<I>, pins?: Pins) => Promise<Plan>;
}

export type ToolDefinition<I extends z.ZodObject = z.ZodObject> = ReadTool<I> | WriteTool<I>;

export interface ServerOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  platform?: PlatformChoice;
  confirmation: ConfirmationMode;
  readOnly: boolean;
  tokens: TokenStore;
  /** 2026-07-28 approvals; made once per server from formTimeoutMs when not given. */
  approvals?: TokenStore;
  /** How long the human has to answer a form (default FORM_TIMEOUT_MS, 10 minutes). */
  formTimeoutMs?: number;
  /**
   * none: the server's kubeconfig credentials serve every request; passthrough (HTTP only): each
   * request's bearer token is the Kubernetes credential, with the server's cluster.
   */
  auth?: "none" | "passthrough";
}

/** The authenticated caller of one HTTP request (passthrough auth). */
export interface Caller {
  /** The bearer token, used as the Kubernetes credential. */
  token: string;
  /** The user name the API server knows the token by. */
  name: string;
}

export interface CallResult {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export type Outcome =
  | { kind: "result"; result: CallResult }
  | {
      kind: "input";
      question: string;
      requestedSchema: Record<string, unknown>;
      requestState: string;
    };

/** The key of a write tool's result object in structuredContent. */
const RESULT_KEY: Record<string, string> = {
  Snapshot: "snapshot",
  SnapshotBatch: "batch",
  Restore: "restore",
  Clone: "clone",
  Deletion: "deletion",
  Policy: "policy",
  Prune: "prune",
};

const text = (object: OutputObject) => {
  // What a read could not include (a platform it may not read) is said in the text too.
  const warnings = (object as { warnings?: unknown }).warnings;
  const said = Array.isArray(warnings) ? warnings.map((w) => `warning: ${String(w)}\n`) : [];
  return renderText(object, { color: false, words: mcpWords }) + said.join("");
};

function resultOf(structured: Record<string, unknown>, body: string, isError = false): Outcome {
  return {
    kind: "result",
    result: {
      content: [{ type: "text", text: body }],
      structuredContent: structured,
      ...(isError ? { isError: true } : {}),
    },
  };
}

/** A write tool's result: Done or DryRun, with the object under its key. */
function writeResult(status: "Done" | "DryRun", object: OutputObject, preface?: string): Outcome {
  return resultOf(
    { status, [RESULT_KEY[object.kind] ?? "result"]: object },
    `${preface ? `${preface}\n\n` : ""}${text(object)}`,
    object.kind === "SnapshotBatch" && batchFailed(object),
  );
}

function errorResult(tool: ToolDefinition, err: unknown): CallResult {
  const error = errorObject(toVmsnapError(err), mcpWords);
  const body = `error [${error.code}]: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}`;
  return {
    content: [{ type: "text", text: body }],
    isError: true,
    ...(tool.kind === "read" ? {} : { structuredContent: { status: "Error", error } }),
  };
}

/** Plan, then: the dry run's result, the plan to confirm, or the confirmed plan executed. */
async function runWrite(
  tool: WriteTool,
  args: Record<string, unknown>,
  session: Session,
  confirmation: McpConfirmation,
): Promise<Outcome> {
  const plan = await tool.plan(session, args, confirmation.pins());
  if (args.dryRun === true)
    return writeResult(
      "DryRun",
      plan.planned,
      `Dry run (validated by the API server, nothing ${tool.kind === "destructive" ? (plan.operation === "delete" || plan.operation === "policy-delete" ? "deleted" : "changed") : "created"}):\n${plan.preview}`,
    );
  if (!plan.confirmation) return writeResult("Done", await execute(session, plan, null));
  const decision = await confirmation.decide(plan.confirmation, plan.pins);
  switch (decision.kind) {
    case "answer": {
      const consent = verifyConfirmation(plan.confirmation, decision.answer);
      return writeResult("Done", await execute(session, plan, consent));
    }
    case "input":
      return { ...decision, kind: "input" };
    case "challenge": {
      const challenge = {
        token: decision.token,
        expiresAt: decision.expiresAt.toISOString(),
        title: plan.title,
        preview: plan.preview,
        requires: decision.requires,
      };
      return resultOf(
        { status: "ConfirmationRequired", confirmation: challenge },
        [
          plan.title,
          "",
          plan.preview,
          "",
          `Nothing was changed. Show this plan to the human. To proceed, call ${tool.name} again with the same arguments plus: ${decision.requires.join(", ")}.`,
          `Token (single use, expires ${challenge.expiresAt}): ${decision.token}`,
        ].join("\n"),
      );
    }
  }
}

/** ServerOptions as a running server holds them: one approval store for all its requests. */
export type ServingOptions = ServerOptions & { approvals: TokenStore };

export function servingOptions(options: ServerOptions): ServingOptions {
  return {
    ...options,
    approvals: options.approvals ?? new TokenStore(options.formTimeoutMs ?? FORM_TIMEOUT_MS),
  };
}

export async function runTool(
  tool: ToolDefinition,
  args: Record<string, unknown>,
  options: ServingOptions,
  call: McpCallContext,
  progress: (message: string) => void,
  caller?: Caller,
): Promise<Outcome> {
  let session: Session | undefined;
  try {
    for (const [kind, value] of tool.names(args))
      if (value !== undefined) validateName(kind, value);
    if (args.allNamespaces === true && args.namespace !== undefined)
      throw invalidInput("give either namespace or allNamespaces, not both");
    if (options.readOnly && tool.kind !== "read")
      throw operationFailed(`${tool.name} is not available: the server is read-only`);
    session = await Session.open({
      kubeconfig: options.kubeconfig,
      context: options.context,
      namespace: (args.namespace as string | undefined) ?? options.namespace,
      bearerToken: caller?.token,
      platform: options.platform,
      progress,
      words: mcpWords,
    });
    tool.validate?.(args);
    if (tool.kind === "read") {
      const object = await tool.read(session, args);
      return resultOf(object as Record<string, unknown>, text(object));
    }
    const formTimeoutMs = options.formTimeoutMs ?? FORM_TIMEOUT_MS;
    const confirmation = new McpConfirmation({
      mode: options.confirmation,
      tool: tool.name,
      call,
      tokens: options.tokens,
      approvals: options.approvals,
      args: args as TokenArgs,
      formTimeoutMs,
    });
    return await runWrite(tool, args, session, confirmation);
  } catch (err) {
    // A VM or snapshot not found: the message's hint names the close names ("did you mean").
    const explained = session ? await withSuggestions(session, err) : err;
    return { kind: "result", result: errorResult(tool, explained) };
  } finally {
    session?.close();
  }
}
