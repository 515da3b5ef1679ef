// vmsnap delete SNAPSHOT… [--confirm NAME|COUNT] [--dry-run[=server|client]]
// One name: the typed name confirms it. Several (as kubectl deletes several): one preview of all,
// one confirmation typing their number; names not found are reported after the rest (exit 4).
import type { Command } from "commander";
import { dryRunOption, dryRunPreface, isDryRun, runCommand } from "../run.js";

export function registerDelete(program: Command): void {
  program
    .command("delete <snapshot...>")
    .description(
      "delete snapshots (typed confirmation: the name, or the number of snapshots; warns when a VM loses its last one)",
    )
    .option(
      "--confirm <name|count>",
      "confirm non-interactively: must equal the snapshot name (several: the number of snapshots the preview deletes)",
    )
    .addOption(dryRunOption("show the plan"))
    .option("--no-wait", "return right after the delete requests")
    .action(
      async (
        snapshots: string[],
        opts: { confirm?: string; dryRun?: string; wait?: boolean },
        cmd: Command,
      ) => {
        const names = [...new Set(snapshots)];
        await runCommand(
          cmd,
          { confirm: opts.confirm },
          async (session) => {
            const { deleteSnapshot, deleteSnapshots } =
              await import("../../workflows/operations.js");
            const request = { dryRun: isDryRun(opts.dryRun), wait: opts.wait };
            if (names.length === 1) {
              const { deletion, preview } = await deleteSnapshot(session, {
                ...request,
                snapshot: names[0]!,
              });
              return { object: deletion, preface: dryRunPreface(opts.dryRun, preview, "deleted") };
            }
            const { deletions, preview } = await deleteSnapshots(session, {
              ...request,
              snapshots: names,
            });
            const { deletionErrors } = await import("../../workflows/delete.js");
            return {
              object: deletions,
              preface: dryRunPreface(opts.dryRun, preview, "deleted"),
              errors: deletionErrors(deletions),
            };
          },
          names.map((s) => ["snapshot", s]),
        );
      },
    );
}
