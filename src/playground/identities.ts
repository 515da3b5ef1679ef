// Identities of the local control plane: static bearer tokens (--token-auth-file), each bound to
// a ClusterRole. Adding an identity is one entry here (or one in ControlPlaneOptions.identities).
import { randomBytes } from "node:crypto";
import { OPERATOR_ROLES, RBAC_ROLES, READONLY_ROLES } from "./rbac.js";

export interface IdentitySpec {
  /** User name as the API server (and its audit log) sees it. */
  name: string;
  groups: string[];
  /** ClusterRole bound cluster-wide to this user; none for system:masters members. */
  clusterRole?: string;
  /** Several ClusterRoles bound cluster-wide (e.g. the least-privilege roles of deploy/rbac/). */
  clusterRoles?: string[];
}

export interface Identity extends IdentitySpec {
  token: string;
  kubeconfigPath: string;
}

export const ADMIN: IdentitySpec = { name: "vmsnap-admin", groups: ["system:masters"] };
export const SIMULATOR: IdentitySpec = {
  name: "vmsnap-simulator",
  groups: ["vmsnap:simulators"],
  clusterRole: "cluster-admin",
};
/**
 * kube-controller-manager: the user name the bootstrap RBAC's system:kube-controller-manager
 * binding names. With --use-service-account-credentials it needs no more: each controller then
 * acts as its own kube-system ServiceAccount with its system:controller:* role.
 */
export const KUBE_CONTROLLER_MANAGER: IdentitySpec = {
  name: "system:kube-controller-manager",
  groups: [],
};

/**
 * The CSI snapshot-controller. Upstream deploys it with its own ClusterRole
 * (deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml); its RBAC is not what
 * the playground tests, so it is bound to cluster-admin like the simulators.
 */
export const SNAPSHOT_CONTROLLER: IdentitySpec = {
  name: "vmsnap-snapshot-controller",
  groups: ["vmsnap:upstream-controllers"],
  clusterRole: "cluster-admin",
};

/**
 * The identity vmsnap itself runs as in tests and in the playground: bound only to the operator
 * roles of deploy/rbac/, so that the whole suite proves those roles suffice.
 */
export const VMSNAP_USER: IdentitySpec = {
  name: "vmsnap-user",
  groups: ["vmsnap:users"],
  clusterRoles: OPERATOR_ROLES,
};

/** The read-only identity: bound only to the read-only roles of deploy/rbac/. */
export const READER: IdentitySpec = {
  name: "vmsnap-reader",
  groups: ["vmsnap:readers"],
  clusterRoles: READONLY_ROLES,
};

/**
 * A reader of one platform only: the common and KubeVirt read-only roles of deploy/rbac/, as a
 * cluster whose users may read KubeVirt but not the other platforms served there.
 */
export const KUBEVIRT_READER: IdentitySpec = {
  name: "vmsnap-kubevirt-reader",
  groups: ["vmsnap:readers"],
  clusterRoles: [RBAC_ROLES.common, "vmsnap-kubevirt-readonly"],
};

/** An identity used by one measurement at a time (request budgets): nothing else runs as it. */
export const PROBE: IdentitySpec = {
  name: "vmsnap-probe",
  groups: ["vmsnap:probes"],
  clusterRoles: OPERATOR_ROLES,
};

/** The identity of the fuzz tests (test/fuzz): its audit trail must show no write at all. */
export const FUZZ: IdentitySpec = {
  name: "vmsnap-fuzz",
  groups: ["vmsnap:fuzzers"],
  clusterRoles: OPERATOR_ROLES,
};

/** Where deploy/controller/ runs the policy controller: its namespace and ServiceAccount. */
export const CONTROLLER_NAMESPACE = "vmsnap-system";
export const CONTROLLER_SERVICE_ACCOUNT = "vmsnap-controller";

/**
 * The policy controller (`vmsnap controller`): a token for the user name Kubernetes gives the
 * ServiceAccount of deploy/controller/, so that exactly the RBAC in deploy/controller/ (bound to
 * that ServiceAccount, installed as is) applies to it — and nothing else.
 */
export const CONTROLLER: IdentitySpec = {
  name: `system:serviceaccount:${CONTROLLER_NAMESPACE}:${CONTROLLER_SERVICE_ACCOUNT}`,
  groups: ["system:serviceaccounts", `system:serviceaccounts:${CONTROLLER_NAMESPACE}`],
};

/** Every identity vmsnap runs as in the test suite: the suite-wide audit check covers them all. */
export const VMSNAP_IDENTITIES: IdentitySpec[] = [
  VMSNAP_USER,
  READER,
  KUBEVIRT_READER,
  PROBE,
  FUZZ,
  CONTROLLER,
];

export const DEFAULT_IDENTITIES: IdentitySpec[] = [
  ADMIN,
  SIMULATOR,
  KUBE_CONTROLLER_MANAGER,
  SNAPSHOT_CONTROLLER,
  VMSNAP_USER,
  CONTROLLER,
];

export function newToken(): string {
  return randomBytes(24).toString("hex");
}

/** One line of kube-apiserver's --token-auth-file: token,user,uid,"group1,group2". */
export function tokenFileLine(identity: Identity): string {
  const line = `${identity.token},${identity.name},${identity.name}`;
  return identity.groups.length ? `${line},"${identity.groups.join(",")}"` : line;
}
