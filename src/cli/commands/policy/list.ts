// vmsnap policy list [-A]
import type { Command } from "commander";
import { runCommand } from "../../run.js";

export function registerPolicyList(policy: Command): void {
  policy
    .command("list")
    .description("list snapshot policies with their state, last and next run")
    .option("-A, --all-namespaces", "all namespaces")
    .action(async (opts: { allNamespaces?: boolean }, cmd: Command) => {
      await runCommand(cmd, {}, async (session) => {
        const { listPolicies } = await import("../../../workflows/policy.js");
        const object = await listPolicies(session, { allNamespaces: opts.allNamespaces });
        return { object, allNamespaces: opts.allNamespaces };
      });
    });
}
