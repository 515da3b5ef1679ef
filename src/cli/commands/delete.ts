// vmsnap delete SNAPSHOT [--confirm NAME] [--dry-run]
import type { Command } from "commander";
import { dryRunPreface, runCommand } from "../run.js";

export function registerDelete(program: Command): void {
  program
    .command("delete <snapshot>")
    .description("delete a snapshot (typed confirmation; warns when it is the VM's only one)")
    .option("--confirm <name>", "confirm non-interactively: must equal the snapshot name")
    .option("--dry-run", "validate with the API server; change nothing")
    .option("--no-wait", "return right after the delete request")
    .action(
      async (
        snapshot: string,
        opts: { confirm?: string; dryRun?: boolean; wait?: boolean },
        cmd: Command,
      ) => {
        await runCommand(
          cmd,
          { confirm: opts.confirm },
          async (session) => {
            const { deleteSnapshot } = await import("../../workflows/operations.js");
            const { deletion, preview } = await deleteSnapshot(session, {
              snapshot,
              dryRun: opts.dryRun,
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
