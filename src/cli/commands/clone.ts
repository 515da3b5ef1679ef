// vmsnap clone SNAPSHOT --to NEW_VM [--yes] [--dry-run]
import type { Command } from "commander";
import { dryRunOption, dryRunPreface, isDryRun, runCommand } from "../run.js";

export function registerClone(program: Command): void {
  program
    .command("clone <snapshot>")
    .description("create a new VM from a snapshot")
    .requiredOption("--to <vm>", "name of the new VM")
    .option("--yes", "do not ask for confirmation")
    .addOption(dryRunOption("show the manifest"))
    .option("--no-wait", "return right after creating the clone")
    .action(
      async (
        snapshot: string,
        opts: { to: string; yes?: boolean; dryRun?: string; wait?: boolean },
        cmd: Command,
      ) => {
        await runCommand(
          cmd,
          { yes: opts.yes },
          async (session) => {
            const { cloneFromSnapshot } = await import("../../workflows/operations.js");
            const { clone, preview } = await cloneFromSnapshot(session, {
              snapshot,
              target: opts.to,
              dryRun: isDryRun(opts.dryRun),
              wait: opts.wait,
            });
            return {
              object: clone,
              preface: dryRunPreface(opts.dryRun, preview),
            };
          },
          [
            ["snapshot", snapshot],
            ["clone target", opts.to],
          ],
        );
      },
    );
}
