// kubectl's output conventions over vmsnap's output objects: `-o jsonpath=TEMPLATE`,
// `-o custom-columns=SPEC`, `--sort-by=EXPR`, `--no-headers`. They follow kubectl's printers
// (k8s.io/client-go/util/jsonpath for templates; k8s.io/cli-runtime/pkg/printers
// customcolumn.go and tabwriter.go; k8s.io/kubectl/pkg/cmd/get/sorter.go), so that a command
// a kubectl user writes for `kubectl get` works here with vmsnap's field names. The JSONPath
// expressions themselves are evaluated by jsonpath-plus (the library @kubernetes/client-node
// uses); only kubectl's template syntax around them ({…}, {range}…{end}, {"literal"}) is parsed
// here. Pure: strings in, strings out.
import { JSONPath } from "jsonpath-plus";
import { invalidInput } from "../core/errors.js";

type Json = unknown;

/** Every value the JSONPath expression (kubectl's relaxed form: `.a.b`, `{.a.b}`, `a.b`) selects. */
function select(expr: string, json: Json): Json[] {
  const path = expr === "" || expr === "." || expr === "@" ? "$" : `$${expr.replace(/^@/, "")}`;
  try {
    return JSONPath({ path, json: json as object, wrap: true, eval: "safe" }) as Json[];
  } catch (err) {
    throw invalidInput(
      `invalid JSONPath ${JSON.stringify(expr)}: ${err instanceof Error ? err.message : String(err)}`,
      "use kubectl's JSONPath syntax, e.g. {.items[*].name}",
    );
  }
}

/** `{.a.b}`, `.a.b` and `a.b` all mean `.a.b`, as kubectl's RelaxedJSONPathExpression. */
function relaxed(expr: string): string {
  let e = expr.trim();
  if (e.startsWith("{") && e.endsWith("}")) e = e.slice(1, -1).trim();
  if (e === "") return "";
  return e.startsWith(".") || e.startsWith("[") || e.startsWith("$") ? e : `.${e}`;
}

/** A value as kubectl's JSONPath printer writes it: strings raw, objects and arrays as JSON. */
function text(value: Json): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// -o jsonpath=TEMPLATE

type Node =
  | { type: "text"; value: string }
  | { type: "field"; expr: string }
  | { type: "range"; expr: string; body: Node[] };

function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{", i);
    if (open < 0) {
      stack.at(-1)!.push({ type: "text", value: template.slice(i) });
      break;
    }
    if (open > i) stack.at(-1)!.push({ type: "text", value: template.slice(i, open) });
    const close = closingBrace(template, open);
    if (close < 0)
      throw invalidInput(
        `invalid jsonpath template ${JSON.stringify(template)}: unclosed {`,
        "close every { with }",
      );
    const inner = template.slice(open + 1, close).trim();
    i = close + 1;
    if (inner.startsWith('"')) {
      stack.at(-1)!.push({ type: "text", value: stringLiteral(inner) });
    } else if (inner === "end") {
      if (stack.length === 1)
        throw invalidInput(
          `invalid jsonpath template ${JSON.stringify(template)}: {end} without {range}`,
          "open each {end} with a {range …}",
        );
      stack.pop();
    } else if (/^range\s/.test(inner)) {
      const body: Node[] = [];
      stack.at(-1)!.push({ type: "range", expr: relaxed(inner.slice(6)), body });
      stack.push(body);
    } else {
      stack.at(-1)!.push({ type: "field", expr: relaxed(inner) });
    }
  }
  if (stack.length > 1)
    throw invalidInput(
      `invalid jsonpath template ${JSON.stringify(template)}: {range} without {end}`,
      "close each {range …} with {end}",
    );
  return root;
}

/** The } that closes the { at `open`, skipping braces inside quoted strings. */
function closingBrace(s: string, open: number): number {
  let quote: string | undefined;
  for (let j = open + 1; j < s.length; j++) {
    const c = s[j];
    if (quote) {
      if (c === "\\") j++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "}") return j;
  }
  return -1;
}

