// Kubeconfig resolution is delegated to @kubernetes/client-node so that KUBECONFIG merging,
// contexts, exec/OIDC plugins and in-cluster config behave exactly as kubectl's do.
import type { KubeConfig } from "@kubernetes/client-node";
import { advice, option } from "../core/advice.js";
import { ErrorCode, VmsnapError } from "../core/errors.js";

export interface KubeConfigOptions {
  /** Path to a kubeconfig file (overrides KUBECONFIG, like kubectl's --kubeconfig). */
  kubeconfig?: string;
  /** Context name (overrides current-context). */
  context?: string;
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
  return {
    kubeConfig,
    namespace: context?.namespace || "default",
    server: cluster.server,
    contextName: kubeConfig.getCurrentContext(),
  };
}
