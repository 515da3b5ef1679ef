// Pieces every workflow shares: previews, server-side dry runs, error mapping, ages.
import { stringify } from "yaml";
import { toVmsnapError } from "../kube/errors.js";
import type { Manifest } from "../platforms/types.js";
import type { Session } from "./session.js";

/** The exact manifests to be applied, as YAML documents, followed by the facts the user weighs. */
export function preview(manifests: Manifest[], facts: readonly string[] = []): string {
  const docs = manifests.map((m) => stringify(m.body).trimEnd()).join("\n---\n");
  return [docs, ...(facts.length ? ["", ...facts] : [])].join("\n");
}

/** Validates each manifest with the real API server (dryRun=All) through the write guard. */
export async function dryRun(session: Session, manifests: Manifest[]): Promise<void> {
  for (const m of manifests) {
    try {
      await session.guard.create(m.type, m.body, { dryRun: true });
    } catch (err) {
      throw toVmsnapError(err);
    }
  }
}

/** Runs a workflow step, mapping API and transport errors to typed vmsnap errors. */
export async function step<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toVmsnapError(err);
  }
}

export function ageText(seconds: number | null): string {
  if (seconds === null) return "unknown";
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m${seconds % 60}s`;
  return `${seconds}s`;
}
