// Shell completion, as kubectl's: `vmsnap __complete WORD… PARTIAL` prints one candidate a line
// (`value<TAB>description`), then `:<directive>` — cobra's protocol, which the scripts of
// `vmsnap completion bash|zsh|fish` call, and which kubectl (≥ 1.26) expects from
// `kubectl_complete-vmsnap` for the arguments of `kubectl vmsnap`. Commands and flags come from
// the commander program itself; namespaces, contexts, VMs, snapshots and disks from the cluster,
// read-only and with a short deadline (a completion never waits long, and never writes).
import type { Command, Option } from "commander";
import { processIo, type CliIo } from "./io.js";

/** cobra's ShellCompDirective bits. */
export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
  FilterFileExt: 8,
  FilterDirs: 16,
  KeepOrder: 32,
} as const;

export interface Candidate {
  value: string;
  description?: string;
}

export interface Completions {
  candidates: Candidate[];
  directive: number;
}

/** What the command line chose so far: where the cluster lookups go. */
export interface Target {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  platform?: string;
}

/** The cluster-side answers (read-only). Tests may substitute their own. */
export interface Lookups {
  namespaces(t: Target): Promise<Candidate[]>;
  contexts(t: Target): Promise<Candidate[]>;
  vms(t: Target): Promise<Candidate[]>;
  /** Snapshots of the namespace, or of one VM; disk snapshots only when `disks` is true. */
  snapshots(t: Target, filter: { vm?: string; disks?: boolean }): Promise<Candidate[]>;
  disks(t: Target): Promise<Candidate[]>;
}

/** How long a completion may wait for the cluster before it offers nothing. */
export const LOOKUP_DEADLINE_MS = 5000;

type ValueKind =
  | { kind: "none" }
  | { kind: "files" }
  | { kind: "dirs" }
  | { kind: "choices"; values: string[] }
  | { kind: "lookup"; fetch: (l: Lookups, t: Target) => Promise<Candidate[]> };

// Never offered: a confirmation (--confirm) is typed by the human, not completed for them.
const NO_VALUE_COMPLETION = new Set(["--confirm"]);

function optionValueKind(opt: Option): ValueKind {
  const long = opt.long ?? "";
  if (NO_VALUE_COMPLETION.has(long)) return { kind: "none" };
  if (long === "--namespace") return { kind: "lookup", fetch: (l, t) => l.namespaces(t) };
  if (long === "--context") return { kind: "lookup", fetch: (l, t) => l.contexts(t) };
  if (long === "--kubeconfig") return { kind: "files" };
  if (long === "--dir") return { kind: "dirs" };
  if (opt.argChoices?.length) return { kind: "choices", values: opt.argChoices };
  // The flags document their values as "a|b|c …" (--output, --platform, --consistency, …);
  // values that take a template (jsonpath=TEMPLATE) are not offered.
  const choices = /^([a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)+)(?=\s|$|\|)/.exec(opt.description ?? "");
  if (choices) return { kind: "choices", values: choices[1]!.split("|") };
  return { kind: "none" };
}

/** The positional argument's kind, from its name in the command's usage. */
function argumentValueKind(command: Command, argName: string, positionals: string[]): ValueKind {
  switch (argName) {
    case "vm":
      return { kind: "lookup", fetch: (l, t) => l.vms(t) };
    case "disk":
      return { kind: "lookup", fetch: (l, t) => l.disks(t) };
    case "snapshot": {
      const name = command.name();
      // restore VM SNAPSHOT: only that VM's snapshots; restore-disk: only disk snapshots.
      const filter =
        name === "restore"
          ? { vm: positionals[0] }
          : name === "restore-disk"
            ? { disks: true }
            : {};
      return { kind: "lookup", fetch: (l, t) => l.snapshots(t, filter) };
    }
    default:
      return { kind: "none" };
  }
}

