// Narrow accessors over the raw JSON of platform objects, so platform code never digs into
// untyped values without a check; and the small pieces every platform reports alike.
import { advice } from "../core/advice.js";
import { nameNotFound, type VmsnapError } from "../core/errors.js";
import type { Snapshot, VirtualMachine } from "../core/schema.js";
import type { KubeObject } from "../kube/resources.js";
import { compareStrings } from "../core/order.js";

export type Json = Record<string, unknown>;

export const obj = (v: unknown): Json =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {};
export const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** status.conditions[type]. */
export function condition(o: KubeObject | undefined, type: string): Json | undefined {
  return arr(obj(o?.status).conditions).find((c) => c.type === type);
}

/** "reason: message" of a condition, whichever parts it has. */
export function conditionText(c: Json | undefined): string | undefined {
  if (!c) return undefined;
  const parts = [str(c.reason), str(c.message)].filter(Boolean);
  return parts.length ? parts.join(": ") : undefined;
}

/** status.conditions as the neutral Condition list (optional fields left out when empty). */
export function conditionsOf(status: Json): Snapshot["conditions"] {
  return arr(status.conditions).map((c) => ({
    type: str(c.type) ?? "",
    status: str(c.status) ?? "",
    ...(str(c.reason) ? { reason: str(c.reason) } : {}),
    ...(str(c.message) ? { message: str(c.message) } : {}),
  }));
}

/** Objects oldest first, by the API server's creation time (the newest is `.at(-1)`). */
export const byCreationTimestamp = (a: KubeObject, b: KubeObject) =>
  compareStrings(a.metadata.creationTimestamp ?? "", b.metadata.creationTimestamp ?? "");

/** The order of listed VMs: namespace, then name. */
export const byVmOrder = (a: VirtualMachine, b: VirtualMachine) =>
  compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);

/** The order of listed snapshots: namespace, then age (oldest first), then name. */
export const bySnapshotOrder = (a: Snapshot, b: Snapshot) =>
  compareStrings(a.namespace, b.namespace) ||
  compareStrings(a.createdAt ?? "", b.createdAt ?? "") ||
  compareStrings(a.name, b.name);

/** A VM that is not there: NotFound, advising the list of the namespace's VMs. */
export function vmNotFound(namespace: string, name: string): VmsnapError {
  return nameNotFound(
    { kind: "VM", namespace, name },
    `VirtualMachine ${namespace}/${name} not found`,
    advice`list the VMs with ${{ do: "list-vms", namespace }}`,
  );
}
