// vmsnap vms [VM] [-A] [-l SELECTOR]: VMs, state, snapshot count, last snapshot, snapshottable?
import type { Command } from "commander";
import { runCommand } from "../run.js";

export function registerVms(program: Command): void {
  program
    .command("vms [vm]")
    .description(
      "list VMs with their state, snapshot count, last snapshot and whether they can be snapshotted",
    )
    .option("-A, --all-namespaces", "all namespaces")
    .option("-l, --selector <selector>", "label selector")
    .action(
      async (
        vm: string | undefined,
        opts: { allNamespaces?: boolean; selector?: string },
        cmd: Command,
      ) => {
        await runCommand(
          cmd,
          {},
          async (session) => {
            const { listVms } = await import("../../workflows/read.js");
            const object = await listVms(session, vm, {
              allNamespaces: opts.allNamespaces,
              labelSelector: opts.selector,
            });
            return { object, allNamespaces: opts.allNamespaces };
          },
          [["VM", vm]],
        );
      },
    );
}
