// Identities of the local control plane: static bearer tokens (--token-auth-file), each bound to
// a ClusterRole. Adding an identity is one entry here (or one in ControlPlaneOptions.identities).
import { randomBytes } from "node:crypto";

export interface IdentitySpec {
  /** User name as the API server (and its audit log) sees it. */
  name: string;
  groups: string[];
  /** ClusterRole bound cluster-wide to this user; none for system:masters members. */
  clusterRole?: string;
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
/** The identity vmsnap itself runs as in tests; the least-privilege variant comes with deploy/rbac. */
export const VMSNAP_USER: IdentitySpec = {
  name: "vmsnap-user",
  groups: ["vmsnap:users"],
  clusterRole: "cluster-admin",
};

/** A read-only identity for tests of forbidden writes (its ClusterRole is created by the test runner). */
export const READER: IdentitySpec = {
  name: "vmsnap-reader",
  groups: ["vmsnap:readers"],
  clusterRole: "vmsnap-test-reader",
};

/** An identity used by one measurement at a time (request budgets): nothing else runs as it. */
export const PROBE: IdentitySpec = {
  name: "vmsnap-probe",
  groups: ["vmsnap:probes"],
  clusterRole: "cluster-admin",
};

export const DEFAULT_IDENTITIES: IdentitySpec[] = [ADMIN, SIMULATOR, VMSNAP_USER];

export function newToken(): string {
  return randomBytes(24).toString("hex");
}

/** One line of kube-apiserver's --token-auth-file: token,user,uid,"group1,group2". */
export function tokenFileLine(identity: Identity): string {
  return `${identity.token},${identity.name},${identity.name},"${identity.groups.join(",")}"`;
}
