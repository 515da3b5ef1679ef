// Connecting real MCP clients to the vmsnap MCP server, three ways: in-process (the same
// createMcpHandler the HTTP transport serves, through handler.fetch), over stdio (the built CLI,
// `vmsnap mcp --transport stdio`) and over Streamable HTTP (a real `vmsnap mcp --transport http`
// child process on a loopback port). Plus the result helpers and audit assertions MCP tests share.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  Client,
  StreamableHTTPClientTransport,
  type CallToolResult,
  type ElicitRequest,
  type ElicitResult,
} from "@modelcontextprotocol/client";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/client/stdio";
import type { z } from "zod";
import { createHttpHandler } from "../../src/mcp/serve.js";
import { TokenStore } from "../../src/mcp/tokens.js";
import type { ServerOptions } from "../../src/mcp/tool.js";
import type { ConfirmationMode } from "../../src/mcp/confirmation.js";
import { ErrorObject } from "../../src/core/schema.js";
import { WRITE_VERBS, type AuditEvent } from "../../src/playground/audit.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { isAccessReview, requestsSince } from "./audit.js";
import { CLI } from "./cli.js";
import { kubeconfigOf } from "./env.js";

export const TOOL_NAMES = [
  "vm_list",
  "vm_snapshot_check",
  "vm_snapshot_list",
  "vm_snapshot_get",
  "vm_snapshot_create",
  "vm_clone_from_snapshot",
  "vm_snapshot_restore",
  "vm_snapshot_delete",
  "vm_snapshot_policy_list",
  "vm_snapshot_policy_create",
  "vm_snapshot_policy_delete",
  "vm_snapshot_prune",
] as const;
export const READ_TOOLS = [
  "vm_list",
  "vm_snapshot_check",
  "vm_snapshot_list",
  "vm_snapshot_get",
  "vm_snapshot_policy_list",
];
export const WRITE_TOOLS = [
  "vm_snapshot_create",
  "vm_clone_from_snapshot",
  "vm_snapshot_restore",
  "vm_snapshot_delete",
  "vm_snapshot_policy_create",
  "vm_snapshot_policy_delete",
  "vm_snapshot_prune",
];

export type Era = "modern" | "legacy";

/** What the simulated human answers to an elicitation form. */
export type ElicitHandler = (request: ElicitRequest) => ElicitResult | Promise<ElicitResult>;

export interface ClientOptions {
  /** modern: 2026-07-28 (versionNegotiation auto); legacy: the 2025 initialize handshake. */
  era?: Era;
  /** Declare form elicitation (default true). */
  elicitation?: boolean;
  /** Answers elicitation/create requests (default: refuses the test — no form expected). */
  onElicit?: ElicitHandler;
}

/** A connected client, the forms it was shown, and how to close everything. */
export interface McpConnection {
  client: Client;
  /** Every elicitation/create request the server made (pushed or fulfilled in a round). */
  forms: ElicitRequest[];
  /** Replaces the simulated human for the next forms. */
  answer(handler: ElicitHandler): void;
  close(): Promise<void>;
}

function newClient(o: ClientOptions): {
  client: Client;
  forms: ElicitRequest[];
  answer: (h: ElicitHandler) => void;
} {
  const elicit = o.elicitation ?? true;
  const client = new Client(
    { name: "vmsnap-tests", version: "1.0.0" },
    {
      capabilities: elicit ? { elicitation: { form: {} } } : {},
      ...(o.era === "legacy" ? {} : { versionNegotiation: { mode: "auto" as const } }),
    },
  );
  const forms: ElicitRequest[] = [];
  let handler: ElicitHandler =
    o.onElicit ??
    (() => {
      throw new Error("no elicitation expected in this test");
    });
  if (elicit)
    client.setRequestHandler("elicitation/create", async (req) => {
      forms.push(req);
      return handler(req);
    });
  return { client, forms, answer: (h) => (handler = h) };
}

/** ServerOptions for an in-process server, as vmsnap-user (the identity the audit log follows). */
export function serverOptions(o: Partial<ServerOptions> & { namespace: string }): ServerOptions {
  return {
    kubeconfig: kubeconfigOf(VMSNAP_USER.name),
    confirmation: "elicit",
    readOnly: false,
    tokens: new TokenStore(),
    ...o,
  };
}

