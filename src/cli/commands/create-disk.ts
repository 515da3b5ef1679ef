// vmsnap create-disk DISK [--name N] [--consistency required|best-effort] [--yes] [--dry-run] [--no-wait]
import type { Command } from "commander";
import {
  dryRunOption,
  dryRunPreface,
  isDryRun,
  parseConsistency,
  parseDurationFlag,
  runCommand,
} from "../run.js";

interface CreateDiskFlags {
  name?: string;
  consistency?: string;
  yes?: boolean;
  dryRun?: string;
  wait?: boolean;
  deadline?: string;
}

export function registerCreateDisk(program: Command): void {
  program
    .command("create-disk <disk>")
    .description("snapshot one disk (Deckhouse VirtualDiskSnapshot)")
    .option("--name <name>", "snapshot name (default <disk>-snapshot-<YYYYMMDD-HHMMSS>)")
    .option("--consistency <mode>", "required|best-effort (requiredConsistency)")
    .option("--yes", "do not ask for confirmation")
    .addOption(dryRunOption("show the manifest"))
    .option("--no-wait", "return right after creating the snapshot")
    .option("--deadline <duration>", "fail if not ready within this time, e.g. 5m")
    .action(async (disk: string, opts: CreateDiskFlags, cmd: Command) => {
      let timeoutMs: number | undefined;
      await runCommand(
        cmd,
        { yes: opts.yes },
        async (session) => {
          const { createDiskSnapshot } = await import("../../workflows/operations.js");
          const { snapshot, preview } = await createDiskSnapshot(session, {
            disk,
            name: opts.name,
            consistency: parseConsistency(opts.consistency),
            dryRun: isDryRun(opts.dryRun),
            wait: opts.wait,
            timeoutMs,
          });
          return {
            object: snapshot,
            preface: dryRunPreface(opts.dryRun, preview),
          };
        },
        [
          ["disk", disk],
          ["snapshot", opts.name],
        ],
        () => {
          timeoutMs = parseDurationFlag("--deadline", opts.deadline);
          parseConsistency(opts.consistency);
        },
      );
    });
}
