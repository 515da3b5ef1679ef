// Transports: stdio, and Streamable HTTP bound to loopback unless a remote bind is asked for.
// The HTTP endpoint is exactly /mcp, behind Host and Origin checks (always, also on a remote
// bind: the allowed host names are loopback's, the bind address's and --allowed-host's), and —
// with passthrough auth — behind a bearer token the API server accepts (RFC 9728 metadata tells a
// client without one where to look). 2026-07-28 requests are served per request; 2025-era
// clients get a session (so that a confirmation form can be pushed to them), and a 2025-era
// request without a session is served statelessly (no form can reach it: writes that need a
// confirmation are refused).
import { createHash, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { toNodeHandler } from "@modelcontextprotocol/node";
import {
  OAuthError,
  OAuthErrorCode,
  WebStandardStreamableHTTPServerTransport,
  createMcpHandler,
  getOAuthProtectedResourceMetadataUrl,
  hostHeaderValidationResponse,
  isLegacyRequest,
  legacyStatelessFallback,
  localhostAllowedHostnames,
  originValidationResponse,
  requireBearerAuth,
  type AuthInfo,
} from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { invalidInput } from "../core/errors.js";
import { whoAmI } from "../workflows/whoami.js";
import { createServerFactory } from "./server.js";
import type { ServerOptions } from "./tool.js";

export const MCP_PATH = "/mcp";
const METADATA_PATH = "/.well-known/oauth-protected-resource";
/** A 2025-era session idle this long (no request in flight) is closed. */
const SESSION_IDLE_MS = 30 * 60_000;
/** How long the gate trusts its last SelfSubjectReview of a token. */
const IDENTITY_TTL_MS = 30_000;

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

const isWildcard = (host: string) => host === "0.0.0.0" || host === "::";
const bracketed = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** The host names a request may name (Host) or come from (Origin). */
export function allowedHostnames(bindHost: string, extra: string[] = []): string[] {
  const names = new Set(localhostAllowedHostnames());
  if (!isWildcard(bindHost)) names.add(bracketed(bindHost));
  for (const h of extra) names.add(bracketed(h.toLowerCase()));
  return [...names];
}

export function serveOverStdio(options: ServerOptions): { close: () => Promise<void> } {
  if (options.auth === "passthrough")
    throw invalidInput(
      "--auth passthrough needs --transport http (stdio has no per-request credential)",
      "serve over HTTP, or drop --auth",
    );
  const handle = serveStdio(createServerFactory(options));
  return { close: () => handle.close() };
}

export interface HttpServeOptions {
  /** Host names allowed besides loopback's and the bind address (--allowed-host). */
  allowedHosts?: string[];
  /** The public URL of the endpoint (the protected-resource metadata's `resource`). */
  publicUrl?: URL;
}

/** A web-standard handler for the whole HTTP surface: checks, /mcp, metadata. */
export interface VmsnapHttpHandler {
  fetch: (request: Request) => Promise<Response>;
  close: () => Promise<void>;
}

interface LegacySession {
  transport: WebStandardStreamableHTTPServerTransport;
  /** The caller that opened it (passthrough auth): nobody else may use it. */
  caller?: string;
  lastSeen: number;
  inFlight: number;
}

function notFound(): Response {
  return new Response(`vmsnap MCP endpoint is ${MCP_PATH}\n`, { status: 404 });
}

/** The HTTP surface: Host/Origin checks, exactly /mcp, passthrough auth, both protocol eras. */
export function createHttpHandler(
  options: ServerOptions,
  bindHost: string,
  http: HttpServeOptions = {},
): VmsnapHttpHandler {
  const factory = createServerFactory(options);
  const modern = createMcpHandler(factory, { legacy: "reject" });
  const stateless = legacyStatelessFallback(factory);
  const hosts = allowedHostnames(bindHost, http.allowedHosts);
  const sessions = new Map<string, LegacySession>();
  const passthrough = options.auth === "passthrough";

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, s] of sessions)
      if (s.inFlight === 0 && now - s.lastSeen > SESSION_IDLE_MS) {
        sessions.delete(id);
        void s.transport.close();
      }
  }, 60_000);
  sweep.unref();

  // Who a token is, for a short while: a 2025-era session makes several requests per call (the
  // form's answer is one). The API server still checks the token on every request it serves.
  const known = new Map<string, { username: string; until: number }>();
  const identify = async (token: string): Promise<string | undefined> => {
    const key = createHash("sha256").update(token).digest("hex");
    const hit = known.get(key);
    if (hit && hit.until > Date.now()) return hit.username;
    const who = await whoAmI({
      kubeconfig: options.kubeconfig,
      context: options.context,
      bearerToken: token,
    }).catch((err: Error) => {
      throw new OAuthError(
        OAuthErrorCode.ServerError,
        `cannot reach the Kubernetes API server: ${err.message}`,
      );
    });
    if (!who.ok) return undefined;
    for (const [k, v] of known) if (v.until <= Date.now()) known.delete(k);
    known.set(key, { username: who.username, until: Date.now() + IDENTITY_TTL_MS });
    return who.username;
  };

  const metadataFor = (request: Request) =>
    http.publicUrl ?? new URL(MCP_PATH, new URL(request.url).origin);
  const gate = (request: Request) =>
    requireBearerAuth({
      resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(metadataFor(request)),
      verifier: {
        verifyAccessToken: async (token: string): Promise<AuthInfo> => {
          const username = await identify(token);
          if (username === undefined)
            throw new OAuthError(
              OAuthErrorCode.InvalidToken,
              "the Kubernetes API server does not accept this token",
            );
          // The API server checks the token on every request; this is only the gate's view.
          return {
            token,
            clientId: username,
            scopes: [],
            expiresAt: Math.floor(Date.now() / 1000) + 300,
          };
        },
      },
    })(request);

  async function serveLegacy(request: Request, authInfo?: AuthInfo): Promise<Response> {
    const id = request.headers.get("mcp-session-id");
    if (id) {
      const s = sessions.get(id);
      if (!s || s.caller !== authInfo?.clientId) return new Response(null, { status: 404 });
      s.inFlight++;
      s.lastSeen = Date.now();
      try {
        return await s.transport.handleRequest(request, { authInfo });
      } finally {
        s.inFlight--;
        s.lastSeen = Date.now();
        if (request.method === "DELETE") sessions.delete(id);
      }
    }
    const body: unknown =
      request.method === "POST"
        ? await request
            .clone()
            .json()
            .catch(() => undefined)
        : undefined;
    if ((body as { method?: unknown } | undefined)?.method !== "initialize")
      return stateless(request, { authInfo });
    // A 2025-era initialize: a session, whose connection can carry a confirmation form.
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        sessions.set(sid, {
          transport,
          caller: authInfo?.clientId,
          lastSeen: Date.now(),
          inFlight: 0,
        });
      },
      onsessionclosed: (sid) => {
        sessions.delete(sid);
      },
    });
    const server = factory({ era: "legacy", requestInfo: request, authInfo, session: true });
    await server.connect(transport);
    return transport.handleRequest(request, { authInfo });
  }

  return {
    fetch: async (request: Request): Promise<Response> => {
      const rejected =
        hostHeaderValidationResponse(request, hosts) ?? originValidationResponse(request, hosts);
      if (rejected) return rejected;
      const path = new URL(request.url).pathname;
      if (passthrough && (path === METADATA_PATH || path === `${METADATA_PATH}${MCP_PATH}`)) {
        const resource = metadataFor(request);
        return Response.json({
          resource: resource.href,
          bearer_methods_supported: ["header"],
          resource_name: "vmsnap MCP server",
          resource_documentation:
            "A Kubernetes bearer token (the caller's own: its RBAC applies) in Authorization",
        });
      }
      if (path !== MCP_PATH) return notFound();
      let authInfo: AuthInfo | undefined;
      if (passthrough) {
        const auth = await gate(request);
        if (auth instanceof Response) return auth;
        authInfo = auth;
      }
      if (await isLegacyRequest(request)) return serveLegacy(request, authInfo);
      return modern.fetch(request, { authInfo });
    },
    close: async () => {
      clearInterval(sweep);
      await Promise.all([...sessions.values()].map((s) => s.transport.close()));
      sessions.clear();
      await modern.close();
    },
  };
}