/** The command's own flags, then the global ones (each once; --version only at the top). */
function visibleOptions(cmd: Command): Option[] {
  const help = cmd.createHelp();
  const seen = new Set<string>();
  const out: Option[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) {
    for (const o of help.visibleOptions(c)) {
      const key = o.long ?? o.short ?? o.flags;
      if (seen.has(key) || (c !== cmd && o.long === "--version")) continue;
      seen.add(key);
      out.push(o);
    }
  }
  return out;
}

function findOption(cmd: Command, flag: string): Option | undefined {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const found = c.options.find((o) => o.long === flag || o.short === flag);
    if (found) return found;
  }
  return undefined;
}

const takesValue = (o: Option) => o.required || o.optional;

/** The global flags whose values choose where the lookups go. */
const targetKey: Record<string, keyof Target> = {
  "--kubeconfig": "kubeconfig",
  "--context": "context",
  "--namespace": "namespace",
  "--platform": "platform",
};

function filterPrefix(candidates: Candidate[], prefix: string): Candidate[] {
  return candidates.filter((c) => c.value.startsWith(prefix));
}

async function lookup(
  fetch: (l: Lookups, t: Target) => Promise<Candidate[]>,
  lookups: Lookups,
  target: Target,
): Promise<Candidate[]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Candidate[]>((resolve) => {
    timer = setTimeout(() => resolve([]), LOOKUP_DEADLINE_MS);
  });
  try {
    // An unreachable cluster, a 403, a bad kubeconfig: nothing to offer, as kubectl does.
    return await Promise.race([fetch(lookups, target).catch(() => []), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function completeValue(
  kind: ValueKind,
  partial: string,
  lookups: Lookups,
  target: Target,
  prefix = "",
): Promise<Completions> {
  switch (kind.kind) {
    case "files":
      return { candidates: [], directive: Directive.Default };
    case "dirs":
      return { candidates: [], directive: Directive.FilterDirs };
    case "none":
      return { candidates: [], directive: Directive.NoFileComp };
    case "choices":
      return {
        candidates: filterPrefix(
          kind.values.map((value) => ({ value })),
          partial,
        ).map((c) => ({ ...c, value: prefix + c.value })),
        directive: Directive.NoFileComp,
      };
    case "lookup": {
      const found = filterPrefix(await lookup(kind.fetch, lookups, target), partial);
      return {
        candidates: found.map((c) => ({ ...c, value: prefix + c.value })),
        directive: Directive.NoFileComp,
      };
    }
  }
}

function flagCandidates(cmd: Command, partial: string, given: Set<Option>): Candidate[] {
  const out: Candidate[] = [];
  for (const o of visibleOptions(cmd)) {
    if (given.has(o)) continue;
    const description = o.description || undefined;
    if (o.long?.startsWith(partial)) out.push({ value: o.long, description });
    if (o.short && (partial === "-" || o.short === partial))
      out.push({ value: o.short, description });
  }
  return out;
}

/**
 * The completions for `words` (the arguments after the program name); the last word is the one
 * being completed, "" when the cursor is after a space.
 */
export async function complete(
  program: Command,
  words: string[],
  lookups: Lookups,
): Promise<Completions> {
  const partial = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  let cmd = program;
  const positionals: string[] = [];
  const target: Target = {};
  const given = new Set<Option>();
  let pending: Option | undefined;
  let dashDash = false;

  for (const word of before) {
    if (pending) {
      const key = pending.long ? targetKey[pending.long] : undefined;
      if (key) target[key] = word;
      pending = undefined;
      continue;
    }
    if (!dashDash && word === "--") {
      dashDash = true;
      continue;
    }
    if (!dashDash && word.startsWith("--")) {
      const [flag, value] = splitOnce(word, "=");
      const opt = findOption(cmd, flag);
      if (!opt) continue;
      given.add(opt);
      if (takesValue(opt)) {
        if (value !== undefined) {
          const key = targetKey[opt.long ?? ""];
          if (key) target[key] = value;
        } else if (opt.required) pending = opt;
      }
      continue;
    }
    if (!dashDash && word.startsWith("-") && word.length > 1) {
      // -n NS, -nNS, -Aq: short flags, the first one taking a value ends the group.
      for (let i = 1; i < word.length; i++) {
        const opt = findOption(cmd, `-${word[i]}`);
        if (!opt) break;
        given.add(opt);
        if (takesValue(opt)) {
          const rest = word.slice(i + 1);
          const key = targetKey[opt.long ?? ""];
          if (rest) {
            if (key) target[key] = rest;
          } else if (opt.required) pending = opt;
          break;
        }
      }
      continue;
    }
    const sub =
      positionals.length === 0
        ? cmd.commands.find((c) => c.name() === word || c.aliases().includes(word))
        : undefined;
    if (sub) {
      cmd = sub;
      continue;
    }
    positionals.push(word);
  }

  if (pending) return completeValue(optionValueKind(pending), partial, lookups, target);

  if (!dashDash && partial.startsWith("-")) {
    if (partial.startsWith("--") && partial.includes("=")) {
      const [flag, value] = splitOnce(partial, "=");
      const opt = findOption(cmd, flag);
      if (!opt || !takesValue(opt)) return { candidates: [], directive: Directive.NoFileComp };
      return completeValue(optionValueKind(opt), value ?? "", lookups, target, `${flag}=`);
    }
    return { candidates: flagCandidates(cmd, partial, given), directive: Directive.NoFileComp };
  }

  const help = cmd.createHelp();
  const subcommands = help.visibleCommands(cmd);
  if (subcommands.length > 0 && positionals.length === 0) {
    return {
      candidates: filterPrefix(
        subcommands.map((c) => ({ value: c.name(), description: c.description() || undefined })),
        partial,
      ),
      directive: Directive.NoFileComp,
    };
  }

  const args = cmd.registeredArguments;
  const arg = args[positionals.length] ?? (args.at(-1)?.variadic ? args.at(-1) : undefined);
  if (!arg) return { candidates: [], directive: Directive.NoFileComp };
  if (arg.argChoices?.length)
    return completeValue({ kind: "choices", values: arg.argChoices }, partial, lookups, target);
  if (arg.name() === "command" && cmd.name() === "help") {
    const top = help.visibleCommands(program).filter((c) => c.name() !== "help");
    return {
      candidates: filterPrefix(
        top.map((c) => ({ value: c.name(), description: c.description() || undefined })),
        partial,
      ),
      directive: Directive.NoFileComp,
    };
  }
  return completeValue(argumentValueKind(cmd, arg.name(), positionals), partial, lookups, target);
}

function splitOnce(word: string, sep: string): [string, string | undefined] {
  const i = word.indexOf(sep);
  return i < 0 ? [word, undefined] : [word.slice(0, i), word.slice(i + 1)];
}

/** The protocol's text: candidates, then `:<directive>`. */
export function formatCompletions(c: Completions, descriptions: boolean): string {
  const lines = c.candidates.map((x) =>
    descriptions && x.description
      ? `${x.value}\t${x.description.replace(/[\t\n]+/g, " ")}`
      : x.value,
  );
  return `${[...lines, `:${c.directive}`].join("\n")}\n`;
}

/** `vmsnap __complete …` and `kubectl_complete-vmsnap …`: prints the completions, exits 0. */
export async function completeMain(
  words: string[],
  options: { descriptions?: boolean; io?: CliIo; lookups?: Lookups } = {},
): Promise<void> {
  const io = options.io ?? processIo();
  const [{ buildProgram }, { clusterLookups }] = await Promise.all([
    import("./program.js"),
    import("./complete-lookups.js"),
  ]);
  const lookups = options.lookups ?? clusterLookups();
  let result: Completions;
  try {
    // An empty argument list means "complete the first word".
    result = await complete(buildProgram(io), words.length ? words : [""], lookups);
  } catch {
    result = { candidates: [], directive: Directive.Error };
  } finally {
    (lookups as { close?: () => void }).close?.();
  }
  io.stdout.write(formatCompletions(result, options.descriptions ?? true));
  io.exitCode = 0;
  if (!io.ownsProcess) return;
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  process.exit(0);
}
