// A plan is a value: what one operation will do, made by its planner before anything is written —
// the exact manifests (in the preview), the facts, what is lost, the confirmation it needs and the
// digest that binds a consent to it. Faces show it, the human consents to it, execute() carries
// it out. Plans are sealed by the planner that made them: execute() acts on no other object.
import { createHash } from "node:crypto";
import type { ConfirmationRequest } from "./confirmation.js";
import { invalidInput } from "./errors.js";

export type Operation =
  | "create"
  | "create-many"
  | "create-disk"
  | "restore"
  | "restore-disk"
  | "clone"
  | "delete"
  | "delete-many"
  | "policy-create"
  | "policy-delete"
  | "prune";

/**
 * What a plan's generated names were made from (the moment, and a restore's counter): planning
 * again with the same pins gives the same names, so that what runs is exactly what was shown,
 * even when the answer comes in a later call (MCP token and 2026-07-28 input rounds).
 */
export interface Pins {
  /** RFC 3339: the moment the names carry. */
  readonly at: string;
  /** A restore's counter for names taken within the same second. */
  readonly attempt?: number;
}

export interface PlanBase<Result, Op extends Operation = Operation> {
  readonly operation: Op;
  readonly title: string;
  /** The exact manifests to be applied, then the facts the human weighs. */
  readonly preview: string;
  readonly facts: readonly string[];
  /** What is lost or risked (warnings shown with the confirmation). */
  readonly lost: readonly string[];
  /** The confirmation it needs; null when the plan writes nothing (e.g. the snapshot exists). */
  readonly confirmation: ConfirmationRequest | null;
  readonly digest: string;
  readonly pins: Pins;
  /** The result as planned: what a dry run reports. */
  readonly planned: Result;
}

/**
 * A digest binding a confirmation to one plan: what the human judges (objects, targets, facts,
 * warnings), never a text that changes by itself (ages).
 */
export function planDigest(subject: unknown): string {
  return createHash("sha256").update(canonicalJson(subject)).digest("hex");
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

const SEALED = new WeakSet<object>();

/** The confirmation a plan needs, by kind; null when it writes nothing. */
export type Needs =
  | { kind: "yes-no"; action: "create" | "clone" }
  | { kind: "typed-name"; action: "delete"; expectedName: string; noun?: string }
  | { kind: "restore"; action: "restore"; expectedName: string; vmRunning: boolean }
  | null;

/** Deleting several snapshots: the human types their number; nothing to confirm for none. */
export const deleteCountNeeds = (count: number): Needs =>
  count
    ? {
        kind: "typed-name",
        action: "delete",
        expectedName: String(count),
        noun: "number of snapshots to delete",
      }
    : null;

export interface PlanSpec<Result, Op extends Operation> {
  operation: Op;
  title: string;
  preview: string;
  facts?: readonly string[];
  lost?: readonly string[];
  needs: Needs;
  /** What the human judges: the digest is made of it (the objects, targets, facts, warnings). */
  subject: unknown;
  pins: Pins;
  planned: Result;
}

/**
 * The one way plans are made: the confirmation request and the digest from the spec, the
 * operation's own parts, sealed (manifests frozen) so that execute() can tell it is genuine.
 */
export function makePlan<Result, Op extends Operation, Parts extends object>(
  spec: PlanSpec<Result, Op>,
  parts: Parts,
  manifests: readonly object[] = [],
): PlanBase<Result, Op> & Parts {
  const digest = planDigest({ operation: spec.operation, subject: spec.subject });
  const lost = Object.freeze([...(spec.lost ?? [])]);
  const { title, preview } = spec;
  const n = spec.needs;
  const confirmation: ConfirmationRequest | null =
    n === null
      ? null
      : n.kind === "yes-no"
        ? { ...n, title, preview, planDigest: digest }
        : { ...n, title, preview, warnings: [...lost], planDigest: digest };
  for (const m of manifests) deepFreeze(m);
  const plan: PlanBase<Result, Op> & Parts = {
    ...parts,
    operation: spec.operation,
    title,
    preview,
    facts: Object.freeze([...(spec.facts ?? [])]),
    lost,
    confirmation,
    digest,
    pins: spec.pins,
    planned: spec.planned,
  };
  SEALED.add(Object.freeze(plan));
  return plan;
}

export function assertSealed(plan: object): void {
  if (!SEALED.has(plan))
    throw invalidInput(
      "not a plan made by a vmsnap planner: nothing was changed",
      "make the plan with the operation's plan function",
    );
}

function deepFreeze(o: object): void {
  Object.freeze(o);
  for (const v of Object.values(o))
    if (v && typeof v === "object" && !Object.isFrozen(v)) deepFreeze(v);
}

export const pinsAt = (now: Date, attempt?: number): Pins =>
  attempt === undefined ? { at: now.toISOString() } : { at: now.toISOString(), attempt };
