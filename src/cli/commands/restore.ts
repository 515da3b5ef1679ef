// vmsnap restore VM SNAPSHOT [--stop] [--confirm NAME] [--yes] [--no-safety-snapshot] [--dry-run] [--no-wait]
//                            [--timeout D]
import type { Command } from "commander";
import { dryRunOption, dryRunPreface, isDryRun, parseDurationFlag, runCommand } from "../run.js";

interface RestoreFlags {
  stop?: boolean;
  confirm?: string;
  yes?: boolean;
  safetySnapshot?: boolean;
  dryRun?: string;
  wait?: boolean;
  timeout?: string;
}

export function registerRestore(program: Command): void {
  program
    .command("restore <vm> <snapshot>")
    .description(
      "restore a VM in place from one of its snapshots (safety snapshot first; typed confirmation)",
    )
    .option("--stop", "stop the VM if it is running (and start it again afterwards)")
    .option("--confirm <name>", "confirm non-interactively: must equal the snapshot name")
    .option("--yes", "answer the final confirmation")
    .option("--no-safety-snapshot", "do not snapshot the current state first")
    .addOption(dryRunOption("show what would be lost"))
    .option("--no-wait", "return right after creating the restore")
    .option(
      "--timeout <duration>",
      "give up waiting for the restore after this time (default 10m); a VM Operator revert is then taken back",
    )
    .action(async (vm: string, snapshot: string, opts: RestoreFlags, cmd: Command) => {
      let timeoutMs: number | undefined;
      await runCommand(
        cmd,
        { yes: opts.yes, confirm: opts.confirm, stop: opts.stop },
        async (session) => {
          const { restoreSnapshot } = await import("../../workflows/operations.js");
          const { restore, preview } = await restoreSnapshot(session, {
            vm,
            snapshot,
            stop: opts.stop,
            safetySnapshot: opts.safetySnapshot,
            dryRun: isDryRun(opts.dryRun),
            wait: opts.wait,
            timeoutMs,
          });
          return {
            object: restore,
            preface: dryRunPreface(opts.dryRun, preview, "changed"),
          };
        },
        [
          ["VM", vm],
          ["snapshot", snapshot],
        ],
        () => {
          timeoutMs = parseDurationFlag("--timeout", opts.timeout);
        },
      );
    });
}
