// Pieces every workflow shares: previews, server-side dry runs, plan digests, error mapping.
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { toVmsnapError } from "../kube/errors.js";
import type { Manifest } from "../platforms/types.js";
import type { KubeObject } from "../kube/resources.js";
import type { Session } from "./session.js";

/** The exact manifests to be applied, as YAML documents, followed by the facts the user weighs. */
export function preview(manifests: Manifest[], facts: string[] = []): string {
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

/**
 * A digest binding a confirmation to one plan: what the human judges (objects, targets, facts,
 * warnings) — never names generated from the clock, so an answer given a second later still
 * matches, while any change of substance does not.
 */
export function planDigest(plan: unknown): string {
  return createHash("sha256").update(canonicalJson(plan)).digest("hex");
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
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

/** A manifest with its generated name left out of the digest (the name is not what is judged). */
export function withoutGeneratedName(body: KubeObject, generated: boolean): unknown {
  return generated ? { ...body, metadata: { ...body.metadata, name: "<generated>" } } : body;
}
