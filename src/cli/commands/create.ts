// vmsnap create VM [--name N] [--stop] [--yes] [--dry-run] [--no-wait] [--deadline D] …
import type { Command } from "commander";
import { invalidInput } from "../../core/errors.js";
import { validateQuiesceTimeout } from "../../core/duration.js";
import { parseConsistency, parseDurationFlag, runCommand } from "../run.js";

interface CreateFlags {
  name?: string;
  stop?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  wait?: boolean;
  deadline?: string;
  memory?: boolean;
  quiesceTimeout?: string;
  description?: string;
  consistency?: string;
  keepIp?: string;
}

export function registerCreate(program: Command): void {
  program
    .command("create <vm>")
    .description("snapshot a VM (preflight, preview, server-side dry run, confirmation, wait)")
    .option("--name <name>", "snapshot name (default <vm>-snapshot-<YYYYMMDD-HHMMSS>)")
    .option("--stop", "stop a running VM for an offline snapshot, and start it again afterwards")
    .option("--yes", "do not ask for confirmation")
    .option("--dry-run", "validate with the API server and show the manifest; change nothing")
    .option("--no-wait", "return right after creating the snapshot")
    .option(
      "--deadline <duration>",
      "fail if not ready within this time (sets failureDeadline), e.g. 5m",
    )
    .option("--memory", "include memory (VM Operator)")
    .option("--quiesce-timeout <duration>", "guest quiesce timeout (VM Operator)")
    .option("--description <text>", "description (VM Operator)")
    .option("--consistency <mode>", "required|best-effort (Deckhouse requiredConsistency)")
    .option("--keep-ip <mode>", "always|never (Deckhouse keepIPAddress)")
    .action(async (vm: string, opts: CreateFlags, cmd: Command) => {
      let deadlineMs: number | undefined;
      await runCommand(
        cmd,
        { yes: opts.yes },
        async (session) => {
          const { createSnapshot } = await import("../../workflows/create.js");
          const { snapshot, preview } = await createSnapshot(session, {
            vm,
            name: opts.name,
            stop: opts.stop,
            dryRun: opts.dryRun,
            wait: opts.wait,
            deadlineMs,
            memory: opts.memory,
            quiesceTimeout: opts.quiesceTimeout,
            description: opts.description,
            consistency: parseConsistency(opts.consistency),
            keepIp: opts.keepIp as "always" | "never" | undefined,
          });
          return {
            object: snapshot,
            preface: opts.dryRun
              ? `Dry run (validated by the API server, nothing created):\n${preview}`
              : undefined,
          };
        },
        [
          ["VM", vm],
          ["snapshot", opts.name],
        ],
        () => {
          deadlineMs = parseDurationFlag("--deadline", opts.deadline);
          validateQuiesceTimeout(opts.quiesceTimeout);
          parseConsistency(opts.consistency);
          if (opts.keepIp && !["always", "never"].includes(opts.keepIp)) {
            throw invalidInput(`invalid --keep-ip ${opts.keepIp}`, "use always or never");
          }
        },
      );
    });
}
