// Installing vmsnap's least-privilege ClusterRoles from deploy/rbac/ — the very files users apply —
// so that the test suite and the playground run vmsnap with exactly those permissions.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { KubeApiError, type KubeClient } from "../kube/client.js";
import type { KubeObject, ResourceType } from "../kube/resources.js";

export const CLUSTER_ROLES: ResourceType = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterroles",
  kind: "ClusterRole",
  namespaced: false,
};

/** The project's deploy/rbac/ directory (works from src/ under tsx and from dist/). */
export function projectRbacDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "deploy", "rbac");
}

/** Names of the ClusterRoles in deploy/rbac/ (they are fixed: vmsnap-<scope>-<operator|readonly>). */
export const RBAC_ROLES = {
  common: "vmsnap-common-readonly",
  operator: ["vmsnap-kubevirt-operator", "vmsnap-deckhouse-operator", "vmsnap-vmoperator-operator"],
  readonly: ["vmsnap-kubevirt-readonly", "vmsnap-deckhouse-readonly", "vmsnap-vmoperator-readonly"],
} as const;

/** Every platform's operator role (and the common one): what vmsnap needs to do everything. */
export const OPERATOR_ROLES: string[] = [RBAC_ROLES.common, ...RBAC_ROLES.operator];
/** Every platform's read-only role (and the common one). */
export const READONLY_ROLES: string[] = [RBAC_ROLES.common, ...RBAC_ROLES.readonly];

export async function loadRbacRoles(dir = projectRbacDir()): Promise<KubeObject[]> {
  const roles: KubeObject[] = [];
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), "utf8"))) {
      const obj = doc.toJS() as KubeObject | null;
      if (obj?.kind === "ClusterRole") roles.push(obj);
    }
  }
  return roles;
}

/** Creates (or replaces) each ClusterRole. */
export async function installRbacRoles(client: KubeClient, roles: KubeObject[]): Promise<void> {
  for (const role of roles) {
    try {
      await client.create(CLUSTER_ROLES, role);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 409)) {
        throw new Error(`installing ClusterRole ${role.metadata.name}: ${(err as Error).message}`);
      }
      const existing = await client.get(CLUSTER_ROLES, role.metadata.name);
      await client.replace(CLUSTER_ROLES, {
        ...role,
        metadata: { ...role.metadata, resourceVersion: existing.metadata.resourceVersion },
      });
    }
  }
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

/** "verb group/resource" for every permission the roles grant (no wildcards in deploy/rbac/). */
export function grantedPermissions(roles: KubeObject[]): Set<string> {
  const out = new Set<string>();
  for (const role of roles) {
    for (const rule of (role.rules ?? []) as PolicyRule[]) {
      for (const g of rule.apiGroups ?? [])
        for (const r of rule.resources ?? [])
          for (const v of rule.verbs ?? []) out.add(`${v} ${g}/${r}`);
    }
  }
  return out;
}
