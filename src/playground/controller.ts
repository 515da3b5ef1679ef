// The policy controller in the playground: deploy/controller/'s Namespace, ServiceAccount and RBAC
// installed as they are (so the controller identity has exactly those permissions), and
// `vmsnap controller` run in-process beside the simulators, as that identity.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { KubeApiError, type KubeClient } from "../kube/client.js";
import { Core, type KubeObject, type ResourceType } from "../kube/resources.js";
import type { ControllerOptions, PolicyController } from "../controller/controller.js";
import { CONTROLLER, CONTROLLER_NAMESPACE } from "./identities.js";
import { CLUSTER_ROLES } from "./rbac.js";

/** The project's deploy/controller/ directory (works from src/ under tsx and from dist/). */
export function projectControllerDir(): string {
  return path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    "..",
    "..",
    "deploy",
    "controller",
  );
}

const rbac = (plural: string, kind: string, namespaced: boolean): ResourceType => ({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural,
  kind,
  namespaced,
});

/** The kinds of deploy/controller/ the playground installs (the CRD comes with crds/). */
const INSTALLED: Record<string, ResourceType> = {
  Namespace: Core.namespaces,
  ServiceAccount: {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
  },
  ClusterRole: CLUSTER_ROLES,
  ClusterRoleBinding: rbac("clusterrolebindings", "ClusterRoleBinding", false),
  Role: rbac("roles", "Role", true),
  RoleBinding: rbac("rolebindings", "RoleBinding", true),
};

export async function loadControllerManifests(dir = projectControllerDir()): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const file of (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort())
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), "utf8"))) {
      const obj = doc.toJS() as KubeObject | null;
      if (obj?.kind) out.push(obj);
    }
  return out;
}

/** Creates (or replaces) deploy/controller/'s Namespace, ServiceAccount and RBAC. */
export async function installControllerRbac(client: KubeClient): Promise<void> {
  for (const obj of await loadControllerManifests()) {
    const type = obj.kind ? INSTALLED[obj.kind] : undefined;
    if (!type) continue;
    try {
      await client.create(type, obj);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 409)) {
        throw new Error(`installing ${obj.kind} ${obj.metadata.name}: ${(err as Error).message}`);
      }
      if (obj.kind === "Namespace" || obj.kind === "ServiceAccount") continue;
      const existing = await client.get(type, obj.metadata.name, obj.metadata.namespace);
      await client.replace(type, {
        ...obj,
        metadata: { ...obj.metadata, resourceVersion: existing.metadata.resourceVersion },
      });
    }
  }
}

/** Runs the controller as deploy/controller/'s ServiceAccount, with its Lease in vmsnap-system. */
export async function startPlaygroundController(
  kubeconfigOf: (user: string) => string,
  options: Partial<ControllerOptions> = {},
): Promise<PolicyController> {
  const { PolicyController } = await import("../controller/controller.js");
  return PolicyController.start({
    kubeconfig: kubeconfigOf(CONTROLLER.name),
    leaseNamespace: CONTROLLER_NAMESPACE,
    ...options,
  });
}
