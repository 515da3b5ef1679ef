// vmsnap guard VM [--name NAME] [--yes] [--restore-on-failure --confirm NAME [--stop]] -- COMMAND…
// Snapshot the VM, run the command, and when it fails offer the restore (preview, typed name,
// final yes). The command's own output goes to stderr, so that -o json stays one object.
// Signals reach the command as under a shell: a Ctrl-C typed in the terminal reaches it from the
// terminal itself (it is in vmsnap's foreground process group), so it is not sent twice; a signal
// sent to vmsnap alone (SIGTERM from a supervisor, SIGINT without a terminal) is passed on.
import type { Command } from "commander";
import { runCommand } from "../run.js";
import { ioOf } from "../io.js";
import { invalidInput } from "../../core/errors.js";

interface GuardFlags {
  name?: string;
  yes?: boolean;
  restoreOnFailure?: boolean;
  confirm?: string;
  stop?: boolean;
}

export function registerGuard(program: Command): void {
  program
    .command("guard <vm> <command...>")
    .usage("[options] <vm> -- <command...>")
    .description(
      "snapshot a VM, run a command (an upgrade), and on its failure offer the restore of that snapshot",
    )
    .option("--name <name>", "the snapshot's name (default <vm>-snapshot-<time>)")
    .option("-y, --yes", "confirm the snapshot non-interactively")
    .option(
      "--restore-on-failure",
      "in scripts: restore when the command fails (needs --confirm with the snapshot's --name)",
    )
    .option("--confirm <name>", "confirm the restore non-interactively: the snapshot's name")
    .option("--stop", "for the restore: stop the VM if it is running")
    .action(async (vm: string, command: string[], opts: GuardFlags, cmd: Command) => {
      const io = ioOf(cmd);
      const interactive = Boolean(io.stdin.isTTY && io.stderr.isTTY);
      await runCommand(
        cmd,
        {
          yes: opts.yes,
          confirm: opts.restoreOnFailure ? opts.confirm : undefined,
          stop: opts.stop,
        },
        async (session) => {
          const [{ guard }, { spawn }] = await Promise.all([
            import("../../workflows/guard.js"),
            import("node:child_process"),
          ]);
          const object = await guard(
            session,
            {
              vm,
              name: opts.name,
              change: command.join(" "),
              offerRestore: Boolean(opts.restoreOnFailure) || interactive,
            },
            (interrupt) =>
              new Promise((resolve) => {
                const child = spawn(command[0]!, command.slice(1), {
                  stdio: ["inherit", "pipe", "pipe"],
                });
                const fromTerminal = Boolean(io.stdin.isTTY || io.stdout.isTTY || io.stderr.isTTY);
                const passOn = (s: AbortSignal) => {
                  const name = s.reason as NodeJS.Signals;
                  if (name === "SIGINT" && fromTerminal) return;
                  if (child.exitCode === null && child.signalCode === null) child.kill(name);
                };
                for (const s of [interrupt, session.interrupt.abandon])
                  s?.addEventListener("abort", () => passOn(s), { once: true });
                child.stdout.pipe(io.stderr, { end: false });
                child.stderr.pipe(io.stderr, { end: false });
                child.on("error", (err) => {
                  io.stderr.write(`vmsnap guard: cannot run ${command[0]}: ${err.message}\n`);
                  resolve({ succeeded: false, exitCode: null, signal: null });
                });
                child.on("close", (code, signal) =>
                  resolve({ succeeded: code === 0, exitCode: code, signal }),
                );
              }),
          );
          // The command's failure is the guard's failure, restored or not.
          return { object, exitCode: object.succeeded ? 0 : 1 };
        },
        [
          ["VM", vm],
          ["snapshot", opts.name],
        ],
        () => {
          if (opts.restoreOnFailure && (opts.confirm === undefined || opts.name === undefined))
            throw invalidInput(
              "--restore-on-failure needs the snapshot's name: --name NAME and --confirm NAME",
            );
          // Known before anything runs: a confirmation that cannot match would only be found
          // wrong after the command failed, when the restore is needed.
          if (opts.restoreOnFailure && opts.confirm !== opts.name)
            throw invalidInput(
              `--confirm ${JSON.stringify(opts.confirm)} does not match the snapshot's name ${JSON.stringify(opts.name)}: nothing was run`,
              "--confirm must repeat --name exactly",
            );
        },
      );
    });
}
