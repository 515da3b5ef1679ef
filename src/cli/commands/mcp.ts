// vmsnap mcp [--transport stdio|http] [--listen 127.0.0.1:PORT] [--read-only]
//   [--confirmation elicit|token|deny] [--form-timeout MINUTES] [--auth none|passthrough]
//   [--allow-remote-bind] [--allowed-host NAME]…
import type { Command } from "commander";
import { globalsOf } from "../run.js";

interface McpFlags {
  transport: string;
  listen: string;
  readOnly?: boolean;
  confirmation: string;
  allowRemoteBind?: boolean;
  allowedHost: string[];
  formTimeout: string;
  auth: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

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
    .option(
      "--form-timeout <minutes>",
      "how long the human has to answer a confirmation form (and a 2026-07-28 approval lives)",
      "10",
    )
    .option(
      "--auth <mode>",
      "none (the server's kubeconfig credentials) | passthrough (HTTP: each request's bearer token is the Kubernetes credential)",
      "none",
    )
    .option("--allow-remote-bind", "allow --listen on a non-loopback address")
    .option(
      "--allowed-host <name>",
      "a host name clients may use in Host/Origin besides loopback and the bind address (repeatable)",
      collect,
      [],
    )
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
        if (!["none", "passthrough"].includes(opts.auth))
          throw invalidInput(`invalid --auth ${opts.auth}`, "use none or passthrough");
        const minutes = Number(opts.formTimeout);
        if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60)
          throw invalidInput(
            `invalid --form-timeout ${JSON.stringify(opts.formTimeout)}`,
            "give minutes, e.g. 10 (fractions allowed, at most 1440)",
          );
        for (const h of opts.allowedHost)
          if (
            !/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$|^\[?[0-9a-f:.]+\]?$/i.test(
              h,
            )
          )
            throw invalidInput(
              `invalid --allowed-host ${JSON.stringify(h)}`,
              "give a host name or an IP address, without scheme or port",
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
          formTimeoutMs: Math.round(minutes * 60_000),
          auth: opts.auth as "none" | "passthrough",
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
        const http = await serve.serveOverHttp(
          options,
          opts.listen,
          Boolean(opts.allowRemoteBind),
          {
            allowedHosts: opts.allowedHost,
          },
        );
        for (const w of http.warnings) process.stderr.write(`${w}\n`);
        process.stderr.write(
          `vmsnap MCP server on ${http.url} (confirmation: ${options.confirmation}${options.readOnly ? ", read-only" : ""}${options.auth === "passthrough" ? ", auth: passthrough" : ""})\n`,
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
