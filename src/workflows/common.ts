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

/**
 * Executes a plan of one object to create (a clone, a new disk): create it, wait for it unless not
 * to be waited for, and report the planned result with the phase reached and the duration.
 */
export async function createAndWait<R extends { phase: string; durationMs: number | null }>(
  session: Session,
  o: { planned: R; manifest: Manifest; progress: string; wait?: () => Promise<string> },
): Promise<R> {
  const started = Date.now();
  session.progress(o.progress);
  await step(() => session.guard.create(o.manifest.type, o.manifest.body));
  const phase = o.wait ? await step(o.wait) : "Pending";
  return { ...o.planned, phase, durationMs: Date.now() - started };
}

/** Labels and annotations a caller adds to what it creates (a snapshot policy's marks). */
export interface Marks {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The manifest with the caller's marks added; the platform's own keys win on a clash. */
export function withMarks(m: Manifest, marks: Marks): Manifest {
  if (!marks.labels && !marks.annotations) return m;
  const meta = m.body.metadata;
  return {
    ...m,
    body: {
      ...m.body,
      metadata: {
        ...meta,
        ...(marks.labels ? { labels: { ...marks.labels, ...meta.labels } } : {}),
        ...(marks.annotations
          ? { annotations: { ...marks.annotations, ...meta.annotations } }
          : {}),
      },
    },
  };
}
