// Transports: stdio, and Streamable HTTP bound to loopback unless a remote bind is asked for.
import { createServer, type Server } from "node:http";
import {
  localhostHostValidation,
  localhostOriginValidation,
  toNodeHandler,
} from "@modelcontextprotocol/node";
import { createMcpHandler } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { invalidInput } from "../core/errors.js";
import { createServerFactory } from "./server.js";
import type { ServerOptions } from "./tool.js";

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535)
    throw invalidInput(
      `invalid --listen ${JSON.stringify(listen)}`,
      "use HOST:PORT, e.g. 127.0.0.1:8765",
    );
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function serveOverStdio(options: ServerOptions): { close: () => Promise<void> } {
  const handle = serveStdio(createServerFactory(options));
  return { close: () => handle.close() };
}

export async function serveOverHttp(
  options: ServerOptions,
  listen: string,
  allowRemote: boolean,
): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const { host, port } = parseListen(listen);
  if (!isLoopback(host) && !allowRemote) {
    throw invalidInput(
      `refusing to listen on ${host}: the MCP endpoint would be reachable from the network`,
      "bind to 127.0.0.1 (the default), or pass --allow-remote-bind if this is really wanted (and protect it)",
    );
  }
  const handler = createMcpHandler(createServerFactory(options));
  const node = toNodeHandler(handler);
  // Host/Origin checks stop DNS rebinding against a loopback endpoint.
  const validateHost = isLoopback(host) ? localhostHostValidation() : undefined;
  const validateOrigin = isLoopback(host) ? localhostOriginValidation() : undefined;
  const server = createServer((req, res) => {
    if (validateHost && !validateHost(req, res)) return;
    if (validateOrigin && !validateOrigin(req, res)) return;
    if (!req.url?.startsWith("/mcp")) {
      res.writeHead(404).end("vmsnap MCP endpoint is /mcp\n");
      return;
    }
    void node(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  const actualPort = addr && typeof addr === "object" ? addr.port : port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}/mcp`;
  return {
    server,
    url,
    close: async () => {
      await handler.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
