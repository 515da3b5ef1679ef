// Audit-log assertions: what the vmsnap identity wrote (or did not) during a test.
import type { AuditEvent } from "../../src/playground/audit.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { auditLog, syncAudit } from "./env.js";

/**
 * An access review (whoami, can-i): "created", cluster-scoped, but stores nothing. Any test file
 * running as the same identity may make one, so a file never counts them as its own writes.
 */
export const isAccessReview = (e: AuditEvent): boolean =>
  /^(selfsubject|selfsubjectaccess|selfsubjectrules|subjectaccess|localsubjectaccess)reviews$/.test(
    e.objectRef?.resource ?? "",
  );

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
 * Real writes by the identity since the instant in one namespace or cluster-wide (access reviews
 * aside). Test files run two at a time as the same identity, each in its own namespace, so only
 * these are a file's own.
 */
export async function writesIn(
  namespace: string,
  since: Date,
  user = VMSNAP_USER.name,
): Promise<AuditEvent[]> {
  return (await writesSince(since, user)).filter(
    (e) => (!e.objectRef?.namespace || e.objectRef.namespace === namespace) && !isAccessReview(e),
  );
}
