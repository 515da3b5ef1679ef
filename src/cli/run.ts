// Running one CLI command: global options → session (with the CLI confirmation port and
// progress) → workflow → rendered result; errors → message (or JSON Error) and the exit code.
import type { Command } from "commander";
import { parseDuration } from "../core/duration.js";
import { invalidInput } from "../core/errors.js";
import { validateName, type NameKind } from "../core/names.js";
import { API_VERSION } from "../core/api-version.js";
import type { ErrorObject } from "../core/schema.js";
import type { Session } from "../workflows/session.js";
import type { OutputObject } from "./output.js";

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  platform?: string;
  output?: string;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export interface ConfirmFlags {
  yes?: boolean;
  confirm?: string;
  stop?: boolean;
}

export interface CommandResult {
  object: OutputObject;
  /** Shown before the object in table/wide output (dry-run previews). */
  preface?: string;
  exitCode?: number;
  allNamespaces?: boolean;
  /** Replaces the table/wide rendering (e.g. `list --tree`). */
  text?: string;
}

export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Executes a command body with a session, renders its result, sets the exit code. */
/** Names given on the command line, validated before any request is sent (SPEC §3.1). */
export type NameArgs = [NameKind, string | undefined][];

export async function runCommand(
  cmd: Command,
  flags: ConfirmFlags,
  body: (session: Session) => Promise<CommandResult>,
  names: NameArgs = [],
  /** Checks of flag values, run (like the names) before any request is sent. */
  validate: () => void = () => {},
): Promise<void> {
  const g = globalsOf(cmd);
  // Lazy imports keep `--help` and `--version` fast.
  const [
    { parseOutputFormat, render },
    { Session },
    { CliConfirmation },
    { Progress },
    { parsePlatformChoice },
    { toVmsnapError },
  ] = await Promise.all([
    import("./output.js"),
    import("../workflows/session.js"),
    import("./confirmation.js"),
    import("./progress.js"),
    import("../platforms/index.js"),
    import("../kube/errors.js"),
  ]);
  let format: ReturnType<typeof parseOutputFormat> = "table";
  const color = g.color !== false && !process.env.NO_COLOR && Boolean(process.stdout.isTTY);
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const progress = new Progress(
    process.stderr,
    g.quiet ? "off" : process.stderr.isTTY ? "spinner" : g.verbose ? "lines" : "off",
  );
  let session: Session | undefined;
  try {
    format = parseOutputFormat(g.output ?? "table");
    for (const [kind, value] of names) if (value !== undefined) validateName(kind, value);
    validate();
    if (g.namespace !== undefined) validateName("namespace", g.namespace);
    session = await Session.open({
      kubeconfig: g.kubeconfig,
      context: g.context,
      namespace: g.namespace,
      platform: parsePlatformChoice(g.platform),
      confirmation: new CliConfirmation({
        ...flags,
        interactive,
        quiet: g.quiet,
        input: process.stdin,
        output: process.stderr,
      }),
      progress: progress.update,
    });
    const result = await body(session);
    progress.stop();
    if (result.preface && (format === "table" || format === "wide"))
      process.stdout.write(`${result.preface}\n\n`);
    const human = format === "table" || format === "wide";
    process.stdout.write(
      human && result.text !== undefined
        ? result.text
        : render(result.object, format, { color, allNamespaces: result.allNamespaces }),
    );
    process.exitCode = result.exitCode ?? 0;
  } catch (err) {
    progress.stop();
    const e = toVmsnapError(err);
    if (format === "json" || format === "yaml") {
      const obj: ErrorObject = {
        apiVersion: API_VERSION,
        kind: "Error",
        code: e.code,
        exitCode: e.exitCode,
        message: e.message,
        ...(e.hint ? { hint: e.hint } : {}),
      };
      process.stdout.write(render(obj, format, { color: false }));
    } else {
      process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ""}`);
    }
    process.exitCode = e.exitCode;
  } finally {
    session?.close();
  }
}

/** Parses a duration flag ("90s", "5m", "1m30s") into milliseconds; invalid input exits 2. */
export function parseDurationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw invalidInput(
      `invalid ${flag} ${JSON.stringify(value)}`,
      "use a duration such as 90s, 5m or 1m30s",
    );
  return ms;
}

/** --consistency required|best-effort (Deckhouse requiredConsistency); invalid input exits 2. */
export function parseConsistency(
  value: string | undefined,
): "required" | "best-effort" | undefined {
  if (value === undefined || value === "required" || value === "best-effort") return value;
  throw invalidInput(`invalid --consistency ${value}`, "use required or best-effort");
}
