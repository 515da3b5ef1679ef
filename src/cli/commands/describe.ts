// vmsnap describe SNAPSHOT: status, indications, volumes, content, errors, and a diagnosis.
import type { Command } from "commander";
import { runCommand } from "../run.js";

export function registerDescribe(program: Command): void {
  program
    .command("describe <snapshot>")
    .description("show a snapshot in detail, with the diagnosis of a failure")
    .action(async (snapshot: string, _opts: unknown, cmd: Command) => {
      await runCommand(
        cmd,
        {},
        async (session) => {
          const { describeSnapshot } = await import("../../workflows/read.js");
          return { object: await describeSnapshot(session, snapshot) };
        },
        [["snapshot", snapshot]],
      );
    });
}
