// vmsnap policy delete NAME [--confirm NAME] [--dry-run]
import type { Command } from "commander";
import { dryRunOption, dryRunPreface, isDryRun, runCommand } from "../../run.js";

export function registerPolicyDelete(policy: Command): void {
  policy
    .command("delete <name>")
    .description("delete a snapshot policy (typed confirmation); the snapshots it made are kept")
    .option("--confirm <name>", "confirm non-interactively: must equal the policy name")
    .addOption(dryRunOption("show the plan"))
    .action(async (name: string, opts: { confirm?: string; dryRun?: string }, cmd: Command) => {
      await runCommand(
        cmd,
        { confirm: opts.confirm },
        async (session) => {
          const { deletePolicy } = await import("../../../workflows/operations.js");
          const { policy: object, preview } = await deletePolicy(session, {
            name,
            dryRun: isDryRun(opts.dryRun),
          });
          return { object, preface: dryRunPreface(opts.dryRun, preview, "deleted") };
        },
        [["policy", name]],
      );
    });
}
