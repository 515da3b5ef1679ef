// A thin REST client: @kubernetes/client-node supplies credentials and TLS (applyToHTTPSOptions),
// node:https carries the requests. Every object is addressed by its full REST path.
import type * as Https from "node:https";
import type * as Http from "node:http";
import { createSecureContext, type ConnectionOptions } from "node:tls";
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig, type KubeConfigOptions } from "./config.js";
import { loadSimpleConnection } from "./kubeconfig-fast.js";
import { resourcePath, type KubeList, type KubeObject, type ResourceType } from "./resources.js";
import {
  defaultRetryPolicy,
  parseRetryAfter,
  withRetries,
  type RetryNotice,
  type RetryPolicy,
} from "./retry.js";
import type { TokenBucket } from "./rate-limit.js";

// The CommonJS builtins, not an ESM import: importing node:http from ESM builds its ESM facade,
// which evaluates every lazy export (undici's fetch and WebSocket), a measurable part of start-up.
const https = process.getBuiltinModule("node:https") as typeof Https;
const http = process.getBuiltinModule("node:http") as typeof Http;

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: unknown[] };
}

/** An error answered by the API server, with its HTTP code and Status object. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: KubeStatus,
    readonly method: string,
    readonly path: string,
    /** The server's Retry-After (429, 503), in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(status.message || `${method} ${path}: HTTP ${code}`);
    this.name = "KubeApiError";
  }
  get reason(): string | undefined {
    return this.status.reason;
  }
}

/** The cluster could not be reached at all (connection refused, TLS failure, DNS, …). */
export class KubeUnreachableError extends Error {
  constructor(
    readonly server: string,
    cause: unknown,
  ) {
    super(
      `cannot reach the cluster at ${server}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = "KubeUnreachableError";
  }
}

/**
 * The read side of the client. Platform code receives only this and a WriteGuard, so the guard is
 * the only way it can write.
 */
export type KubeReader = Pick<
  KubeClient,
  "get" | "getIfExists" | "list" | "stream" | "getPath" | "defaultNamespace" | "server"
>;

export type PatchType = "merge" | "json" | "apply";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  contentType?: string;
  signal?: AbortSignal;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export class KubeClient {
  private readonly agent: Https.Agent | Http.Agent;
  // Watches hold their socket for minutes: they get their own pool, so that any number of them
  // can never starve ordinary requests.
  private readonly streamAgent: Https.Agent | Http.Agent;
  /** Retries of 429s and transient network errors (src/kube/retry.ts). */
  retryPolicy: RetryPolicy = defaultRetryPolicy();
  /** Told about each retry (the CLI shows it with -v). */
  onRetry?: RetryNotice;
  private readonly reach: { reachedBefore: boolean; lostAt?: number } = { reachedBefore: false };
  /** Client-side rate limit (src/kube/rate-limit.ts): every request, watches included, takes a token. */
  limiter?: Pick<TokenBucket, "take">;
  /** Sent as User-Agent (audit logs show it: e.g. which controller replica made a request). */
  userAgent?: string;

  /** The TLS options of every connection (one secure context for all of them). */
  private readonly tls: TlsOptions;

  private constructor(
    /** undefined when the kubeconfig took the fast path (src/kube/kubeconfig-fast.ts). */
    readonly kubeConfig: KubeConfig | undefined,
    readonly server: string,
    readonly defaultNamespace: string,
    private readonly requestOptions: Https.RequestOptions,
  ) {
    const isHttps = server.startsWith("https:");
    this.tls = isHttps ? sharedTls(requestOptions) : {};
    const tls = this.tls as Https.AgentOptions;
    this.agent = isHttps
      ? new https.Agent({ keepAlive: true, maxSockets: 32, ...tls })
      : new http.Agent({ keepAlive: true, maxSockets: 32 });
    this.streamAgent = isHttps
      ? new https.Agent({ keepAlive: false, maxSockets: Infinity, ...tls })
      : new http.Agent({ keepAlive: false, maxSockets: Infinity });
  }

  static async fromConfig(options: KubeConfigOptions = {}): Promise<KubeClient> {
    // A caller's bearer token (MCP passthrough) replaces the user: client-node builds that config.
    const simple = options.bearerToken ? undefined : loadSimpleConnection(options);
    if (simple)
      return new KubeClient(undefined, simple.server, simple.namespace, simple.requestOptions);
    const resolved = await loadKubeConfig(options);
    return KubeClient.fromKubeConfig(resolved.kubeConfig, resolved.namespace);
  }

  static async fromKubeConfig(kubeConfig: KubeConfig, namespace = "default"): Promise<KubeClient> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const opts: Https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(opts);
    return new KubeClient(kubeConfig, cluster.server.replace(/\/$/, ""), namespace, opts);
  }

  /** Releases keep-alive sockets so a process can exit promptly. */
  close(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }

  request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return this.retrying(method, path, async () => {
      const res = await this.send(method, path, options);
      const text = await readBody(res);
      const code = res.statusCode ?? 0;
      if (code >= 400) throw apiError(res, text, method, path);
      return (text ? JSON.parse(text) : undefined) as T;
    });
  }

  /** Opens a streaming request (used by watches); the caller consumes the response. */
  stream(path: string, options: RequestOptions = {}): Promise<Http.IncomingMessage> {
    return this.retrying("GET", path, async () => {
      const res = await this.send("GET", path, options, this.streamAgent);
      const code = res.statusCode ?? 0;
      if (code >= 400) throw apiError(res, await readBody(res), "GET", path);
      return res;
    });
  }

  private retrying<T>(method: string, path: string, attempt: () => Promise<T>): Promise<T> {
    return withRetries(method, path, attempt, this.retryPolicy, this.reach, this.onRetry);
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    agent: Https.Agent | Http.Agent = this.agent,
  ): Promise<Http.IncomingMessage> {
    await this.limiter?.take();
    const url = new URL(this.server + path + queryString(options.query));
    const headers: Record<string, string> = {
      Accept: "application/json",
      ...(this.requestOptions.headers as Record<string, string> | undefined),
      ...(this.userAgent ? { "User-Agent": this.userAgent } : {}),
    };
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const mod = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        {
          ...this.tls,
          method,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          headers,
          agent,
          signal: options.signal,
        },
        resolve,
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (err.name === "AbortError") reject(err);
        else reject(new KubeUnreachableError(this.server, err));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  // ---- typed conveniences over request() ----

  /** A GET of any path (discovery documents). */
  getPath<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  get<T extends KubeObject = KubeObject>(
    type: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T> {
    return this.request<T>("GET", resourcePath(type, namespace, name));
  }

  /** GET that answers undefined for 404 instead of throwing. */
  async getIfExists<T extends KubeObject = KubeObject>(
    type: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(type, name, namespace);
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  list<T extends KubeObject = KubeObject>(
    type: ResourceType,
    namespace?: string,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    return this.request<KubeList<T>>("GET", resourcePath(type, namespace), {
      query: { ...options },
    });
  }

  create<T extends KubeObject = KubeObject>(
    type: ResourceType,
    body: KubeObject,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.request<T>("POST", resourcePath(type, body.metadata.namespace), {
      body,
      query: writeQuery(options),
    });
  }

  replace<T extends KubeObject = KubeObject>(
    type: ResourceType,
    body: KubeObject,
    options: WriteOptions & { subresource?: string } = {},
  ): Promise<T> {
    return this.request<T>(
      "PUT",
      resourcePath(type, body.metadata.namespace, body.metadata.name, options.subresource),
      { body, query: writeQuery(options) },
    );
  }

  patch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    options: WriteOptions & { patchType?: PatchType; subresource?: string } = {},
  ): Promise<T> {
    const patchType = options.patchType ?? "merge";
    return this.request<T>("PATCH", resourcePath(type, namespace, name, options.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[patchType],
      query: { ...writeQuery(options), ...(patchType === "apply" ? { force: "true" } : {}) },
    });
  }

  delete(
    type: ResourceType,
    name: string,
    namespace?: string,
    options: WriteOptions & {
      propagationPolicy?: "Foreground" | "Background" | "Orphan";
      uid?: string;
    } = {},
  ): Promise<KubeObject | KubeStatus> {
    const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.uid) body.preconditions = { uid: options.uid };
    // With a DeleteOptions body the API server reads the options from the body only; the query
    // copy makes the dry run visible in audit logs like every other write's.
    if (options.dryRun) body.dryRun = ["All"];
    return this.request("DELETE", resourcePath(type, namespace, name), {
      body,
      query: { dryRun: options.dryRun ? "All" : undefined },
    });
  }
}

function writeQuery(options: WriteOptions): Record<string, string | undefined> {
  return {
    dryRun: options.dryRun ? "All" : undefined,
    fieldManager: options.fieldManager ?? "vmsnap",
  };
}

function queryString(query: RequestOptions["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== "") params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : "";
}

function pickTls(opts: Https.RequestOptions): Https.RequestOptions {
  const { ca, cert, key, rejectUnauthorized, servername, pfx, passphrase } = opts;
  const out: Https.RequestOptions = {};
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (pfx !== undefined) out.pfx = pfx;
  if (passphrase !== undefined) out.passphrase = passphrase;
  if (rejectUnauthorized !== undefined) out.rejectUnauthorized = rejectUnauthorized;
  if (servername !== undefined) out.servername = servername;
  return out;
}

/**
 * The TLS options with the CA, client certificate and key parsed once into a secure context that
 * every connection shares — instead of once per connection, which a command that sends its
 * requests in parallel pays for each of them. Material that does not parse is left to each
 * connection, which reports it as before.
 */
type TlsOptions = Https.RequestOptions & Pick<ConnectionOptions, "secureContext">;

function sharedTls(opts: Https.RequestOptions): TlsOptions {
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = pickTls(opts);
  try {
    const secureContext = createSecureContext({ ca, cert, key, pfx, passphrase });
    const out: TlsOptions = { secureContext };
    if (rejectUnauthorized !== undefined) out.rejectUnauthorized = rejectUnauthorized;
    if (servername !== undefined) out.servername = servername;
    return out;
  } catch {
    return pickTls(opts);
  }
}

function readBody(res: Http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

function apiError(
  res: Http.IncomingMessage,
  text: string,
  method: string,
  path: string,
): KubeApiError {
  const code = res.statusCode ?? 0;
  const retryAfter = parseRetryAfter(res.headers["retry-after"]);
  return new KubeApiError(code, parseStatus(text, code), method, path, retryAfter);
}

function parseStatus(text: string, code: number): KubeStatus {
  try {
    const parsed = JSON.parse(text) as KubeStatus;
    if (parsed && typeof parsed === "object") return parsed;
  } catch {
    // not JSON: fall through
  }
  return { code, message: text.trim() || `HTTP ${code}` };
}
