// vmsnap prune VM|-l SELECTOR --keep-last N [--older-than D] [--confirm COUNT] [--dry-run]
import type { Command } from "commander";
import { dryRunOption, dryRunPreface, isDryRun, runCommand } from "../run.js";

interface PruneFlags {
  selector?: string;
  keepLast: string;
  olderThan?: string;
  confirm?: string;
  dryRun?: string;
}

export function registerPrune(program: Command): void {
  program
    .command("prune [vm]")
    .description(
      "delete a VM's old snapshots by retention (keep the newest N); previews, then asks for the count",
    )
    .option("-l, --selector <selector>", "every VM of the namespace matching this selector")
    .requiredOption("--keep-last <n>", "keep the newest N snapshots of each VM")
    .option("--older-than <d>", "delete only snapshots older than this (e.g. 7d, 36h, 2w)")
    .option(
      "--confirm <count>",
      "confirm non-interactively: must equal the number of snapshots the preview deletes",
    )
    .addOption(dryRunOption("show what would be deleted and why"))
    .action(async (vm: string | undefined, opts: PruneFlags, cmd: Command) => {
      await runCommand(
        cmd,
        { confirm: opts.confirm },
        async (session) => {
          const { prune } = await import("../../workflows/operations.js");
          const { prune: object, preview } = await prune(session, {
            vm,
            selector: opts.selector,
            keepLast: /^\d+$/.test(opts.keepLast) ? Number(opts.keepLast) : Number.NaN,
            olderThan: opts.olderThan,
            dryRun: isDryRun(opts.dryRun),
          });
          return {
            object,
            preface: dryRunPreface(opts.dryRun, preview, "deleted"),
            exitCode: object.summary.failed ? 1 : 0,
          };
        },
        [["VM", vm]],
      );
    });
}
