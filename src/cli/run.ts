// Running one CLI command: global options → session (with the CLI confirmation port and
// progress) → workflow → rendered result; errors → message (or JSON Error) and the exit code.
import { Option, type Command } from "commander";
import { goDuration, parseDuration } from "../core/duration.js";
import { invalidInput } from "../core/errors.js";
import { validateName, type NameKind } from "../core/names.js";
import type { Session } from "../workflows/session.js";
import type { OutputObject } from "./output.js";
import { ioOf } from "./io.js";

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  platform?: string;
  output?: string;
  /** false with --no-headers */
  headers?: boolean;
  sortBy?: string;
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
  /**
   * Several objects shown one after the other in table/wide output (`describe A B`), separated
   * as kubectl separates them; `object` is their list for the other formats.
   */
  parts?: OutputObject[];
  /**
   * Errors of some of the names (`describe A B`, `delete A B`: not found), written to stderr
   * after the output, as kubectl does; the first one's exit code is the command's.
   */
  errors?: unknown[];
}

/**
 * --dry-run as kubectl's: none (not a dry run), server (the plan, validated by the API server with
 * dryRun=All: admission runs, nothing is persisted), client (the plan alone: no write is sent,
 * not even a dry run). A bare --dry-run is server, as it always was in vmsnap (main() spells it
 * --dry-run=server before parsing, so that the next word is never taken as its value).
 */
export const DRY_RUN_MODES = ["none", "server", "client"] as const;
export type DryRunMode = (typeof DRY_RUN_MODES)[number];

/** The --dry-run option of a write command; `effect` says what the dry run shows. */
export function dryRunOption(effect: string): Option {
  return new Option(
    "--dry-run [mode]",
    `${effect}; change nothing (server: validated by the API server; client: nothing sent)`,
  )
    .choices(DRY_RUN_MODES)
    .preset("server");
}

/** Whether --dry-run asks for a dry run (server or client). */
export function isDryRun(mode: string | undefined): boolean {
  return mode === "server" || mode === "client";
}

/** The preview shown before a dry run's result (the plan, validated, nothing written). */
export function dryRunPreface(
  mode: string | undefined,
  preview: string,
  nothing: "created" | "changed" | "deleted" = "created",
): string | undefined {
  if (!isDryRun(mode)) return undefined;
  const how =
    mode === "client" ? "client-side: not sent to the API server" : "validated by the API server";
  return `Dry run (${how}, nothing ${nothing}):\n${preview}`;
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
  const io = ioOf(cmd);
  // Lazy imports keep `--help` and `--version` fast.
  const [
    { parseOutputFormat, render, isTable, loadKubectlPrinters },
    { Session },
    { CliConfirmation },
    { Progress },
    { parsePlatformChoice },
    { toVmsnapError },
    { cliWords },
    { errorObject },
  ] = await Promise.all([
    import("./output.js"),
    import("../workflows/session.js"),
    import("./confirmation.js"),
    import("./progress.js"),
    import("../core/platform-names.js"),
    import("../workflows/errors.js"),
    import("../report/words.js"),
    import("../report/errors.js"),
  ]);
  let format: ReturnType<typeof parseOutputFormat> = "table";
  const color = g.color !== false && !io.env.NO_COLOR && Boolean(io.stdout.isTTY);
  // stderr first: stdin is not made (its streams not loaded) when stderr is no terminal.
  const interactive = Boolean(io.stderr.isTTY && io.stdin.isTTY);
  const progress = new Progress(
    io.stderr,
    g.quiet ? "off" : io.stderr.isTTY ? "spinner" : g.verbose ? "lines" : "off",
  );
  const interrupts = io.ownsProcess ? catchInterrupts(io, progress) : undefined;
  let session: Session | undefined;
  try {
    format = parseOutputFormat(g.output ?? "table");
    for (const [kind, value] of names) if (value !== undefined) validateName(kind, value);
    validate();
    // Loaded before any request, so that a bad template or column spec fails first.
    const kubectl = await loadKubectlPrinters(format, g.sortBy);
    if (format.startsWith("custom-columns="))
      kubectl?.parseCustomColumns(format.slice("custom-columns=".length));
    if (g.namespace !== undefined) validateName("namespace", g.namespace);
    // -n with -A is not a contradiction: as in kubectl, -A wins.
    session = await Session.open({
      clientDryRun: cmd.opts<{ dryRun?: string }>().dryRun === "client",
      kubeconfig: g.kubeconfig,
      context: g.context,
      namespace: g.namespace,
      platform: parsePlatformChoice(g.platform),
      confirmation: new CliConfirmation({
        ...flags,
        interactive,
        quiet: g.quiet,
        // Only when a question is asked.
        get input() {
          return io.stdin;
        },
        output: io.stderr,
      }),
      progress: progress.update,
      words: cliWords,
      interrupt: interrupts?.interrupt,
    });
    const result = await body(session);
    progress.stop();
    if (result.preface && isTable(format)) io.stdout.write(`${result.preface}\n\n`);
    const human = format === "table" || format === "wide";
    const renderOne = (object: OutputObject) =>
      render(object, format, {
        color,
        allNamespaces: result.allNamespaces,
        namespace: result.allNamespaces ? undefined : session!.namespace,
        noHeaders: g.headers === false,
        sortBy: g.sortBy,
        kubectl,
      });
    io.stdout.write(
      human && result.text !== undefined
        ? result.text
        : human && result.parts
          ? // kubectl describe: each description after the first follows two newlines.
            result.parts.map(renderOne).join("\n\n")
          : result.parts?.length === 0
            ? ""
            : renderOne(result.object),
    );
    // What a read could not include (a platform it may not read) goes to stderr, as kubectl's
    // warnings do; -o json/yaml carry it in the object too.
    for (const w of warningsOf(result.object)) io.stderr.write(`warning: ${w}\n`);
    let exitCode = result.exitCode ?? 0;
    for (const err of result.errors ?? []) {
      const e = toVmsnapError(await withSuggestionsOf(session, err));
      const obj = errorObject(e, cliWords);
      io.stderr.write(`error: ${obj.message}\n${obj.hint ? `hint: ${obj.hint}\n` : ""}`);
      if (!exitCode) exitCode = e.exitCode;
    }
    io.exitCode = exitCode;
  } catch (err) {
    progress.stop();
    // A VM or snapshot not found: with the close names ("did you mean"), from one list.
    const e = toVmsnapError(session ? await withSuggestionsOf(session, err) : err);
    const obj = errorObject(e, cliWords);
    if (format === "json" || format === "yaml")
      io.stdout.write(render(obj, format, { color: false }));
    else io.stderr.write(`error: ${obj.message}\n${obj.hint ? `hint: ${obj.hint}\n` : ""}`);
    io.exitCode = e.exitCode;
  } finally {
    session?.close();
    interrupts?.release();
  }
  // A one-shot command is done once its result is written: exit as soon as the output is flushed
  // instead of waiting for the event loop to drain (socket teardown), so that `create` returns
  // right after the snapshot is ready. Not when the program runs in-process (tests).
  if (!io.ownsProcess) return;
  for (const stream of [process.stdout, process.stderr])
    await new Promise<void>((resolve) => stream.write("", () => resolve()));
  process.exit();
}

