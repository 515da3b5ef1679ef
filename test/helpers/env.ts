// Access for tests to the shared environment started by scripts/run-tests.ts.
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { AuditLog } from "../../src/playground/audit.js";
import { syncAuditLog, type ControlPlaneInfo } from "../../src/playground/control-plane.js";
import { clientFor } from "../../src/playground/environment.js";
import { ADMIN, VMSNAP_USER } from "../../src/playground/identities.js";
import type { KubeClient } from "../../src/kube/client.js";
import { Core } from "../../src/kube/resources.js";

export function testEnv(): ControlPlaneInfo {
  const file = process.env.VMSNAP_TEST_ENV;
  if (!file) throw new Error("VMSNAP_TEST_ENV is not set: run the tests with `npm test`");
  return JSON.parse(readFileSync(file, "utf8")) as ControlPlaneInfo;
}

export function kubeconfigOf(user: string): string {
  const id = testEnv().identities[user];
  if (!id) throw new Error(`no identity ${user}`);
  return id.kubeconfigPath;
}

export const adminKubeconfig = () => kubeconfigOf(ADMIN.name);
export const userKubeconfig = () => kubeconfigOf(VMSNAP_USER.name);

export function adminClient(): Promise<KubeClient> {
  return clientFor(adminKubeconfig());
}

export function auditLog(): AuditLog {
  return new AuditLog(testEnv().auditLogPath);
}

export function syncAudit(): Promise<void> {
  return syncAuditLog(testEnv());
}

/** A fresh namespace per test file: tests never share objects. */
export async function newNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await client.create(Core.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  return name;
}
