// One tool = one definition: schemas, honest annotations, the names to validate, and a run
// function over a Session. runTool is the only place MCP calls turn into workflow calls.
import type { z } from "zod";
import { validateName, type NameKind } from "../core/names.js";
import { API_VERSION } from "../core/api-version.js";
import type { ErrorObject } from "../core/schema.js";
import { toVmsnapError } from "../kube/errors.js";
import { Session } from "../workflows/session.js";
import { render, type OutputObject } from "../cli/output.js";
import {
  InputNeeded,
  McpConfirmation,
  TokenChallenge,
  type ConfirmationMode,
  type McpCallContext,
  type TokenArgs,
} from "./confirmation.js";
import type { TokenStore } from "./tokens.js";

export type ToolKind = "read" | "additive" | "destructive";

export interface ToolResult {
  structured: Record<string, unknown>;
  /** The object rendered as readable text. */
  object: OutputObject;
  preface?: string;
  /** Some of the work failed (a bulk create's partial failure); the results are still returned. */
  isError?: boolean;
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  kind: ToolKind;
  idempotent: boolean;
  input: I;
  output: z.ZodObject;
  /** Names from the arguments, validated before any request is sent. */
  names: (args: z.infer<I>) => [NameKind, string | undefined][];
  run: (session: Session, args: z.infer<I>) => Promise<ToolResult>;
}

export interface ServerOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  platform?: "auto" | "kubevirt" | "deckhouse" | "vmoperator";
  confirmation: ConfirmationMode;
  readOnly: boolean;
  tokens: TokenStore;
}

export interface CallResult {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export type Outcome =
  { kind: "result"; result: CallResult } | { kind: "input"; needed: InputNeeded };

function errorResult(tool: ToolDefinition, err: unknown): CallResult {
  const e = toVmsnapError(err);
  const error: ErrorObject = {
    apiVersion: API_VERSION,
    kind: "Error",
    code: e.code,
    exitCode: e.exitCode,
    message: e.message,
    ...(e.hint ? { hint: e.hint } : {}),
  };
  const text = `error [${e.code}]: ${e.message}${e.hint ? `\nhint: ${e.hint}` : ""}`;
  return {
    content: [{ type: "text", text }],
    isError: true,
    ...(tool.kind === "read" ? {} : { structuredContent: { status: "Error", error } }),
  };
}

export async function runTool(
  tool: ToolDefinition,
  args: Record<string, unknown>,
  options: ServerOptions,
  call: McpCallContext,
  progress: (message: string) => void,
): Promise<Outcome> {
  let session: Session | undefined;
  try {
    for (const [kind, value] of tool.names(args))
      if (value !== undefined) validateName(kind, value);
    if (options.readOnly && tool.kind !== "read")
      throw Object.assign(new Error(`${tool.name} is not available: the server is read-only`), {});
    session = await Session.open({
      kubeconfig: options.kubeconfig,
      context: options.context,
      namespace: (args.namespace as string | undefined) ?? options.namespace,
      platform: options.platform,
      confirmation: new McpConfirmation(
        options.confirmation,
        tool.name,
        call,
        options.tokens,
        args as TokenArgs,
      ),
      progress,
    });
    if (args.allNamespaces === true && args.namespace)
      throw new Error("give either namespace or allNamespaces, not both");
    const out = await tool.run(session, args);
    const text = `${out.preface ? `${out.preface}\n\n` : ""}${render(out.object, "table", { color: false })}`;
    return {
      kind: "result",
      result: {
        content: [{ type: "text", text }],
        structuredContent: out.structured,
        ...(out.isError ? { isError: true } : {}),
      },
    };
  } catch (err) {
    if (err instanceof InputNeeded) return { kind: "input", needed: err };
    if (err instanceof TokenChallenge) {
      const confirmation = {
        token: err.token,
        expiresAt: err.expiresAt.toISOString(),
        title: err.request.title,
        preview: err.request.preview,
        requires: err.requires,
      };
      const text = [
        `${err.request.title}`,
        "",
        err.request.preview,
        "",
        `Nothing was changed. Show this plan to the human. To proceed, call ${tool.name} again with the same arguments plus: ${err.requires.join(", ")}.`,
        `Token (single use, expires ${confirmation.expiresAt}): ${err.token}`,
      ].join("\n");
      return {
        kind: "result",
        result: {
          content: [{ type: "text", text }],
          structuredContent: { status: "ConfirmationRequired", confirmation },
        },
      };
    }
    return { kind: "result", result: errorResult(tool, err) };
  } finally {
    session?.close();
  }
}