export async function serveOverHttp(
  options: ServerOptions,
  listen: string,
  allowRemote: boolean,
  http: HttpServeOptions = {},
): Promise<{ server: Server; url: string; close: () => Promise<void>; warnings: string[] }> {
  const { host, port } = parseListen(listen);
  if (!isLoopback(host) && !allowRemote) {
    throw invalidInput(
      `refusing to listen on ${host}: the MCP endpoint would be reachable from the network`,
      "bind to 127.0.0.1 (the default), or pass --allow-remote-bind if this is really wanted (and protect it)",
    );
  }
  const handler = createHttpHandler(options, host, http);
  const node = toNodeHandler(handler);
  const server = createServer((req, res) => void node(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  const actualPort = addr && typeof addr === "object" ? addr.port : port;
  const url = `http://${bracketed(host)}:${actualPort}${MCP_PATH}`;
  const warnings: string[] = [];
  if (!isLoopback(host)) {
    warnings.push(
      `warning: listening on ${host}: the MCP endpoint is reachable from the network, over plain HTTP (put TLS in front of it)`,
      `warning: Host/Origin checks allow only: ${allowedHostnames(host, http.allowedHosts).join(", ")} (add names with --allowed-host)`,
    );
    if (options.auth !== "passthrough")
      warnings.push(
        "warning: no authentication: every caller acts with this server's Kubernetes credentials (use --auth passthrough)",
      );
  }
  return {
    server,
    url,
    warnings,
    close: async () => {
      await handler.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
