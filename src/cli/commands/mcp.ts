// vmsnap mcp [--transport stdio|http] [--listen 127.0.0.1:PORT] [--read-only] [--confirmation elicit|token|deny]
import type { Command } from "commander";
import { globalsOf } from "../run.js";

interface McpFlags {
  transport: string;
  listen: string;
  readOnly?: boolean;
  confirmation: string;
  allowRemoteBind?: boolean;
}

export function registerMcp(program: Command): void {
  program
    .command("mcp")
    .description(
      "run the MCP server: dedicated snapshot tools for AI agents, with server-side human confirmation",
    )
    .option("--transport <transport>", "stdio|http", "stdio")
    .option(
      "--listen <host:port>",
      "HTTP address (loopback unless --allow-remote-bind)",
      "127.0.0.1:8765",
    )
    .option("--read-only", "expose only the read-only tools")
    .option(
      "--confirmation <mode>",
      "elicit (ask the human via MCP elicitation) | token (two calls, single-use token) | deny (destructive tools refuse)",
      "elicit",
    )
    .option("--allow-remote-bind", "allow --listen on a non-loopback address")
    .action(async (opts: McpFlags, cmd: Command) => {
      const g = globalsOf(cmd);
      const [
        { invalidInput, VmsnapError },
        { validateName },
        { parsePlatformChoice },
        { TokenStore },
        serve,
      ] = await Promise.all([
        import("../../core/errors.js"),
        import("../../core/names.js"),
        import("../../core/platform-names.js"),
        import("../../mcp/tokens.js"),
        import("../../mcp/serve.js"),
      ]);
      try {
        if (!["stdio", "http"].includes(opts.transport))
          throw invalidInput(`invalid --transport ${opts.transport}`, "use stdio or http");
        if (!["elicit", "token", "deny"].includes(opts.confirmation))
          throw invalidInput(
            `invalid --confirmation ${opts.confirmation}`,
            "use elicit, token or deny",
          );
        if (g.namespace !== undefined) validateName("namespace", g.namespace);
        const options = {
          kubeconfig: g.kubeconfig,
          context: g.context,
          namespace: g.namespace,
          platform: parsePlatformChoice(g.platform),
          confirmation: opts.confirmation as "elicit" | "token" | "deny",
          readOnly: Boolean(opts.readOnly),
          tokens: new TokenStore(),
        };
        if (opts.transport === "stdio") {
          const handle = serve.serveOverStdio(options);
          process.stderr.write(
            `vmsnap MCP server on stdio (confirmation: ${options.confirmation}${options.readOnly ? ", read-only" : ""})\n`,
          );
          const stop = () => void handle.close().finally(() => process.exit(0));
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
          return;
        }
        const http = await serve.serveOverHttp(options, opts.listen, Boolean(opts.allowRemoteBind));
        process.stderr.write(
          `vmsnap MCP server on ${http.url} (confirmation: ${options.confirmation}${options.readOnly ? ", read-only" : ""})\n`,
        );
        const stop = () => void http.close().finally(() => process.exit(0));
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      } catch (err) {
        const e = err instanceof VmsnapError ? err : invalidInput((err as Error).message);
        process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ""}`);
        process.exitCode = e.exitCode;
      }
    });
}
