// "Did you mean" for a VM or snapshot name that was not found (issue 14): the close names in the
// same namespace, and the namespaces where that exact name exists. One read: the list that
// `vms -A` / `list -A` make (one request per platform), or, where the identity may not list
// every namespace, the namespace's own. Advice, phrased by each face (CLI: a command line; MCP: a
// tool call) — and only read-only steps (describe, check), never a write.
import { joinAdvice, type Advice, type AdvicePart } from "../core/advice.js";
import { VmsnapError, missingNameOf, type MissingName } from "../core/errors.js";
import { closeNames } from "../core/suggest.js";
import type { Session } from "./session.js";

interface Named {
  namespace: string;
  name: string;
}

async function candidates(session: Session, m: MissingName): Promise<Named[] | undefined> {
  const read = (namespace: string | undefined) =>
    Promise.all(
      session.platforms.map((p) =>
        m.kind === "VM" ? p.listVms({ namespace }) : p.listSnapshots({ namespace }),
      ),
    ).then((lists) => lists.flat() as Named[]);
  try {
    return await read(undefined);
  } catch {
    // Forbidden cluster-wide (a namespaced Role): the namespace alone.
    return read(m.namespace).catch(() => undefined);
  }
}

/** The advice of a not-found error, with the close names first; other errors as they are. */
export async function withSuggestions(session: Session, err: unknown): Promise<unknown> {
  const m = missingNameOf(err);
  if (!m) return err;
  const found = await candidates(session, m);
  if (!found) return err;
  const advice = suggestionAdvice(m, found);
  if (!advice) return err;
  const e = err as VmsnapError;
  return new VmsnapError(e.code, e.message, joinAdvice([advice, e.advice]), e.details);
}

/** "did you mean a or b?", and where the exact name is (as a read-only step there). */
export function suggestionAdvice(m: MissingName, found: readonly Named[]): Advice | undefined {
  const close = closeNames(
    m.name,
    found.filter((f) => f.namespace === m.namespace).map((f) => f.name),
  );
  const elsewhere = [
    ...new Set(
      found.filter((f) => f.name === m.name && f.namespace !== m.namespace).map((f) => f.namespace),
    ),
  ].sort();
  const parts: AdvicePart[] = [];
  if (close.length) parts.push(`did you mean ${close.join(" or ")}?`);
  if (elsewhere.length) {
    if (parts.length) parts.push(" ");
    const what = m.kind === "VM" ? `a VM named ${m.name}` : `a snapshot named ${m.name}`;
    parts.push(
      `${what} is in namespace${elsewhere.length > 1 ? "s" : ""} ${elsewhere.slice(0, 5).join(", ")}${elsewhere.length > 5 ? ", …" : ""}: `,
      m.kind === "VM"
        ? { do: "check", namespace: elsewhere[0]!, vm: m.name }
        : { do: "describe", namespace: elsewhere[0]!, snapshot: m.name },
    );
  }
  return parts.length ? parts : undefined;
}
