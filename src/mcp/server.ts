// The vmsnap MCP server: one factory, serving both protocol eras over stdio and Streamable HTTP.
import {
  McpServer,
  inputRequired,
  inputResponse,
  type McpRequestContext,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { createRequire } from "node:module";
import { ELICIT_KEY, type McpCallContext } from "./confirmation.js";
import { runTool, type ServerOptions, type ToolDefinition } from "./tool.js";
import { TOOLS } from "./tools/index.js";

const CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";

function version(): string {
  return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
}

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

export function createServerFactory(options: ServerOptions) {
  return (requestCtx: McpRequestContext): McpServer => {
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
          const call: McpCallContext = {
            era: requestCtx.era,
            http: Boolean(requestCtx.requestInfo),
            clientCanElicit: Boolean(caps?.elicitation),
            elicitInput: (params) =>
              ctx.mcpReq.elicitInput(params as Parameters<typeof ctx.mcpReq.elicitInput>[0]),
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
          const outcome = await runTool(tool, args, options, call, progress);
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
