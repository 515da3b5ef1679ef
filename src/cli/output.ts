// The CLI's output formats (-o table|wide|json|yaml|name) over the shared report module: JSON and
// YAML print the documented objects, `name` prints kubectl-like lines, table and wide print the
// report text in the CLI's words (src/report/).
import { stringify as toYaml } from "yaml";
import { invalidInput } from "../core/errors.js";
import { clean, renderText, type OutputObject } from "../report/render.js";
import { cliWords } from "../report/words.js";

export type { OutputObject } from "../report/render.js";
export { humanAge, humanBytes, humanDuration, renderSnapshotTree } from "../report/render.js";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml", "name"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(s: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(s)) return s as OutputFormat;
  throw invalidInput(
    `invalid output format ${JSON.stringify(s)}: valid values are ${OUTPUT_FORMATS.join(", ")}`,
    `use -o ${OUTPUT_FORMATS.join("|")}`,
  );
}

export interface RenderOptions {
  /** Emit ANSI colors; when false the output never contains an escape sequence. */
  color: boolean;
  /** Reference time for ages (tests pin it); defaults to the current time. */
  now?: Date;
  /** -A was given: show the NAMESPACE column even when every item shares one namespace. */
  allNamespaces?: boolean;
}

export function render(obj: OutputObject, format: OutputFormat, opts: RenderOptions): string {
  if (format === "json") return JSON.stringify(obj, null, 2) + "\n";
  // lineWidth 0: long messages stay on one line instead of being folded.
  if (format === "yaml") return toYaml(obj, { lineWidth: 0 });
  if (format === "name") return renderName(obj, opts);
  return renderText(obj, { ...opts, wide: format === "wide", words: cliWords });
}

// -o name: `<kind>/<name>` per line, exactly like kubectl (no namespace: it is the -n one, and
// kubectl omits it under -A too; use -o json when the namespace matters).
function renderName(obj: OutputObject, opts: RenderOptions): string {
  const lines = (names: string[]) => names.map((n) => `${clean(n)}\n`).join("");
  switch (obj.kind) {
    case "VirtualMachineList":
      return lines(obj.items.map((vm) => `virtualmachine/${vm.name}`));
    case "SnapshotList":
      return lines(obj.items.map((s) => `snapshot/${s.name}`));
    case "Snapshot":
      return lines([`snapshot/${obj.name}`]);
    case "Preflight":
      return lines([`preflight/${obj.vm}`]);
    case "Restore":
      return lines([`restore/${obj.restoreName}`]);
    case "Clone":
      return lines([`clone/${obj.cloneName}`]);
    case "Deletion":
      return lines([`snapshot/${obj.snapshot}`]);
    case "SnapshotBatch":
      return lines(
        obj.items
          .filter((i) => i.result !== "Skipped" && i.result !== "Failed")
          .map((i) => `snapshot/${i.snapshot}`),
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
