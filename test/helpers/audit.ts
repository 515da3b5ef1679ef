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

export async function assertNoWrites(since: Date, user = VMSNAP_USER.name): Promise<void> {
  const writes = await writesSince(since, user);
  assert.deepEqual(
    writes.map((e) => `${e.verb} ${e.requestURI}`),
    [],
    "a refusal must write nothing",
  );
}
