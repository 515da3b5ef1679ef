// The vmsnap MCP server: one factory, serving both protocol eras over stdio and Streamable HTTP.
import {
  McpServer,
  inputRequired,
  inputResponse,
  type McpRequestContext,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { ELICIT_KEY, type McpCallContext } from "./confirmation.js";
import {
  runTool,
  servingOptions,
  type Caller,
  type ServerOptions,
  type ToolDefinition,
} from "./tool.js";
import { TOOLS } from "./tools/index.js";
import { version } from "../version.js";

const CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";

function annotations(tool: ToolDefinition) {
  return {
    title: tool.title,
    readOnlyHint: tool.kind === "read",
    destructiveHint: tool.kind === "destructive",
    idempotentHint: tool.idempotent,
    // A Kubernetes cluster is a closed domain: no open-world effects.
    openWorldHint: false,
  };
}

/** The tools this server exposes: all of them, or only the read-only ones. */
export function exposedTools(options: Pick<ServerOptions, "readOnly">): ToolDefinition[] {
  return TOOLS.filter((t) => !options.readOnly || t.kind === "read");
}

/** The factory's context; `session`: a 2025-era HTTP session (it can carry a form to the client). */
export type FactoryContext = McpRequestContext & { session?: boolean };

/** The caller a verified bearer token stands for (passthrough auth; see serve.ts). */
function callerOf(auth: { token: string; clientId: string } | undefined): Caller | undefined {
  return auth ? { token: auth.token, name: auth.clientId } : undefined;
}

export function createServerFactory(given: ServerOptions) {
  // One approval store for every request this server serves (2026-07-28 rounds are separate
  // HTTP requests, each served by a fresh instance).
  const options = servingOptions(given);
  return (requestCtx: FactoryContext): McpServer => {
    const server = new McpServer(
      { name: "vmsnap", version: version() },
      {
        instructions:
          "Snapshot tools for virtual machines on Kubernetes (KubeVirt / OpenShift Virtualization). Check a VM with vm_snapshot_check before vm_snapshot_create. Restore and delete are destructive: the human confirms them through the server (you cannot confirm on their behalf).",
      },
    );
    for (const tool of exposedTools(options)) {
      server.registerTool(
        tool.name,
        {
          title: tool.title,
          description: tool.description,
          inputSchema: tool.input,
          outputSchema: tool.output,
          annotations: annotations(tool),
        },
        async (args: Record<string, unknown>, ctx: ServerContext) => {
          const envelopeCaps = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[
            CAPABILITIES_KEY
          ] as { elicitation?: unknown } | undefined;
          const caps =
            requestCtx.era === "legacy" ? server.server.getClientCapabilities() : envelopeCaps;
          const view = inputResponse(ctx.mcpReq.inputResponses, ELICIT_KEY);
          const caller = callerOf(ctx.http?.authInfo ?? requestCtx.authInfo);
          const call: McpCallContext = {
            era: requestCtx.era,
            // stdio (no HTTP request) or a 2025-era HTTP session can carry a form to the client.
            canPush: !requestCtx.requestInfo || requestCtx.session === true,
            caller: caller?.name,
            clientCanElicit: Boolean(caps?.elicitation),
            elicitInput: (params, timeoutMs) =>
              ctx.mcpReq.elicitInput(params as Parameters<typeof ctx.mcpReq.elicitInput>[0], {
                timeout: timeoutMs,
              }),
            inputResponse:
              view.kind === "elicit" ? { action: view.action, content: view.content } : undefined,
            requestState: ctx.mcpReq.requestState<string>(),
          };
          const progressToken = ctx.mcpReq._meta?.progressToken;
          let step = 0;
          const progress = (message: string) => {
            if (progressToken === undefined) return;
            step += 1;
            void ctx.mcpReq
              .notify({
                method: "notifications/progress",
                params: { progressToken, progress: step, message },
              })
              .catch(() => undefined);
          };
          const outcome = await runTool(tool, args, options, call, progress, caller);
          if (outcome.kind === "input") {
            return inputRequired({
              inputRequests: {
                [ELICIT_KEY]: inputRequired.elicit({
                  message: outcome.question,
                  requestedSchema: outcome.requestedSchema as never,
                }),
              },
              requestState: outcome.requestState,
            });
          }
          return outcome.result;
        },
      );
    }
    return server;
  };
}
