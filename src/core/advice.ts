// Advice: what the user can do next, as data. Workflows and platforms say *what* to do (another
// operation with its arguments, or an option of the operation at hand); each face phrases it in
// its own words (src/report/words.ts): the CLI as a command line to paste, the MCP server as a
// tool call with its arguments. Advice never carries a way around a confirmation: a step names
// the operation and its names, and running it asks the human again.

/** Another operation of vmsnap, with every name it needs (absent names are the user's to choose). */
export type Step =
  | { do: "list-vms"; namespace?: string; allNamespaces?: boolean; selector?: string }
  | { do: "check"; namespace: string; vm: string }
  | { do: "list-snapshots"; namespace: string; vm?: string; tree?: boolean }
  | { do: "describe"; namespace: string; snapshot: string }
  | { do: "create"; namespace: string; vm?: string; stop?: boolean }
  | { do: "delete"; namespace: string; snapshot?: string }
  | {
      do: "restore";
      namespace: string;
      vm?: string;
      snapshot?: string;
      /** Stop the running VM for the restore (the human still confirms). */
      stop?: boolean;
      /** false: without the safety snapshot. */
      safetySnapshot?: boolean;
    }
  | { do: "clone"; namespace: string; snapshot: string; target?: string }
  | { do: "restore-disk"; namespace: string; snapshot: string; target?: string }
  | { do: "list-policies"; namespace: string }
  | { do: "describe-policy"; namespace: string; policy: string };

/** The options an operation takes, by meaning (each face has its own spelling). */
export type OptionName =
  | "stop"
  | "consistency"
  | "name"
  | "target"
  | "size"
  | "deadline"
  | "quiesceTimeout"
  | "memory"
  | "safetySnapshot"
  | "selector"
  | "allNamespaces"
  | "kubeconfig"
  | "context"
  | "platform";

/** An option of the operation at hand, with the value to give it (when there is one to advise). */
export interface OptionRef {
  option: OptionName;
  value?: string | boolean;
}

export type AdvicePart = string | Step | OptionRef;
/** Prose with references to steps and options, in reading order. */
export type Advice = readonly AdvicePart[];

/** advice`stop the VM first (${option("stop")})`: prose with structured references. */
export function advice(strings: TemplateStringsArray, ...parts: AdvicePart[]): Advice {
  const out: AdvicePart[] = [];
  strings.forEach((s, i) => {
    if (s) out.push(s);
    if (i < parts.length) out.push(parts[i]!);
  });
  return out;
}

export const option = (name: OptionName, value?: string | boolean): OptionRef =>
  value === undefined ? { option: name } : { option: name, value };

/** A plain string is advice without references. */
export function toAdvice(a: string | Advice | undefined): Advice | undefined {
  if (a === undefined) return undefined;
  return typeof a === "string" ? [a] : a;
}

/** Joins pieces of advice with a separator ("; "), skipping the absent ones. */
export function joinAdvice(parts: (Advice | string | undefined)[], separator = "; "): Advice {
  const out: AdvicePart[] = [];
  for (const p of parts) {
    const a = toAdvice(p);
    if (!a || a.length === 0) continue;
    if (out.length) out.push(separator);
    out.push(...a);
  }
  return out;
}

/** How a face spells steps and options. */
export interface Words {
  step(step: Step): string;
  option(ref: OptionRef): string;
}

export function isStep(p: AdvicePart): p is Step {
  return typeof p === "object" && "do" in p;
}

/** The advice as text, in the face's words. */
export function phrase(a: Advice | string, words: Words): string;
export function phrase(a: Advice | string | undefined, words: Words): string | undefined;
export function phrase(a: Advice | string | undefined, words: Words): string | undefined {
  if (a === undefined) return undefined;
  if (typeof a === "string") return a;
  return a
    .map((p) => (typeof p === "string" ? p : isStep(p) ? words.step(p) : words.option(p)))
    .join("");
}

const quote = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));

/** Neutral words (library callers, logs): the operation and its arguments, no face's syntax. */
export const plainWords: Words = {
  step(s) {
    const { do: op, ...args } = s;
    const list = Object.entries(args)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} ${quote(v)}`);
    return `the ${op} operation${list.length ? ` (${list.join(", ")})` : ""}`;
  },
  option(o) {
    return o.value === undefined ? `the ${o.option} option` : `${o.option}: ${quote(o.value)}`;
  },
};
