// The CLI's output formats (-o table|wide|json|yaml|name|jsonpath=…|custom-columns=…) over the
// shared report module: JSON and YAML print the documented objects, `name` prints
// `kind.group/name` lines that kubectl accepts, jsonpath and custom-columns follow kubectl
// (src/report/kubectl.ts), table and wide print the report text in the CLI's words (src/report/).
import { stringify as toYaml } from "yaml";
import { invalidInput } from "../core/errors.js";
import { kubectlResource } from "../core/platform-names.js";
import type * as Kubectl from "../report/kubectl.js";
import { clean, renderText, type OutputObject } from "../report/render.js";
import { cliWords } from "../report/words.js";

export type { OutputObject } from "../report/render.js";
export { humanAge, humanBytes, humanDuration, renderSnapshotTree } from "../report/render.js";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml", "name"] as const;
/** The formats that take a template after `=`, as kubectl's. */
export const TEMPLATE_FORMATS = ["jsonpath", "custom-columns"] as const;
export type OutputFormat =
  (typeof OUTPUT_FORMATS)[number] | `${(typeof TEMPLATE_FORMATS)[number]}=${string}`;

export function parseOutputFormat(s: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(s)) return s as OutputFormat;
  const eq = s.indexOf("=");
  const kind = eq < 0 ? s : s.slice(0, eq);
  if ((TEMPLATE_FORMATS as readonly string[]).includes(kind)) {
    if (eq < 0 || eq === s.length - 1)
      throw invalidInput(
        `-o ${kind} needs a template`,
        kind === "jsonpath"
          ? "use -o jsonpath='{.items[*].name}'"
          : "use -o custom-columns=NAME:.name,VM:.vm",
      );
    return s as OutputFormat;
  }
  const all = [...OUTPUT_FORMATS, ...TEMPLATE_FORMATS.map((t) => `${t}=…`)];
  throw invalidInput(
    `invalid output format ${JSON.stringify(s)}: valid values are ${all.join(", ")}`,
    `use -o ${all.join("|")}`,
  );
}

/** Table-like output, where a header, a preview or a "nothing found" line is meant for people. */
export function isTable(format: OutputFormat): boolean {
  return format === "table" || format === "wide" || format.startsWith("custom-columns=");
}

export interface RenderOptions {
  /** Emit ANSI colors; when false the output never contains an escape sequence. */
  color: boolean;
  /** Reference time for ages (tests pin it); defaults to the current time. */
  now?: Date;
  /** -A was given: show the NAMESPACE column even when every item shares one namespace. */
  allNamespaces?: boolean;
  /** The namespace that was listed (for "No snapshots found in namespace X."). */
  namespace?: string;
  /** --no-headers: tables without their header line. */
  noHeaders?: boolean;
  /** --sort-by: a JSONPath within each item of a list. */
  sortBy?: string;
  /**
   * kubectl's printers (src/report/kubectl.ts), which --sort-by, jsonpath and custom-columns
   * need: loaded by the caller only then (loadKubectlPrinters), so other commands do not load
   * the JSONPath library.
   */
  kubectl?: typeof Kubectl;
}

/** The kubectl printers when this format or --sort-by needs them. */
export async function loadKubectlPrinters(
  format: OutputFormat,
  sortBy: string | undefined,
): Promise<typeof Kubectl | undefined> {
  const needed =
    sortBy !== undefined || format.startsWith("jsonpath=") || format.startsWith("custom-columns=");
  return needed ? import("../report/kubectl.js") : undefined;
}

function printers(opts: RenderOptions): typeof Kubectl {
  if (!opts.kubectl) throw new Error("kubectl printers not loaded (loadKubectlPrinters)");
  return opts.kubectl;
}

export function render(object: OutputObject, format: OutputFormat, opts: RenderOptions): string {
  const obj = opts.sortBy ? printers(opts).sortItems(object, opts.sortBy) : object;
  if (format === "json") return JSON.stringify(obj, null, 2) + "\n";
  // lineWidth 0: long messages stay on one line instead of being folded.
  if (format === "yaml") return toYaml(obj, { lineWidth: 0 });
  if (format === "name") return renderName(obj, opts);
  if (obj.kind !== "Error") {
    if (format.startsWith("jsonpath="))
      return printers(opts).renderJsonPath(obj, format.slice("jsonpath=".length));
    if (format.startsWith("custom-columns=")) {
      const k = printers(opts);
      const columns = k.parseCustomColumns(format.slice("custom-columns=".length));
      return k.renderCustomColumns(obj, columns, opts.noHeaders ?? false);
    }
  }
  return renderText(obj, { ...opts, wide: format === "wide", words: cliWords });
}

// -o name: `<kind>.<group>/<name>` per line, exactly like kubectl, naming the platform's own
// resource so that `kubectl get $(vmsnap list -o name)` works (no namespace: it is the -n one,
// and kubectl omits it under -A too; use -o json when the namespace matters).
function renderName(obj: OutputObject, opts: RenderOptions): string {
  const lines = (names: string[]) => names.map((n) => `${clean(n)}\n`).join("");
  const snapshot = (s: { platform: Parameters<typeof kubectlResource>[0]; disk?: string }) =>
    kubectlResource(s.platform, s.disk !== undefined ? "diskSnapshot" : "snapshot");
  switch (obj.kind) {
    case "VirtualMachineList":
      return lines(obj.items.map((vm) => `${kubectlResource(vm.platform, "vm")}/${vm.name}`));
    case "SnapshotList":
      return lines(obj.items.map((s) => `${snapshot(s)}/${s.name}`));
    case "Snapshot":
      return lines([`${snapshot(obj)}/${obj.name}`]);
    case "Preflight":
      return lines([`${kubectlResource(obj.platform, "vm")}/${obj.vm}`]);
    case "Restore":
      return lines([`restore/${obj.restoreName}`]);
    case "Clone":
      return lines([`clone/${obj.cloneName}`]);
    case "Deletion":
      return lines([`snapshot/${obj.snapshot}`]);
    case "DeletionList":
      return lines(obj.items.map((d) => `snapshot/${d.snapshot}`));
    case "SnapshotBatch":
      return lines(
        obj.items
          .filter((i) => i.result !== "Skipped" && i.result !== "Failed")
          .map((i) => `${kubectlResource(i.platform, "snapshot")}/${i.snapshot}`),
      );
    case "Policy":
      return lines([`snapshotpolicy/${obj.name}`]);
    case "Guard":
      return lines([`snapshot/${obj.snapshot}`]);
    case "PolicyList":
      return lines(obj.items.map((p) => `snapshotpolicy/${p.name}`));
    case "Prune":
      return lines(
        obj.items
          .filter((i) => i.result === "Deleted" || i.result === "Planned")
          .map((i) => `snapshot/${i.snapshot}`),
      );
    case "Error":
      // An error has no name: print it as a human would read it.
      return renderText(obj, { color: opts.color, words: cliWords });
  }
}
