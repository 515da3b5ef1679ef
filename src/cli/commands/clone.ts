// vmsnap clone SNAPSHOT --to NEW_VM [--yes] [--dry-run]
import type { Command } from "commander";
import { dryRunPreface, runCommand } from "../run.js";

export function registerClone(program: Command): void {
  program
    .command("clone <snapshot>")
    .description("create a new VM from a snapshot")
    .requiredOption("--to <vm>", "name of the new VM")
    .option("--yes", "do not ask for confirmation")
    .option("--dry-run", "validate with the API server and show the manifest; change nothing")
    .option("--no-wait", "return right after creating the clone")
    .action(
      async (
        snapshot: string,
        opts: { to: string; yes?: boolean; dryRun?: boolean; wait?: boolean },
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
              dryRun: opts.dryRun,
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
