// Audit-log assertions: what the vmsnap identity wrote (or did not) during a test.
import assert from "node:assert/strict";
import type { AuditEvent } from "../../src/playground/audit.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { auditLog, syncAudit } from "./env.js";

/** Real (non-dry-run) writes by the identity since the instant, after syncing the log. */
export async function writesSince(since: Date, user = VMSNAP_USER.name): Promise<AuditEvent[]> {
  await syncAudit();
  return auditLog().events({ user, since, writesOnly: true, excludeDryRun: true });
}

/** All requests by the identity since the instant (reads included). */
export async function requestsSince(since: Date, user = VMSNAP_USER.name): Promise<AuditEvent[]> {
  await syncAudit();
  return auditLog().events({ user, since });
}

/**
 * Real writes by the identity since the instant in one namespace or cluster-wide. Test files run
 * two at a time as the same identity, each in its own namespace, so only these are a file's own.
 */
export async function writesIn(
  namespace: string,
  since: Date,
  user = VMSNAP_USER.name,
): Promise<AuditEvent[]> {
  return (await writesSince(since, user)).filter(
    (e) => !e.objectRef?.namespace || e.objectRef.namespace === namespace,
  );
}

export async function assertNoWrites(since: Date, user = VMSNAP_USER.name): Promise<void> {
  const writes = await writesSince(since, user);
  assert.deepEqual(
    writes.map((e) => `${e.verb} ${e.requestURI}`),
    [],
    "a refusal must write nothing",
  );
}
