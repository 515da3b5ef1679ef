// vmsnap describe SNAPSHOT…: status, indications, volumes, content, errors, and a diagnosis; several
// names one after the other, as kubectl describes them (a name not found is reported after the
// others, exit 4).
import type { Command } from "commander";
import { runCommand } from "../run.js";

export function registerDescribe(program: Command): void {
  program
    .command("describe <snapshot...>")
    .description("show snapshots in detail, with the diagnosis of a failure")
    .action(async (snapshots: string[], _opts: unknown, cmd: Command) => {
      const names = [...new Set(snapshots)];
      await runCommand(
        cmd,
        {},
        async (session) => {
          const { describeSnapshot, describeSnapshots } = await import("../../workflows/read.js");
          if (names.length === 1) return { object: await describeSnapshot(session, names[0]!) };
          const { list, notFound } = await describeSnapshots(session, names);
          return { object: list, parts: list.items, errors: notFound };
        },
        names.map((s) => ["snapshot", s]),
      );
    });
}
