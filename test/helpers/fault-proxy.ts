// A fault-injecting HTTP proxy in front of a real kube-apiserver: plain HTTP on loopback towards
// the client (through a kubeconfig that points at it), TLS to the API server. Chosen requests
// are answered with a 429, a 410 watch event, or a cut connection; "down" cuts everything until
// "up". Every request and every fault is recorded, so tests assert what vmsnap did about them.
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parse, stringify } from "yaml";
import { kubeconfigYaml, type ControlPlaneInfo } from "../../src/playground/control-plane.js";

export type Fault =
  /** Answer with this status (and Retry-After), the request never reaches the API server. */
  | { kind: "status"; code: number; retryAfter?: number }
  /** Close the connection without forwarding the request. */
  | { kind: "cut-before" }
  /** Forward the request, let the API server process it, then close without an answer. */
  | { kind: "cut-after" }
  /** Answer a watch with an ERROR event carrying 410 Gone (resourceVersion too old). */
  | { kind: "gone" }
  /** Hold the request this long, then forward it (a slow step, to interrupt it meanwhile). */
  | { kind: "delay"; ms: number };

export interface FaultRule {
  method?: string;
  /** Matched against the path (without the query). */
  path: RegExp;
  /** true: only watch requests; false: only non-watch requests; unset: both. */
  watch?: boolean;
  /** true: only dry runs (dryRun in the query); false: only real requests; unset: both. */
  dryRun?: boolean;
  /** The rule applies only once a request like this one has been forwarded. */
  armedBy?: { method: string; path: RegExp; dryRun?: boolean };
  /** Skip this many matching requests first. */
  skip?: number;
  /** How many matching requests get the fault (default 1). */
  times?: number;
  fault: Fault;
  /** After the fault, cut every request until up() ("the network went down here"). */
  thenDown?: boolean;
}

export interface Recorded {
  at: number;
  method: string;
  path: string;
  watch: boolean;
  dryRun: boolean;
  fault?: string;
}

interface ActiveRule extends FaultRule {
  seen: number;
  hit: number;
  /** Requests recorded before the rule was injected do not arm it. */
  from: number;
}