/** Every HTTP request an in-process client sent: its method, headers and body. */
export interface SentRequest {
  method: string;
  headers: Headers;
  body: string;
}

/**
 * In-process: the HTTP surface `vmsnap mcp --transport http` serves (createHttpHandler), called
 * through its fetch face. `sent` records the client's requests (to replay one).
 */
export async function connectInProcess(
  options: ServerOptions,
  o: ClientOptions = {},
): Promise<McpConnection & { sent: SentRequest[]; fetch: (r: Request) => Promise<Response> }> {
  const handler = createHttpHandler(options, "127.0.0.1");
  const sent: SentRequest[] = [];
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: async (url, init) => {
      // As on the wire: an HTTP request names its Host (the server checks it).
      const headers = new Headers(init?.headers);
      headers.set("host", new URL(url).host);
      const request = new Request(url, { ...init, headers });
      sent.push({
        method: request.method,
        headers: new Headers(request.headers),
        body: request.method === "POST" ? await request.clone().text() : "",
      });
      return handler.fetch(request);
    },
  });
  const { client, forms, answer } = newClient(o);
  await client.connect(transport);
  assert.equal(client.getProtocolEra(), o.era ?? "modern");
  return {
    client,
    forms,
    answer,
    sent,
    fetch: (r) => handler.fetch(r),
    close: async () => {
      await client.close().catch(() => undefined);
      await handler.close();
    },
  };
}

export interface McpProcessOptions {
  namespace: string;
  confirmation?: ConfirmationMode;
  readOnly?: boolean;
  /** Defaults to vmsnap-user's kubeconfig. */
  kubeconfig?: string;
  /** HTTP: the --listen address (default 127.0.0.1:0). */
  listen?: string;
  /** More flags for `vmsnap mcp`. */
  args?: string[];
}

function mcpArgs(o: McpProcessOptions, transport: string[]): string[] {
  return [
    CLI,
    "--kubeconfig",
    o.kubeconfig ?? kubeconfigOf(VMSNAP_USER.name),
    "-n",
    o.namespace,
    "mcp",
    ...transport,
    ...(o.confirmation ? ["--confirmation", o.confirmation] : []),
    ...(o.readOnly ? ["--read-only"] : []),
    ...(o.args ?? []),
  ];
}

/** Over stdio: the client spawns `node dist/cli/main.js mcp --transport stdio …`. */
export async function connectStdio(
  o: McpProcessOptions,
  c: ClientOptions = {},
): Promise<McpConnection & { stderr: () => string; pid: () => number | null }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: mcpArgs(o, ["--transport", "stdio"]),
    env: { ...getDefaultEnvironment(), NO_COLOR: "1" },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const { client, forms, answer } = newClient(c);
  await client.connect(transport);
  assert.equal(client.getProtocolEra(), c.era ?? "modern");
  return {
    client,
    forms,
    answer,
    stderr: () => stderr,
    pid: () => transport.pid,
    close: () => client.close(),
  };
}

/** A running `vmsnap mcp --transport http` process. */
export interface HttpServerProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  close: () => Promise<void>;
}

