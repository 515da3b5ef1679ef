// The controller's only calls into vmsnap's library (src/index.ts): snapshots are created and
// deleted by the same workflows as every face — names validated, preflight, server-side dry
// run, the confirmation checked by core's verifyConfirmation, the write guard — with the
// controller's own allowed writes. A policy is the human's standing consent: the confirmation
// port below answers yes to creating the policy's snapshots and types the name of exactly the
// snapshots retention chose, and nothing else (never a restore).
//
// Kept in one module on purpose: when the library's shape changes, this is the file to adapt.
import {
  ErrorCode,
  Session,
  VmsnapError,
  createSnapshotsBySelector,
  deleteSnapshot,
  type ConfirmationPort,
} from "../index.js";
import type { PlatformName } from "../kube/discovery.js";
import { CONTROLLER_ALLOWED_WRITES } from "../kube/write-guard.js";

export interface LibraryConnection {
  kubeconfig?: string;
  context?: string;
  /** User-Agent of the requests (names the replica in audit logs). */
  userAgent: string;
  now: () => Date;
}

/** What a policy consents to in one call: creating its snapshots, deleting exactly these. */
export function standingConsent(consent: {
  create?: boolean;
  deleteNames?: ReadonlySet<string>;
}): ConfirmationPort {
  return {
    confirm: async (request) => {
      if (request.kind === "yes-no" && request.action === "create" && consent.create)
        return { confirmed: true };
      if (request.kind === "typed-name" && consent.deleteNames?.has(request.expectedName))
        return { confirmed: true, typedName: request.expectedName };
      return { confirmed: false };
    },
  };
}

function open(
  conn: LibraryConnection,
  namespace: string,
  confirmation: ConfirmationPort,
  platform: PlatformName | "auto" = "auto",
): Promise<Session> {
  return Session.open({
    kubeconfig: conn.kubeconfig,
    context: conn.context,
    namespace,
    platform,
    confirmation,
    now: conn.now,
    userAgent: conn.userAgent,
    allowedWrites: CONTROLLER_ALLOWED_WRITES,
  });
}

export interface SnapshotRunRequest {
  namespace: string;
  /** Label selector string of the VMs. */
  selector: string;
  nameFor: (vm: { namespace: string; name: string }) => string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  consistency?: "required" | "best-effort";
  keepIp?: "always" | "never";
  memory?: boolean;
  quiesceTimeout?: string;
  description?: string;
  deadlineMs?: number;
  parallel?: number;
}

export interface SnapshotRunItem {
  vm: string;
  platform: string;
  snapshot: string;
  /** Created: the create request succeeded; Skipped: refused before any write; Failed: the write failed. */
  result: "Created" | "Skipped" | "Failed";
  message?: string;
}

/** Creates the policy's snapshots of every matching VM (not waiting for them to be ready). */
export async function takeSnapshots(
  conn: LibraryConnection,
  req: SnapshotRunRequest,
): Promise<{ items: SnapshotRunItem[]; noMatch: boolean }> {
  const session = await open(conn, req.namespace, standingConsent({ create: true }));
  try {
    const { batch } = await createSnapshotsBySelector(session, {
      selector: req.selector,
      nameFor: req.nameFor,
      labels: req.labels,
      annotations: req.annotations,
      consistency: req.consistency,
      keepIp: req.keepIp,
      memory: req.memory,
      quiesceTimeout: req.quiesceTimeout,
      description: req.description,
      deadlineMs: req.deadlineMs,
      parallel: req.parallel,
      wait: false,
    });
    return {
      noMatch: false,
      items: batch.items.map((i) => ({
        vm: i.vm,
        platform: i.platform,
        snapshot: i.snapshot,
        result: i.result === "Skipped" ? "Skipped" : i.result === "Failed" ? "Failed" : "Created",
        ...(i.message ? { message: i.message } : {}),
      })),
    };
  } catch (err) {
    // The bulk workflow refuses a selector that matches nothing: for a policy that is a state.
    if (err instanceof VmsnapError && err.code === ErrorCode.NotFound)
      return { items: [], noMatch: true };
    throw err;
  } finally {
    session.close();
  }
}

export interface DeletionOutcome {
  name: string;
  deleted: boolean;
  /** Already gone (another replica or a user deleted it): not an error. */
  gone?: boolean;
  message?: string;
}

/** Deletes exactly these snapshots of one platform in one namespace, one by one. */
export async function deleteSnapshots(
  conn: LibraryConnection,
  platform: PlatformName,
  namespace: string,
  names: string[],
): Promise<DeletionOutcome[]> {
  if (names.length === 0) return [];
  const session = await open(
    conn,
    namespace,
    standingConsent({ deleteNames: new Set(names) }),
    platform,
  );
  const out: DeletionOutcome[] = [];
  try {
    for (const name of names) {
      try {
        await deleteSnapshot(session, { snapshot: name, wait: false });
        out.push({ name, deleted: true });
      } catch (err) {
        const gone = err instanceof VmsnapError && err.code === ErrorCode.NotFound;
        out.push({
          name,
          deleted: false,
          ...(gone ? { gone } : {}),
          message: (err as Error).message,
        });
      }
    }
  } finally {
    session.close();
  }
  return out;
}
