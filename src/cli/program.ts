// The commander program: global options (SPEC §6) and one registration module per command.
import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import path from "node:path";
import { registerCheck } from "./commands/check.js";
import { registerClone } from "./commands/clone.js";
import { registerCreate } from "./commands/create.js";
import { registerCreateDisk } from "./commands/create-disk.js";
import { registerDelete } from "./commands/delete.js";
import { registerDescribe } from "./commands/describe.js";
import { registerList } from "./commands/list.js";
import { registerMcp } from "./commands/mcp.js";
import { registerPlayground } from "./commands/playground.js";
import { registerRestore } from "./commands/restore.js";
import { registerRestoreDisk } from "./commands/restore-disk.js";
import { registerVms } from "./commands/vms.js";

function version(): string {
  const require = createRequire(import.meta.url);
  return (require("../../package.json") as { version: string }).version;
}

export function buildProgram(): Command {
  // Invoked as kubectl-vmsnap, kubectl shows it as `kubectl vmsnap`.
  const invokedAs = path.basename(process.argv[1] ?? "vmsnap").startsWith("kubectl-")
    ? "kubectl vmsnap"
    : "vmsnap";
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
    .option("-o, --output <format>", "table|wide|json|yaml|name", "table")
    .option("--no-color", "no colors")
    .option("-q, --quiet", "no progress, no previews")
    .option("-v, --verbose", "progress lines even without a TTY")
    .showHelpAfterError()
    .exitOverride();
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
    registerMcp,
    registerPlayground,
  ]) {
    register(program);
  }
  for (const cmd of program.commands) cmd.exitOverride();
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