/** Starts `vmsnap mcp --transport http --listen 127.0.0.1:0 …` and waits for its address line. */
export async function startHttpServer(o: McpProcessOptions): Promise<HttpServerProcess> {
  const child = spawn(
    process.execPath,
    mcpArgs(o, ["--transport", "http", "--listen", o.listen ?? "127.0.0.1:0"]),
    {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no address line in 20 s:\n${stderr}`)),
      20_000,
    );
    child.stderr.on("data", (d: Buffer) => {
      if (process.env.VMSNAP_TEST_MCP_STDERR) process.stderr.write(d);
      stderr += d.toString();
      const m = /MCP server on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`vmsnap mcp exited (${code}) before listening:\n${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A client over Streamable HTTP to a running server (with a bearer token, if given). */
export async function connectHttp(
  url: string,
  c: ClientOptions = {},
  token?: string,
): Promise<McpConnection> {
  const { client, forms, answer } = newClient(c);
  await client.connect(
    new StreamableHTTPClientTransport(
      new URL(url),
      token ? { authProvider: { token: () => Promise.resolve(token) } } : {},
    ),
  );
  assert.equal(client.getProtocolEra(), c.era ?? "modern");
  return { client, forms, answer, close: () => client.close() };
}

/** Runs `vmsnap mcp …` to its end (for refusals at start-up). */
export function runMcpProcess(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "mcp", ...args], {
      env: { ...process.env, NO_COLOR: "1", KUBECONFIG: kubeconfigOf(VMSNAP_USER.name) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ---- results ----------------------------------------------------------------------------------

/** The readable text of a result. */
export function textOf(r: CallToolResult): string {
  return r.content
    .filter((c): c is { type: "text"; text: string } => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

export function show(r: CallToolResult): string {
  return `isError=${String(r.isError ?? false)}\n--- text ---\n${textOf(r)}\n--- structured ---\n${JSON.stringify(r.structuredContent, null, 2)}`;
}

/** A successful result: not an error, readable text, structuredContent parsed by the schema. */
export function ok<S extends z.ZodTypeAny>(r: CallToolResult, schema: S): z.infer<S> {
  assert.notEqual(r.isError, true, show(r));
  assert.ok(textOf(r).trim().length > 0, "the result has readable text");
  const parsed = schema.safeParse(r.structuredContent);
  assert.ok(parsed.success, `structuredContent does not match its schema:\n${show(r)}`);
  return parsed.data as z.infer<S>;
}

/**
 * A write tool's successful result: status Done (or DryRun), and the object under `key`
 * validated with its core schema.
 */
export function done<S extends z.ZodTypeAny>(
  r: CallToolResult,
  key: string,
  schema: S,
  status = "Done",
): z.infer<S> {
  assert.notEqual(r.isError, true, show(r));
  assert.ok(textOf(r).trim().length > 0, "the result has readable text");
  const sc = r.structuredContent as Record<string, unknown> | undefined;
  assert.equal(sc?.status, status, show(r));
  const parsed = schema.safeParse(sc?.[key]);
  assert.ok(parsed.success, `structuredContent.${key} does not match its schema:\n${show(r)}`);
  return parsed.data as z.infer<S>;
}

/** A tool error: isError, readable text naming the code, and (write tools) the Error object. */
export function failed(r: CallToolResult, code?: string): ErrorObject | undefined {
  assert.equal(r.isError, true, `expected an error result:\n${show(r)}`);
  const text = textOf(r);
  assert.ok(text.trim().length > 0, "an error has readable text");
  const sc = r.structuredContent as Record<string, unknown> | undefined;
  if (sc === undefined) {
    if (code) assert.match(text, new RegExp(`\\[${code}\\]`), show(r));
    return undefined;
  }
  assert.equal(sc.status, "Error", show(r));
  const error = ErrorObject.parse(sc.error);
  if (code) assert.equal(error.code, code, show(r));
  assert.ok(text.includes(error.message), "the text carries the message");
  return error;
}

export interface Challenge {
  token: string;
  expiresAt: string;
  title: string;
  preview: string;
  requires: string[];
}

/** A token-mode first call: ConfirmationRequired with the plan and a token. */
export function challenge(r: CallToolResult): Challenge {
  assert.notEqual(r.isError, true, show(r));
  const sc = r.structuredContent as Record<string, unknown> | undefined;
  assert.equal(sc?.status, "ConfirmationRequired", show(r));
  const c = sc?.confirmation as Challenge;
  assert.match(c.token, /\S{16,}/);
  assert.ok(Date.parse(c.expiresAt) > Date.now(), "the token expires in the future");
  assert.ok(c.preview.length > 0);
  assert.ok(textOf(r).includes(c.token), "the text shows the token");
  assert.match(textOf(r), /Nothing was changed/);
  return c;
}

/** Calls a tool; a thrown protocol error (e.g. an unknown tool) becomes an isError result. */
export async function callOrError(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ result?: CallToolResult; thrown?: Error }> {
  try {
    return { result: (await client.callTool({ name, arguments: args })) as CallToolResult };
  } catch (err) {
    return { thrown: err as Error };
  }
}

// ---- audit -------------------------------------------------------------------------------------

const inScope = (e: AuditEvent, namespaces: string[]) =>
  e.objectRef?.namespace === undefined
    ? !isAccessReview(e)
    : namespaces.includes(e.objectRef.namespace);

export const describeWrite = (e: AuditEvent) =>
  `${e.verb} ${e.objectRef?.resource ?? "?"}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""} ${e.objectRef?.name ?? ""}`.trim();

/**
 * Whether the API server really treated a write as a dry run. For DELETE, a request body
 * (DeleteOptions) takes precedence over the query: `?dryRun=All` with a body that does not carry
 * `dryRun: ["All"]` is a real deletion, whatever the URL says.
 */
export function effectiveDryRun(e: AuditEvent): boolean {
  const body = e.requestObject as { kind?: string; dryRun?: string[] } | undefined;
  if (e.verb === "delete" && body && typeof body === "object" && body.kind === "DeleteOptions")
    return (body.dryRun ?? []).includes("All");
  return /[?&]dryRun=All\b/.test(e.requestURI);
}

/**
 * Real (non-dry-run) writes by the identity (vmsnap-user) since the instant, in the namespaces or cluster-wide
 * (other test files run concurrently as the same identity in their own namespaces).
 */
export async function writesIn(
  namespaces: string[],
  since: Date,
  user = VMSNAP_USER.name,
): Promise<AuditEvent[]> {
  return (await requestsSince(since, user)).filter(
    (e) => WRITE_VERBS.has(e.verb) && !effectiveDryRun(e) && inScope(e, namespaces),
  );
}

/** A refusal writes nothing: no real write by vmsnap-user in the namespaces since the instant. */
export async function assertNoWritesIn(namespaces: string[], since: Date): Promise<void> {
  assert.deepEqual(
    (await writesIn(namespaces, since)).map(describeWrite),
    [],
    "a refusal must write nothing",
  );
}

/** Every request by vmsnap-user since the instant that concerns the namespaces. */
export async function requestsIn(namespaces: string[], since: Date): Promise<AuditEvent[]> {
  return (await requestsSince(since)).filter(
    (e) => e.objectRef?.namespace !== undefined && namespaces.includes(e.objectRef.namespace),
  );
}

// ---- a counting proxy: proof that no request at all left the server ---------------------------

/**
 * A TCP pass-through to the API server that counts the connections made through it, and a copy
 * of vmsnap-user's kubeconfig pointing at it (TLS is end to end: the certificate is for the
 * loopback address, whatever the port). Zero connections = no request reached the API server.
 */
export async function countingProxy(): Promise<{
  kubeconfig: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const original = kubeconfigOf(VMSNAP_USER.name);
  const text = readFileSync(original, "utf8");
  const m = /server:\s*"?(https?:\/\/)([^:/"\s]+):(\d+)/.exec(text);
  if (!m) throw new Error(`no server address in ${original}`);
  const [, scheme, host, port] = m;
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    count++;
    sockets.add(inbound);
    const outbound = connect(Number(port), host!);
    sockets.add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", end).on("close", end);
    outbound.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const proxyPort = addr && typeof addr === "object" ? addr.port : 0;
  const dir = mkdtempSync(path.join(tmpdir(), "vmsnap-mcp-proxy-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    text.replace(`${scheme}${host}:${port}`, `${scheme}${host}:${proxyPort}`),
    { mode: 0o600 },
  );
  return {
    kubeconfig,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- simulated humans --------------------------------------------------------------------------

export const accept =
  (content: Record<string, string | number | boolean | string[]>): ElicitHandler =>
  () => ({ action: "accept", content });
export const decline: ElicitHandler = () => ({ action: "decline" });
export const cancel: ElicitHandler = () => ({ action: "cancel" });

/** The form's field names (the requested schema's properties). */
export function fieldsOf(req: ElicitRequest): string[] {
  const params = req.params as { requestedSchema?: { properties?: Record<string, unknown> } };
  return Object.keys(params.requestedSchema?.properties ?? {}).sort();
}

export function messageOf(req: ElicitRequest): string {
  return (req.params as { message?: string }).message ?? "";
}

// ---- time ----------------------------------------------------------------------------------------

/**
 * Resolves in the next UTC second (plus a margin): a human takes a moment to answer, and the
 * names vmsnap generates carry second-resolution timestamps — a confirmation must still hold.
 */
export function nextSecond(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 150));
}
