// vmsnap delete SNAPSHOT [--confirm NAME] [--dry-run]
import type { Command } from "commander";
import { dryRunOption, dryRunPreface, isDryRun, runCommand } from "../run.js";

export function registerDelete(program: Command): void {
  program
    .command("delete <snapshot>")
    .description("delete a snapshot (typed confirmation; warns when it is the VM's only one)")
    .option("--confirm <name>", "confirm non-interactively: must equal the snapshot name")
    .addOption(dryRunOption("show the plan"))
    .option("--no-wait", "return right after the delete request")
    .action(
      async (
        snapshot: string,
        opts: { confirm?: string; dryRun?: string; wait?: boolean },
        cmd: Command,
      ) => {
        await runCommand(
          cmd,
          { confirm: opts.confirm },
          async (session) => {
            const { deleteSnapshot } = await import("../../workflows/operations.js");
            const { deletion, preview } = await deleteSnapshot(session, {
              snapshot,
              dryRun: isDryRun(opts.dryRun),
              wait: opts.wait,
            });
            return {
              object: deletion,
              preface: dryRunPreface(opts.dryRun, preview, "deleted"),
            };
          },
          [["snapshot", snapshot]],
        );
      },
    );
}
