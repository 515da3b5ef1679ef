// vmsnap check VM: the preflight of SPEC §4; exit 0 snapshottable, 1 blocked.
import type { Command } from "commander";
import { runCommand } from "../run.js";

export function registerCheck(program: Command): void {
  program
    .command("check <vm>")
    .description(
      "preflight: can this VM be snapshotted safely, and what will the snapshot contain? (exit 0 yes, 1 blocked)",
    )
    .action(async (vm: string, _opts: unknown, cmd: Command) => {
      await runCommand(
        cmd,
        {},
        async (session) => {
          const { check } = await import("../../workflows/read.js");
          const object = await check(session, vm);
          return { object, exitCode: object.snapshottable ? 0 : 1 };
        },
        [["VM", vm]],
      );
    });
}