function stringLiteral(inner: string): string {
  try {
    return JSON.parse(inner) as string;
  } catch {
    throw invalidInput(`invalid string ${inner} in jsonpath template`, 'write it as {"\\n"}');
  }
}

function evaluate(nodes: Node[], json: Json): string {
  let out = "";
  for (const n of nodes) {
    if (n.type === "text") out += n.value;
    else if (n.type === "field") out += select(n.expr, json).map(text).join(" ");
    else
      for (const value of select(n.expr, json)) {
        // {range .items[*]} walks the items; {range .items} walks them too, as in kubectl.
        for (const item of Array.isArray(value) && n.expr.endsWith("]") === false ? value : [value])
          out += evaluate(n.body, item);
      }
  }
  return out;
}

/** kubectl get -o jsonpath=TEMPLATE (missing keys print nothing, as kubectl's default). */
export function renderJsonPath(json: Json, template: string): string {
  return evaluate(parseTemplate(template), json);
}

// ---------------------------------------------------------------------------------------------
// -o custom-columns=HEADER:EXPR,…

export interface Column {
  header: string;
  expr: string;
}

export function parseCustomColumns(spec: string): Column[] {
  const columns = spec.split(",").map((part) => {
    const colon = part.indexOf(":");
    if (colon <= 0 || colon === part.length - 1)
      throw invalidInput(
        `invalid custom-columns ${JSON.stringify(spec)}: expected HEADER:JSONPATH, got ${JSON.stringify(part)}`,
        "use -o custom-columns=NAME:.name,VM:.vm",
      );
    return { header: part.slice(0, colon), expr: relaxed(part.slice(colon + 1)) };
  });
  if (columns.length === 0 || spec === "")
    throw invalidInput(
      "custom-columns needs at least one column",
      "use -o custom-columns=NAME:.name",
    );
  return columns;
}

/** The items of a list object, or the object itself: what kubectl prints one row for. */
function rowsOf(obj: Json): Json[] {
  const items = (obj as { items?: unknown }).items;
  return Array.isArray(items) ? items : [obj];
}

/**
 * kubectl get -o custom-columns: one row per item, `<none>` where nothing matches, several
 * matches joined by commas; columns padded as kubectl's tabwriter does (minimum width 6,
 * padding 3).
 */
export function renderCustomColumns(obj: Json, columns: Column[], noHeaders: boolean): string {
  const rows = rowsOf(obj).map((item) =>
    columns.map((c) => {
      const values = select(c.expr, item).filter((v) => v !== undefined);
      return values.length === 0 ? "<none>" : values.map(text).join(",");
    }),
  );
  return tabwrite([...(noHeaders ? [] : [columns.map((c) => c.header)]), ...rows]);
}

/** Columns as k8s.io/cli-runtime's tabwriter lays them out: minwidth 6, padding 3, spaces. */
export function tabwrite(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length + 3, 6)));
  return rows
    .map(
      (r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join("")
          .trimEnd() + "\n",
    )
    .join("");
}

// ---------------------------------------------------------------------------------------------
// --sort-by=EXPR

/** Strings in byte order, as kubectl 1.33's sorter compares them (web-10 before web-2). */
function stringLess(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareValues(a: Json, b: Json): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return stringLess(text(a), text(b));
}

/**
 * The list object with its items sorted by the JSONPath expression (stable; items without the
 * field first, as kubectl). Objects that are not lists are returned as they are.
 */
export function sortItems<T>(obj: T, expr: string): T {
  const items = (obj as { items?: unknown }).items;
  if (!Array.isArray(items)) return obj;
  const e = relaxed(expr);
  if (e === "") throw invalidInput("--sort-by needs a JSONPath", "use e.g. --sort-by=.createdAt");
  const keyed = items.map((item: Json) => ({ item, key: select(e, item)[0] }));
  keyed.sort((a, b) => compareValues(a.key, b.key));
  return { ...obj, items: keyed.map((k) => k.item) };
}
