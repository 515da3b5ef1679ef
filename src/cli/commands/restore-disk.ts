// vmsnap restore-disk SNAPSHOT --to NEW_DISK [--size Q] [--yes] [--dry-run] [--no-wait]
import type { Command } from "commander";
import { invalidInput } from "../../core/errors.js";
import { quantityBytes } from "../../core/quantity.js";
import { dryRunOption, dryRunPreface, isDryRun, runCommand } from "../run.js";

interface RestoreDiskFlags {
  to: string;
  size?: string;
  yes?: boolean;
  dryRun?: string;
  wait?: boolean;
}

export function registerRestoreDisk(program: Command): void {
  program
    .command("restore-disk <snapshot>")
    .description(
      "restore a disk snapshot as a new disk (Deckhouse VirtualDisk from a VirtualDiskSnapshot)",
    )
    .requiredOption("--to <disk>", "name of the new disk")
    .option("--size <quantity>", "size of the new disk (default: the original disk's size)")
    .option("--yes", "do not ask for confirmation")
    .addOption(dryRunOption("show the manifest"))
    .option("--no-wait", "return right after creating the disk")
    .action(async (snapshot: string, opts: RestoreDiskFlags, cmd: Command) => {
      await runCommand(
        cmd,
        { yes: opts.yes },
        async (session) => {
          const { restoreDisk } = await import("../../workflows/operations.js");
          const { clone, preview } = await restoreDisk(session, {
            snapshot,
            target: opts.to,
            size: opts.size,
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
          ["disk", opts.to],
        ],
        () => {
          if (opts.size !== undefined && !quantityBytes(opts.size))
            throw invalidInput(`invalid --size ${JSON.stringify(opts.size)}`, "e.g. 10Gi");
        },
      );
    });
}
