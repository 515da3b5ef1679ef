// Reading the API server's audit log (JSON lines, level Request). Tests use it to prove what an
// identity wrote — or that a refusal wrote nothing.
import { readFile } from "node:fs/promises";

export interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  objectRef?: {
    resource?: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
    apiVersion?: string;
    subresource?: string;
  };
  responseStatus?: { code?: number };
  requestObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

export const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);

export function parseAuditLog(text: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as AuditEvent);
    } catch {
      // A line being written concurrently: ignore; sync() guarantees completeness.
    }
  }
  return events;
}

export interface AuditQuery {
  user?: string;
  /** Only events whose request was received at or after this instant. */
  since?: Date;
  writesOnly?: boolean;
  /** Only requests that were not dry runs. */
  excludeDryRun?: boolean;
}

/**
 * Whether the request was a dry run, judged as the API server judges it: a DELETE with a body
 * by the body's dryRun (the query is then ignored), every other request by its query.
 */
export function isDryRun(e: AuditEvent): boolean {
  const body = e.requestObject as { kind?: string; dryRun?: string[] } | undefined;
  if (e.verb === "delete" && body && body.kind === "DeleteOptions")
    return (body.dryRun ?? []).includes("All");
  return /[?&]dryRun=All\b/.test(e.requestURI);
}

export function filterAudit(events: AuditEvent[], query: AuditQuery): AuditEvent[] {
  const since = query.since?.getTime();
  return events.filter((e) => {
    if (e.stage !== "ResponseComplete") return false;
    if (query.user && e.user.username !== query.user) return false;
    if (since !== undefined && Date.parse(e.requestReceivedTimestamp) < since) return false;
    if (query.writesOnly && !WRITE_VERBS.has(e.verb)) return false;
    if (query.excludeDryRun && isDryRun(e)) return false;
    return true;
  });
}

export class AuditLog {
  constructor(readonly path: string) {}

  async events(query: AuditQuery = {}): Promise<AuditEvent[]> {
    const text = await readFile(this.path, "utf8").catch(() => "");
    return filterAudit(parseAuditLog(text), query);
  }

  /** The writes (create/update/patch/delete) a given identity made, optionally since an instant. */
  writesBy(user: string, since?: Date): Promise<AuditEvent[]> {
    return this.events({ user, since, writesOnly: true });
  }
}
