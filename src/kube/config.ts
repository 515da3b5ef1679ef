// Kubeconfig resolution is delegated to @kubernetes/client-node so that KUBECONFIG merging,
// contexts, exec/OIDC plugins and in-cluster config behave exactly as kubectl's do.
import type { KubeConfig } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { advice, option } from "../core/advice.js";
import { ErrorCode, VmsnapError } from "../core/errors.js";

export interface KubeConfigOptions {
  /** Path to a kubeconfig file (overrides KUBECONFIG, like kubectl's --kubeconfig). */
  kubeconfig?: string;
  /** Context name (overrides current-context). */
  context?: string;
  /**
   * Authenticate with this bearer token instead of the context's user (the MCP server's
   * passthrough auth: the caller's own credential, the server's cluster and CA).
   */
  bearerToken?: string;
}

export interface ResolvedKubeConfig {
  kubeConfig: KubeConfig;
  /** The namespace of the chosen context, or "default". */
  namespace: string;
  server: string;
  contextName: string;
}

export async function loadKubeConfig(options: KubeConfigOptions = {}): Promise<ResolvedKubeConfig> {
  // Lazy import: the client library is large and most CLI paths (--help, --version) never need it.
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  // Nothing to load: client-node would fall back to http://localhost:8080 and fail with its own
  // words. kubectl says there is no configuration; so does vmsnap (cluster unreachable, exit 8).
  const home = path.join(homedir(), ".kube", "config");
  if (
    !options.kubeconfig &&
    !process.env.KUBECONFIG &&
    !process.env.KUBERNETES_SERVICE_HOST &&
    !existsSync(home)
  )
    throw new VmsnapError(
      ErrorCode.Unreachable,
      `no kubeconfig: KUBECONFIG is not set and ${home} does not exist (and vmsnap is not running in a cluster)`,
      advice`point vmsnap at the cluster: ${option("kubeconfig")}, or KUBECONFIG (kubectl uses the same)`,
    );
  try {
    if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    const where = options.kubeconfig ?? process.env.KUBECONFIG ?? "~/.kube/config";
    throw new VmsnapError(
      ErrorCode.Unreachable,
      `cannot load the kubeconfig ${where}: ${(err as Error).message}`,
      advice`check ${option("kubeconfig")} / KUBECONFIG (kubectl config view shows what kubectl sees)`,
    );
  }
  if (!kubeConfig.getCurrentCluster()) {
    throw new VmsnapError(
      ErrorCode.Unreachable,
      `the kubeconfig ${options.kubeconfig ?? process.env.KUBECONFIG ?? "~/.kube/config"} has no current cluster`,
      advice`set a current context (kubectl config use-context NAME) or give ${option("context")}`,
    );
  }
  if (options.context) {
    if (!kubeConfig.getContextObject(options.context)) {
      throw new VmsnapError(
        ErrorCode.InvalidInput,
        `context "${options.context}" not found in the kubeconfig`,
        "kubectl config get-contexts lists them",
      );
    }
    kubeConfig.setCurrentContext(options.context);
  }
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  if (options.bearerToken) {
    const caller = new KubeConfig();
    caller.loadFromOptions({
      clusters: [cluster],
      users: [{ name: "bearer", token: options.bearerToken }],
      contexts: [
        { name: "bearer", cluster: cluster.name, user: "bearer", namespace: context?.namespace },
      ],
      currentContext: "bearer",
    });
    return {
      kubeConfig: caller,
      namespace: context?.namespace || "default",
      server: cluster.server,
      contextName: "bearer",
    };
  }
  return {
    kubeConfig,
    namespace: context?.namespace || "default",
    server: cluster.server,
    contextName: kubeConfig.getCurrentContext(),
  };
}
