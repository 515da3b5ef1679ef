// Labels and label selectors (pure): the syntax Kubernetes accepts, a metav1.LabelSelector as the
// selector string the API server takes, and matching a selector against an object's labels.
import { invalidInput } from "./errors.js";

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

/** metav1.LabelSelector: every matchLabels entry and every expression must hold (AND). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is invalid (`[prefix/]name`, as apimachinery's IsQualifiedName), if it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (!prefix || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `the prefix of label key ${JSON.stringify(key)} must be a DNS subdomain`;
  if (!name || name.length > 63 || !NAME_PART.test(name))
    return `label key ${JSON.stringify(key)}: the name part must be 1–63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
}

/** Why a label value is invalid, if it is (empty is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63 || !NAME_PART.test(value))
    return `label value ${JSON.stringify(value)} must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
}

/** Labels (or annotation keys) to be written: refused before any request when malformed. */
export function validateLabels(labels: Record<string, string> | undefined, what = "label"): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const problem = labelKeyProblem(k) ?? (what === "label" ? labelValueProblem(v) : undefined);
    if (problem) throw invalidInput(`invalid ${what}: ${problem}`);
  }
}

/** Every problem of a selector; an empty selector (matching everything) is one. */
export function labelSelectorProblems(selector: LabelSelector | undefined): string[] {
  const problems: string[] = [];
  const labels = Object.entries(selector?.matchLabels ?? {});
  const expressions = selector?.matchExpressions ?? [];
  if (labels.length === 0 && expressions.length === 0)
    problems.push("the selector is empty: give matchLabels or matchExpressions");
  for (const [k, v] of labels) {
    const p = labelKeyProblem(k) ?? labelValueProblem(v);
    if (p) problems.push(p);
  }
  for (const e of expressions) {
    const p = labelKeyProblem(e.key);
    if (p) problems.push(p);
    const values = e.values ?? [];
    if ((e.operator === "In" || e.operator === "NotIn") && values.length === 0)
      problems.push(`operator ${e.operator} on ${JSON.stringify(e.key)} needs values`);
    else if ((e.operator === "Exists" || e.operator === "DoesNotExist") && values.length > 0)
      problems.push(`operator ${e.operator} on ${JSON.stringify(e.key)} takes no values`);
    else if (!["In", "NotIn", "Exists", "DoesNotExist"].includes(e.operator))
      problems.push(`unknown operator ${JSON.stringify(e.operator)}`);
    for (const v of values) {
      const vp = labelValueProblem(v);
      if (vp) problems.push(vp);
    }
  }
  return problems;
}

/** The selector as the API server's labelSelector parameter (`k=v,k in (a,b),!k`). */
export function selectorString(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

/** Whether labels satisfy the selector (as the API server decides it for a list). */
export function selectorMatches(
  selector: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const value = l[e.key];
    const values = e.values ?? [];
    if (e.operator === "In" && !(has && values.includes(value!))) return false;
    if (e.operator === "NotIn" && has && values.includes(value!)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/**
 * A selector string (`app=web,tier in (db,cache),!legacy`) as a metav1.LabelSelector: equality
 * terms become matchLabels, the others matchExpressions. Throws on what it cannot read.
 */
export function parseSelectorString(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  // Split on commas outside parentheses.
  const terms: string[] = [];
  let depth = 0;
  let term = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(term);
      term = "";
    } else term += ch;
  }
  terms.push(term);
  for (const raw of terms.map((t) => t.trim())) {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s+(in|notin)\s+\(([^)]*)\)$/.exec(raw)))
      matchExpressions.push({
        key: m[1]!,
        operator: m[2] === "in" ? "In" : "NotIn",
        values: m[3]!
          .split(",")
          .map((v) => v.trim())
          .filter(Boolean),
      });
    else if ((m = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(raw)))
      matchExpressions.push({ key: m[1]!, operator: "NotIn", values: [m[2]!] });
    else if ((m = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(raw))) matchLabels[m[1]!] = m[2]!;
    else if ((m = /^!\s*(\S+)$/.exec(raw)))
      matchExpressions.push({ key: m[1]!, operator: "DoesNotExist" });
    else if ((m = /^(\S+)$/.exec(raw))) matchExpressions.push({ key: m[1]!, operator: "Exists" });
    else
      throw invalidInput(
        `invalid label selector ${JSON.stringify(text)}`,
        "use a label selector such as app=web or 'tier in (db,cache)'",
      );
  }
  const selector: LabelSelector = {
    ...(Object.keys(matchLabels).length ? { matchLabels } : {}),
    ...(matchExpressions.length ? { matchExpressions } : {}),
  };
  const problems = labelSelectorProblems(selector);
  if (problems.length)
    throw invalidInput(`invalid label selector ${JSON.stringify(text)}: ${problems.join("; ")}`);
  return selector;
}
