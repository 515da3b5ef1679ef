// The commander program: global options (SPEC §6) and one registration module per command.
import { Command, CommanderError } from "commander";
import { registerCheck } from "./commands/check.js";
import { registerClone } from "./commands/clone.js";
import { registerCompletion } from "./commands/completion.js";
import { registerController } from "./commands/controller.js";
import { registerCreate } from "./commands/create.js";
import { registerCreateDisk } from "./commands/create-disk.js";
import { registerDelete } from "./commands/delete.js";
import { registerDescribe } from "./commands/describe.js";
import { registerList } from "./commands/list.js";
import { registerMcp } from "./commands/mcp.js";
import { registerPlayground } from "./commands/playground.js";
import { registerPolicy } from "./commands/policy/index.js";
import { registerPrune } from "./commands/prune.js";
import { registerGuard } from "./commands/guard.js";
import { registerRestore } from "./commands/restore.js";
import { registerRestoreDisk } from "./commands/restore-disk.js";
import { registerVms } from "./commands/vms.js";
import { addExamples } from "./examples.js";
import { attachIo, processIo, type CliIo } from "./io.js";
import { invokedName } from "./invocation.js";

import { version } from "./version.js";

export function buildProgram(io: CliIo = processIo()): Command {
  // Invoked as kubectl-vmsnap, kubectl shows it as `kubectl vmsnap`.
  const invokedAs = invokedName().startsWith("kubectl") ? "kubectl vmsnap" : "vmsnap";
  const program = new Command(invokedAs)
    .description("Safe virtual-machine snapshots on Kubernetes virtualization platforms")
    .version(version(), "--version")
    .option(
      "--kubeconfig <path>",
      "kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster)",
    )
    .option("--context <name>", "kubeconfig context")
    .option("-n, --namespace <ns>", "namespace (default: the context's namespace)")
    .option("--platform <name>", "auto|kubevirt|deckhouse|vmoperator", "auto")
    .option(
      "-o, --output <format>",
      "table|wide|json|yaml|name|jsonpath=TEMPLATE|custom-columns=SPEC (as kubectl's)",
      "table",
    )
    .option("--no-headers", "tables and custom columns without their header line")
    .option("--sort-by <jsonpath>", "sort list items by this field, e.g. .createdAt")
    .option("--no-color", "no colors")
    .option("-q, --quiet", "no progress, no previews")
    .option("-v, --verbose", "progress lines even without a TTY")
    // Every command's help lists the global flags too. Before the commands are added: they
    // inherit it.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  attachIo(program, io);
  for (const register of [
    registerVms,
    registerCheck,
    registerCreate,
    registerCreateDisk,
    registerList,
    registerDescribe,
    registerRestore,
    registerRestoreDisk,
    registerClone,
    registerDelete,
    registerPrune,
    registerGuard,
    registerPolicy,
    registerMcp,
    registerController,
    registerPlayground,
    registerCompletion,
  ]) {
    register(program);
  }
  // A usage error is one line and where to read more, as kubectl's ("See 'kubectl get -h'").
  program.showHelpAfterError(`See '${invokedAs} --help'.`);
  for (const cmd of program.commands)
    cmd.exitOverride().showHelpAfterError(`See '${invokedAs} ${cmd.name()} --help'.`);
  addExamples(program, invokedAs);
  return program;
}

/** Usage errors exit 2 (SPEC §6); help and version exit 0. */
export function usageExitCode(err: unknown): number | undefined {
  if (!(err instanceof CommanderError)) return undefined;
  if (
    err.code === "commander.helpDisplayed" ||
    err.code === "commander.version" ||
    err.code === "commander.help"
  )
    return 0;
  return 2;
}

/**
 * A bare --dry-run is --dry-run=server (its meaning before kubectl's modes were accepted): spelled
 * so before parsing, because an option with an optional value would otherwise take the next word
 * (`delete --dry-run snap-a`) as its value. Not past `--` (guard's command).
 */
export function withDryRunValue(argv: string[]): string[] {
  const end = argv.indexOf("--");
  return argv.map((a, i) => (a === "--dry-run" && (end < 0 || i < end) ? "--dry-run=server" : a));
}

/**
 * Runs the CLI on argv (the arguments after the program name) and returns the exit code; never
 * calls process.exit, so tests can run it in-process with captured streams.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(withDryRunValue(argv), { from: "user" });
  } catch (err) {
    const usage = usageExitCode(err);
    if (usage !== undefined) {
      io.exitCode = usage;
    } else {
      io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      io.exitCode = io.exitCode || 1;
    }
  }
  return io.exitCode ?? 0;
}