async function withSuggestionsOf(session: Session, err: unknown): Promise<unknown> {
  const { withSuggestions } = await import("../workflows/suggest.js");
  return withSuggestions(session, err);
}

/**
 * Ctrl-C and SIGTERM become the workflow's interrupt (src/workflows/interrupt.ts decides what it
 * means): the first stops at the next safe point and cleans up, the second abandons the cleanup
 * (the report says what is left), a third exits at once.
 */
function catchInterrupts(
  io: ReturnType<typeof ioOf>,
  progress: { stop(): void },
): { interrupt: { signal: AbortSignal; abandon: AbortSignal }; release(): void } {
  const first = new AbortController();
  const second = new AbortController();
  let count = 0;
  const say = (line: string) => {
    progress.stop();
    io.stderr.write(`${line}\n`);
  };
  const onSignal = (name: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      say(
        `${name}: stopping at the next safe point and cleaning up (interrupt again to stop cleaning up)`,
      );
      first.abort(name);
    } else if (count === 2) {
      say(`${name} again: not waiting for the cleanup; reporting what is left`);
      second.abort(name);
    } else {
      say(`${name} a third time: exiting now; vmsnap may have left work unfinished`);
      process.exit(3);
    }
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) process.on(s, onSignal);
  return {
    interrupt: { signal: first.signal, abandon: second.signal },
    release: () => {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses a duration flag ("90s", "5m", "1m30s") into milliseconds; invalid input exits 2. */
export function parseDurationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw invalidInput(
      `invalid ${flag} ${JSON.stringify(value)}`,
      "use a duration such as 90s, 5m or 1m30s",
    );
  // Node timers fire at once beyond 2^31-1 ms: a longer deadline would expire immediately.
  if (ms > MAX_TIMER_MS)
    throw invalidInput(
      `invalid ${flag} ${JSON.stringify(value)}: longer than ${goDuration(MAX_TIMER_MS)}`,
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

function warningsOf(object: unknown): string[] {
  const w = (object as { warnings?: unknown } | null | undefined)?.warnings;
  return Array.isArray(w) ? w.filter((x): x is string => typeof x === "string") : [];
}
