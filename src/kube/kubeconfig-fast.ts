// The start-up fast path: a single kubeconfig file whose user authenticates with a token or a
// client certificate is read here with `yaml`, without loading @kubernetes/client-node (≈ 0.8 s
// and 110 MiB on its own). Anything else — several KUBECONFIG files, in-cluster config, exec or
// auth-provider plugins, token files, proxies, impersonation — answers undefined, and the caller
// falls back to client-node, which resolves it exactly as kubectl does.
import { existsSync, readFileSync } from "node:fs";
import type https from "node:https";
import { homedir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import type { KubeConfigOptions } from "./config.js";

export interface SimpleConnection {
  server: string;
  namespace: string;
  /** TLS material and the Authorization header, as client-node's applyToHTTPSOptions sets them. */
  requestOptions: https.RequestOptions;
}

type Entry = Record<string, unknown>;

const CLUSTER_KEYS = new Set([
  "server",
  "certificate-authority",
  "certificate-authority-data",
  "insecure-skip-tls-verify",
  "tls-server-name",
  "extensions",
]);
const USER_KEYS = new Set([
  "token",
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
  "extensions",
]);

/** The `field` object of the one entry of `list` called `name` (contexts[].context, …). */
function named(list: unknown, name: string, field: string): Entry | undefined {
  if (!Array.isArray(list)) return undefined;
  const found = (list as Entry[]).filter((e) => e && e.name === name);
  const value = found.length === 1 ? found[0]![field] : undefined;
  return value && typeof value === "object" ? (value as Entry) : undefined;
}

/** The kubeconfig files kubectl reads, in order: --kubeconfig, else KUBECONFIG's list, else ~/.kube/config. */
export function kubeconfigFiles(
  kubeconfig: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  if (kubeconfig) return [kubeconfig];
  const fromEnv = env.KUBECONFIG;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv.split(path.delimiter).filter(Boolean);
  const home = path.join(homedir(), ".kube", "config");
  return existsSync(home) ? [home] : [];
}

/** The one kubeconfig file kubectl would read, or undefined when the choice is not that simple. */
export function kubeconfigFile(
  options: KubeConfigOptions,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const files = kubeconfigFiles(options.kubeconfig, env);
  return files.length === 1 ? files[0] : undefined;
}

function material(entry: Entry, key: string, dir: string): Buffer | undefined {
  const data = entry[`${key}-data`];
  if (typeof data === "string") return Buffer.from(data, "base64");
  const file = entry[key];
  if (typeof file === "string") return readFileSync(path.resolve(dir, file));
  return undefined;
}

export function loadSimpleConnection(
  options: KubeConfigOptions,
  env: NodeJS.ProcessEnv = process.env,
): SimpleConnection | undefined {
  try {
    const file = kubeconfigFile(options, env);
    if (!file) return undefined;
    const doc = parse(readFileSync(file, "utf8")) as Entry | null;
    if (!doc || typeof doc !== "object") return undefined;
    const contextName = options.context ?? doc["current-context"];
    if (typeof contextName !== "string" || !contextName) return undefined;
    const context = named(doc.contexts, contextName, "context");
    if (!context || typeof context.cluster !== "string") return undefined;
    const cluster = named(doc.clusters, context.cluster, "cluster");
    const user =
      typeof context.user === "string"
        ? (named(doc.users, context.user, "user") ?? {})
        : ({} as Entry);
    if (!cluster || typeof cluster.server !== "string") return undefined;
    if (Object.keys(cluster).some((k) => !CLUSTER_KEYS.has(k))) return undefined;
    if (Object.keys(user).some((k) => !USER_KEYS.has(k))) return undefined;
    const dir = path.dirname(path.resolve(file));
    const requestOptions: https.RequestOptions = {};
    const ca = material(cluster, "certificate-authority", dir);
    if (ca) requestOptions.ca = ca;
    if (cluster["insecure-skip-tls-verify"] === true) requestOptions.rejectUnauthorized = false;
    if (typeof cluster["tls-server-name"] === "string")
      requestOptions.servername = cluster["tls-server-name"];
    const cert = material(user, "client-certificate", dir);
    const key = material(user, "client-key", dir);
    if (cert) requestOptions.cert = cert;
    if (key) requestOptions.key = key;
    if (typeof user.token === "string" && user.token)
      requestOptions.headers = { Authorization: `Bearer ${user.token}` };
    return {
      server: cluster.server.replace(/\/$/, ""),
      namespace:
        typeof context.namespace === "string" && context.namespace ? context.namespace : "default",
      requestOptions,
    };
  } catch {
    // Unreadable or unusual: client-node reports it the way kubectl would.
    return undefined;
  }
}