export class FaultProxy {
  readonly requests: Recorded[] = [];
  /** Faults injected so far (each 429, 410, cut request; each connection refused while down). */
  faults = 0;
  private rules: ActiveRule[] = [];
  private isDown = false;
  private readonly sockets = new Set<Socket>();
  private readonly upstreamSockets = new Set<Socket>();
  private readonly ca: Buffer;
  private readonly upstream: URL;
  private readonly agent: https.Agent;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly env: ControlPlaneInfo,
  ) {
    this.ca = readFileSync(env.caFile);
    this.upstream = new URL(env.server);
    this.agent = new https.Agent({ keepAlive: false, ca: this.ca });
  }

  static async start(env: ControlPlaneInfo): Promise<FaultProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const addr = server.address();
    if (!addr || typeof addr !== "object") throw new Error("proxy has no address");
    const proxy = new FaultProxy(server, `http://127.0.0.1:${addr.port}`, env);
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) =>
      proxy.handle(req, res),
    );
    server.on("connection", (s: Socket) => {
      proxy.sockets.add(s);
      s.on("close", () => proxy.sockets.delete(s));
      if (proxy.isDown) {
        proxy.faults++;
        s.destroy();
      }
    });
    return proxy;
  }

  /** A kubeconfig for an identity of the environment, pointing at this proxy. */
  async kubeconfig(user: string, dir: string, namespace = "default"): Promise<string> {
    const id = this.env.identities[user];
    if (!id) throw new Error(`no identity ${user}`);
    const file = path.join(dir, `proxy-${this.url.split(":").pop()}-${user}.kubeconfig`);
    // Plain HTTP on loopback: client-node accepts an http server only without TLS verification.
    const config = parse(kubeconfigYaml(this.url, this.env.caFile, id, namespace)) as {
      clusters: { cluster: Record<string, unknown> }[];
    };
    config.clusters[0]!.cluster = { server: this.url, "insecure-skip-tls-verify": true };
    await writeFile(file, stringify(config), { mode: 0o600 });
    return file;
  }

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, seen: 0, hit: 0, from: this.requests.length });
  }

  /** Removes the rules and brings the network back. */
  reset(): void {
    this.rules = [];
    this.up();
  }

  /** The network goes down: open connections are cut, new ones closed at once. */
  down(): void {
    this.isDown = true;
    for (const s of [...this.sockets, ...this.upstreamSockets]) s.destroy();
  }

  up(): void {
    this.isDown = false;
  }

  get downNow(): boolean {
    return this.isDown;
  }

  /** Recorded requests matching a method and path. */
  matching(method: string, p: RegExp, watch?: boolean): Recorded[] {
    return this.requests.filter(
      (r) => r.method === method && p.test(r.path) && (watch === undefined || r.watch === watch),
    );
  }

  async close(): Promise<void> {
    this.down();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private seenBefore(
    like: NonNullable<FaultRule["armedBy"]>,
    current: Recorded,
    from: number,
  ): boolean {
    return this.requests
      .slice(from)
      .some(
        (r) =>
          r !== current &&
          r.method === like.method &&
          like.path.test(r.path) &&
          (like.dryRun === undefined || like.dryRun === r.dryRun),
      );
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://proxy");
    const watch = url.searchParams.get("watch") === "true";
    const rec: Recorded = {
      at: Date.now(),
      method: req.method ?? "GET",
      path: url.pathname,
      watch,
      dryRun: url.searchParams.has("dryRun"),
    };
    this.requests.push(rec);
    if (this.isDown) {
      rec.fault = "down";
      this.faults++;
      req.socket.destroy();
      return;
    }
    const rule = this.rules.find(
      (r) =>
        (r.method === undefined || r.method === rec.method) &&
        r.path.test(rec.path) &&
        (r.watch === undefined || r.watch === watch) &&
        (r.dryRun === undefined || r.dryRun === rec.dryRun) &&
        (r.armedBy === undefined || this.seenBefore(r.armedBy, rec, r.from)) &&
        r.seen++ >= (r.skip ?? 0) &&
        r.hit < (r.times ?? 1),
    );
    if (!rule) return this.forward(req, res);
    rule.hit++;
    this.faults++;
    const f = rule.fault;
    rec.fault = f.kind === "status" ? String(f.code) : f.kind;
    const after = () => {
      if (rule.thenDown) this.down();
    };
    switch (f.kind) {
      case "delay":
        setTimeout(() => {
          this.forward(req, res);
          after();
        }, f.ms);
        return;
      case "status":
        req.resume();
        res.writeHead(f.code, {
          "Content-Type": "application/json",
          ...(f.retryAfter !== undefined ? { "Retry-After": String(f.retryAfter) } : {}),
        });
        res.end(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            message: `fault proxy: HTTP ${f.code}`,
            reason: f.code === 429 ? "TooManyRequests" : "InternalError",
            code: f.code,
          }),
        );
        return after();
      case "cut-before":
        req.socket.destroy();
        return after();
      case "cut-after":
        this.forward(req, res, () => {
          req.socket.destroy();
          after();
        });
        return;
      case "gone":
        req.resume();
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            type: "ERROR",
            object: {
              kind: "Status",
              apiVersion: "v1",
              status: "Failure",
              message: "too old resource version: 1 (2)",
              reason: "Expired",
              code: 410,
            },
          }) + "\n",
        );
        return after();
    }
  }

  /** Forwards to the API server; onProcessed replaces the answer (the response is dropped). */
  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    onProcessed?: () => void,
  ): void {
    const up = https.request(
      {
        hostname: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.upstream.host },
        agent: this.agent,
        ca: this.ca,
      },
      (upRes) => {
        if (onProcessed) {
          upRes.resume();
          upRes.on("end", onProcessed);
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on("error", () => res.destroy());
      },
    );
    up.on("socket", (s: Socket) => {
      this.upstreamSockets.add(s);
      s.on("close", () => this.upstreamSockets.delete(s));
    });
    up.on("error", () => res.destroy());
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }
}
