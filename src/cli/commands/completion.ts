// vmsnap completion bash|zsh|fish: the shell script that completes commands, flags, namespaces,
// VMs and snapshots (it calls `vmsnap __complete`, src/cli/complete.ts).
import { Argument, type Command } from "commander";
import { SHELLS, completionScript, type Shell } from "../completion-scripts.js";
import { ioOf } from "../io.js";

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("print the shell completion script (bash, zsh or fish)")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  source <(vmsnap completion bash)        # bash, this shell (bash ≥ 4.4)
  source <(vmsnap completion zsh)         # zsh, this shell (after compinit)
  vmsnap completion fish | source         # fish, this shell

  kubectl vmsnap: kubectl's own completion (kubectl completion bash|zsh|fish) completes the
  plugin's arguments through kubectl_complete-vmsnap on PATH (kubectl ≥ 1.26), installed with vmsnap.`,
    )
    .action((shell: Shell, _opts: unknown, cmd: Command) => {
      ioOf(cmd).stdout.write(completionScript(shell));
    });
}
