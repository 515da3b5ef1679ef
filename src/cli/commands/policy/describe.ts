// vmsnap policy describe NAME
import type { Command } from "commander";
import { runCommand } from "../../run.js";

export function registerPolicyDescribe(policy: Command): void {
  policy
    .command("describe <name>")
    .description("show a snapshot policy: its rules, its last run per VM, conditions, next runs")
    .action(async (name: string, _opts: object, cmd: Command) => {
      await runCommand(
        cmd,
        {},
        async (session) => {
          const { describePolicy } = await import("../../../workflows/policy.js");
          return { object: await describePolicy(session, name) };
        },
        [["policy", name]],
      );
    });
}
