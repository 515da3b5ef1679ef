// A real local control plane: etcd + kube-apiserver on loopback, RBAC on, static-token identities,
// a JSON audit log, and one kubeconfig per identity. Started by tests and by the playground.
import { existsSync, rmSync, watch } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import net from "node:net";
import https from "node:https";
import http from "node:http";
import path from "node:path";
import { stringify } from "yaml";
import { ensureBinaries, type Binaries, type ProgressFn } from "./binaries.js";
import { ManagedProcess, exitOf, onExitSync } from "./processes.js";
import { AuditLog } from "./audit.js";
import {
  ADMIN,
  DEFAULT_IDENTITIES,
  newToken,
  tokenFileLine,
  type Identity,
  type IdentitySpec,
} from "./identities.js";

export interface ControlPlaneOptions {
  /** Working directory for certificates, tokens, logs and kubeconfigs. */
  dir: string;
  identities?: IdentitySpec[];
  progress?: ProgressFn;
  /** Fixed ports (the playground keeps them stable); free ones are picked otherwise. */
  ports?: { etcdClient?: number; etcdPeer?: number; apiserver?: number };
}

export interface ControlPlaneInfo {
  dir: string;
  server: string;
  caFile: string;
  auditLogPath: string;
  etcdUrl: string;
  identities: Record<string, Identity>;
  pids: { etcd?: number; apiserver?: number };
}

const AUDIT_POLICY = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  omitStages: ["RequestReceived"],
  rules: [
    // Health probes from the harness are noise; everything else is kept at Request level.
    { level: "None", nonResourceURLs: ["/healthz*", "/readyz*", "/livez*"] },
    { level: "Request" },
  ],
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() =>
        addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port")),
      );
    });
  });
}

export class ControlPlane {
  private etcd?: ManagedProcess;
  private apiserver?: ManagedProcess;
  private etcdDataDir = "";
  private forgetCleanup?: () => void;
  private startApiserver?: () => Promise<void>;
  info!: ControlPlaneInfo;
  audit!: AuditLog;

