// vmsnap list [VM] [-A] [-l SELECTOR] [--tree]
import type { Command } from "commander";
import { runCommand } from "../run.js";

export function registerList(program: Command): void {
  program
    .command("list [vm]")
    .description("list snapshots (of one VM, of the namespace, or of all namespaces)")
    .option("-A, --all-namespaces", "all namespaces")
    .option("-l, --selector <selector>", "label selector")
    .option("--tree", "show each VM's snapshots as a tree (VM Operator), the current one marked")
    .action(
      async (
        vm: string | undefined,
        opts: { allNamespaces?: boolean; selector?: string; tree?: boolean },
        cmd: Command,
      ) => {
        await runCommand(
          cmd,
          {},
          async (session) => {
            const { listSnapshots } = await import("../../workflows/read.js");
            const object = await listSnapshots(session, vm, {
              allNamespaces: opts.allNamespaces,
              labelSelector: opts.selector,
            });
            const text = opts.tree
              ? (await import("../output.js")).renderSnapshotTree(object)
              : undefined;
            return { object, allNamespaces: opts.allNamespaces, text };
          },
          [["VM", vm]],
        );
      },
    );
}
