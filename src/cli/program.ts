// The commander program: global options and one registration module per command.
import { Command } from "commander";
import { createRequire } from "node:module";
import path from "node:path";
import { registerPlayground } from "./commands/playground.js";

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
    .showHelpAfterError();
  registerPlayground(program);
  return program;
}