  constructor(readonly options: ControlPlaneOptions) {}

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const cp = new ControlPlane(options);
    try {
      await cp.start();
    } catch (err) {
      await cp.stop();
      throw err;
    }
    return cp;
  }

  get identities(): Record<string, Identity> {
    return this.info.identities;
  }

  /** The kubeconfig file of an identity by user name. */
  kubeconfig(user: string): string {
    const id = this.info.identities[user];
    if (!id) throw new Error(`unknown identity ${user}`);
    return id.kubeconfigPath;
  }

  private async start(): Promise<void> {
    const progress = this.options.progress ?? (() => {});
    const bins: Binaries = await ensureBinaries(progress);
    const dir = path.resolve(this.options.dir);
    await mkdir(path.join(dir, "certs"), { recursive: true });
    // etcd on tmpfs when there is one: Debian's etcd 3.4 has no --unsafe-no-fsync.
    const shm = "/dev/shm";
    this.etcdDataDir = existsSync(shm)
      ? path.join(shm, `vmsnap-etcd-${randomBytes(6).toString("hex")}`)
      : path.join(dir, "etcd-data");
    await mkdir(this.etcdDataDir, { recursive: true });
    const dataDir = this.etcdDataDir;
    this.forgetCleanup = onExitSync(() => rmSync(dataDir, { recursive: true, force: true }));

    const ports = {
      etcdClient: this.options.ports?.etcdClient ?? (await freePort()),
      etcdPeer: this.options.ports?.etcdPeer ?? (await freePort()),
      apiserver: this.options.ports?.apiserver ?? (await freePort()),
    };
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    progress(`starting etcd on ${etcdUrl}`);
    this.etcd = new ManagedProcess(
      "etcd",
      bins.etcd,
      [
        `--name=vmsnap`,
        `--data-dir=${this.etcdDataDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=vmsnap=${peerUrl}`,
        `--log-level=warn`,
      ],
      path.join(dir, "etcd.log"),
    );
    await untilReadyOrExit(this.etcd, (signal) =>
      waitHttpOk(`${etcdUrl}/health`, 30_000, {}, signal),
    );

    // Identities and their tokens.
    const specs = this.options.identities ?? DEFAULT_IDENTITIES;
    const identities: Record<string, Identity> = {};
    for (const spec of specs) {
      identities[spec.name] = {
        ...spec,
        token: newToken(),
        // KUBECONFIG is a colon-separated list: ServiceAccount user names (system:serviceaccount:…)
        // must not make the path a list.
        kubeconfigPath: path.join(
          dir,
          `kubeconfig-${spec.name.replace(/[^A-Za-z0-9._-]/g, "_")}.yaml`,
        ),
      };
    }
    await writeFile(
      path.join(dir, "tokens.csv"),
      Object.values(identities).map(tokenFileLine).join("\n") + "\n",
      { mode: 0o600 },
    );

    // Service-account signing key: no controller issues tokens here, but the flags are mandatory.
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await writeFile(path.join(dir, "sa.key"), privateKey.export({ type: "pkcs1", format: "pem" }), {
      mode: 0o600,
    });
    await writeFile(path.join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
    await writeFile(path.join(dir, "audit-policy.yaml"), stringify(AUDIT_POLICY));
    const auditLogPath = path.join(dir, "audit.log");

    const server = `https://127.0.0.1:${ports.apiserver}`;
    progress(`starting kube-apiserver on ${server}`);
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${path.join(dir, "certs")}`,
      `--secure-port=${ports.apiserver}`,
      `--bind-address=127.0.0.1`,
      `--advertise-address=127.0.0.1`,
      `--service-cluster-ip-range=10.0.0.0/24`,
      `--allow-privileged=true`,
      `--authorization-mode=RBAC`,
      `--token-auth-file=${path.join(dir, "tokens.csv")}`,
      `--disable-admission-plugins=ServiceAccount`,
      `--service-account-issuer=${server}/`,
      `--service-account-key-file=${path.join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${path.join(dir, "sa.key")}`,
      `--audit-policy-file=${path.join(dir, "audit-policy.yaml")}`,
      `--audit-log-path=${auditLogPath}`,
      `--audit-log-format=json`,
      `--audit-log-mode=blocking`,
      `--endpoint-reconciler-type=none`,
      `--enable-priority-and-fairness=false`,
      `--profiling=false`,
      `--v=1`,
    ];
    const adminToken = Object.values(identities).find((i) => i.name === ADMIN.name)?.token;
    if (!adminToken) throw new Error(`identity ${ADMIN.name} is required`);
    this.startApiserver = async () => {
      const apiserver = new ManagedProcess(
        "kube-apiserver",
        bins.kubeApiserver,
        apiserverArgs,
        path.join(dir, "apiserver.log"),
      );
      this.apiserver = apiserver;
      await untilReadyOrExit(apiserver, (signal) =>
        waitHttpOk(`${server}/readyz`, 120_000, { Authorization: `Bearer ${adminToken}` }, signal),
      );
    };
    await this.startApiserver();
    const caFile = path.join(dir, "certs", "apiserver.crt");

    for (const id of Object.values(identities)) {
      await writeFile(id.kubeconfigPath, kubeconfigYaml(server, caFile, id), { mode: 0o600 });
    }
    this.info = {
      dir,
      server,
      caFile,
      auditLogPath,
      etcdUrl,
      identities,
      pids: { etcd: this.etcd.pid, apiserver: this.apiserver?.pid },
    };
    this.audit = new AuditLog(auditLogPath);
    await this.bindIdentities(adminToken);
    progress("control plane ready");
  }

  private async bindIdentities(adminToken: string): Promise<void> {
    for (const id of Object.values(this.info.identities)) {
      const bindings: [string, string][] = [
        ...(id.clusterRole
          ? [[`vmsnap-identity-${id.name}`, id.clusterRole] as [string, string]]
          : []),
        ...(id.clusterRoles ?? []).map((role): [string, string] => [
          `vmsnap-identity-${id.name}-${role}`,
          role,
        ]),
      ];
      for (const [name, role] of bindings) {
        await this.adminRequest(
          adminToken,
          "POST",
          "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
            subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: id.name }],
          },
        );
      }
    }
  }

  private adminRequest(token: string, method: string, p: string, body?: unknown): Promise<number> {
    return adminRequest(this.info, token, method, p, body);
  }

  /** Waits until every request completed before this call is in the audit log. */
  syncAudit(timeoutMs = 10_000): Promise<void> {
    return syncAuditLog(this.info, timeoutMs);
  }

  /**
   * Restarts kube-apiserver alone, on the same port with the same certificates; etcd and its
   * data stay. Resolves once the new one is ready. Fault tests use it.
   */
  async restartApiserver(): Promise<void> {
    if (!this.startApiserver) throw new Error("the control plane is not started");
    await this.apiserver?.stop();
    await this.startApiserver();
    this.info.pids.apiserver = this.apiserver?.pid;
  }

  get running(): boolean {
    return Boolean(this.apiserver?.running && this.etcd?.running);
  }

  async stop(): Promise<void> {
    await this.apiserver?.stop();
    await this.etcd?.stop();
    if (this.etcdDataDir) await rm(this.etcdDataDir, { recursive: true, force: true });
    this.forgetCleanup?.();
  }
}

export function kubeconfigYaml(
  server: string,
  caFile: string,
  id: Pick<Identity, "name" | "token">,
  namespace = "default",
): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "vmsnap-playground", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: id.name, user: { token: id.token } }],
    contexts: [
      {
        name: `${id.name}@vmsnap-playground`,
        context: { cluster: "vmsnap-playground", user: id.name, namespace },
      },
    ],
    "current-context": `${id.name}@vmsnap-playground`,
  });
}

/** Waits for readiness, failing fast (and stopping the readiness checks) if the process exits. */
export async function untilReadyOrExit(
  proc: ManagedProcess,
  ready: (signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const abort = new AbortController();
  try {
    await Promise.race([ready(abort.signal), exitOf(proc)]);
  } finally {
    abort.abort();
  }
}

/** Retries a GET until it answers 200 (used only for process readiness, before any watch exists). */
export async function waitHttpOk(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (
    let delay = 50;
    Date.now() < deadline && !signal?.aborted;
    delay = Math.min(delay * 2, 500)
  ) {
    const code = await new Promise<number>((resolve) => {
      const mod = url.startsWith("https:") ? https : http;
      const req = mod.get(url, { headers, rejectUnauthorized: false, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (e) => {
        last = e.message;
        resolve(0);
      });
      req.on("timeout", () => req.destroy());
    });
    if (code === 200) return;
    if (code) last = `HTTP ${code}`;
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}

/** A request as the admin identity that tolerates 404 and 409 (idempotent set-up writes). */
async function adminRequest(
  info: ControlPlaneInfo,
  token: string,
  method: string,
  p: string,
  body?: unknown,
): Promise<number> {
  const ca = await readFile(info.caFile);
  const url = new URL(info.server + p);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        method,
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        ca,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          const code = res.statusCode ?? 0;
          if (code >= 400 && code !== 409 && code !== 404)
            reject(new Error(`${method} ${p}: HTTP ${code}`));
          else resolve(code);
        });
      },
    );
    req.on("error", reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

/**
 * Waits until every request completed before this call is in the audit log: it makes a marker
 * request and waits for the marker to appear (the log is written in completion order).
 */
export async function syncAuditLog(info: ControlPlaneInfo, timeoutMs = 10_000): Promise<void> {
  const admin = Object.values(info.identities).find((i) => i.name === ADMIN.name);
  if (!admin) throw new Error("no admin identity");
  const marker = `vmsnap-audit-marker-${randomBytes(6).toString("hex")}`;
  await adminRequest(info, admin.token, "GET", `/api/v1/namespaces/default/configmaps/${marker}`);
  const found = async () =>
    (await readFile(info.auditLogPath, "utf8").catch(() => "")).includes(marker);
  if (await found()) return;
  await new Promise<void>((resolve, reject) => {
    const watcher = watch(info.auditLogPath, () => {
      void found().then((seen) => seen && finish());
    });
    const timer = setTimeout(() => finish(new Error("audit marker not seen")), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      watcher.close();
      if (err) reject(err);
      else resolve();
    };
    void found().then((ok) => ok && finish());
  });
}
