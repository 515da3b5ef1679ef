// vmsnap create VM [--name N] [--stop] [--yes] [--dry-run] [--no-wait] [--deadline D] …
// vmsnap create -l SELECTOR [-A] [--parallel N] …: every matching VM, one confirmation.
import type { Command } from "commander";
import { invalidInput } from "../../core/errors.js";
import { validateQuiesceTimeout } from "../../core/duration.js";
import {
  dryRunOption,
  dryRunPreface,
  isDryRun,
  parseConsistency,
  parseDurationFlag,
  runCommand,
} from "../run.js";
import { validateParallel, validateSelector } from "../../core/bulk.js";

interface CreateFlags {
  name?: string;
  stop?: boolean;
  yes?: boolean;
  dryRun?: string;
  wait?: boolean;
  deadline?: string;
  memory?: boolean;
  quiesceTimeout?: string;
  description?: string;
  consistency?: string;
  keepIp?: string;
  selector?: string;
  allNamespaces?: boolean;
  parallel?: string;
}

export function registerCreate(program: Command): void {
  program
    .command("create [vm]")
    .description(
      "snapshot a VM, or every VM matching -l (preflight, preview, server-side dry run, confirmation, wait)",
    )
    .option("-l, --selector <selector>", "snapshot every VM matching this label selector")
    .option("-A, --all-namespaces", "with -l: match VMs in every namespace")
    .option(
      "--parallel <n>",
      "with -l: VMs worked on at once (default 16); requests are also limited to VMSNAP_QPS (default 50/s, burst VMSNAP_BURST 100)",
    )
    .option("--name <name>", "snapshot name (default <vm>-snapshot-<YYYYMMDD-HHMMSS>)")
    .option("--stop", "stop a running VM for an offline snapshot, and start it again afterwards")
    .option("--yes", "do not ask for confirmation")
    .addOption(dryRunOption("show the manifest"))
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
    .action(async (vm: string | undefined, opts: CreateFlags, cmd: Command) => {
      let deadlineMs: number | undefined;
      if (opts.selector !== undefined || opts.allNamespaces) {
        await createBySelector(vm, opts, cmd);
        return;
      }
      await runCommand(
        cmd,
        { yes: opts.yes },
        async (session) => {
          if (vm === undefined)
            throw invalidInput(
              "create needs a VM name or -l SELECTOR",
              "vmsnap create VM, or vmsnap create -l app=web",
            );
          const { createSnapshot } = await import("../../workflows/operations.js");
          const { snapshot, preview } = await createSnapshot(session, {
            vm,
            name: opts.name,
            stop: opts.stop,
            dryRun: isDryRun(opts.dryRun),
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
            preface: dryRunPreface(opts.dryRun, preview),
          };
        },
        [
          ["VM", vm],
          ["snapshot", opts.name],
        ],
        () => {
          if (vm === undefined)
            throw invalidInput(
              "create needs a VM name or -l SELECTOR",
              "vmsnap create VM, or vmsnap create -l app=web",
            );
          deadlineMs = parseDurationFlag("--deadline", opts.deadline);
          validateFlags(opts);
        },
      );
    });
}

function validateFlags(opts: CreateFlags): void {
  validateQuiesceTimeout(opts.quiesceTimeout);
  parseConsistency(opts.consistency);
  // An empty value is a value too (and not a valid one), not an absent flag.
  if (opts.keepIp !== undefined && !["always", "never"].includes(opts.keepIp)) {
    throw invalidInput(`invalid --keep-ip ${opts.keepIp}`, "use always or never");
  }
}

async function createBySelector(
  vm: string | undefined,
  opts: CreateFlags,
  cmd: Command,
): Promise<void> {
  let deadlineMs: number | undefined;
  let parallel: number | undefined;
  await runCommand(
    cmd,
    { yes: opts.yes },
    async (session) => {
      const { createSnapshotsBySelector, batchFailed } =
        await import("../../workflows/operations.js");
      const { batch, preview } = await createSnapshotsBySelector(session, {
        selector: opts.selector ?? "",
        allNamespaces: opts.allNamespaces,
        parallel,
        stop: opts.stop,
        dryRun: isDryRun(opts.dryRun),
        wait: opts.wait,
        deadlineMs,
        memory: opts.memory,
        quiesceTimeout: opts.quiesceTimeout,
        description: opts.description,
        consistency: parseConsistency(opts.consistency),
        keepIp: opts.keepIp as "always" | "never" | undefined,
      });
      return {
        object: batch,
        allNamespaces: opts.allNamespaces,
        exitCode: batchFailed(batch) ? 1 : 0,
        preface: dryRunPreface(opts.dryRun, preview),
      };
    },
    [],
    () => {
      if (vm !== undefined)
        throw invalidInput(
          "give either a VM name or -l SELECTOR, not both",
          "vmsnap create VM, or vmsnap create -l app=web",
        );
      if (opts.selector === undefined)
        throw invalidInput("-A needs -l SELECTOR", "vmsnap create -l app=web -A");
      if (opts.name !== undefined)
        throw invalidInput(
          "--name names one snapshot: it cannot be used with -l",
          "bulk snapshots are named <vm>-snapshot-<YYYYMMDD-HHMMSS>",
        );
      deadlineMs = parseDurationFlag("--deadline", opts.deadline);
      if (opts.parallel !== undefined) {
        parallel = /^\d+$/.test(opts.parallel) ? Number(opts.parallel) : NaN;
        validateParallel(parallel);
      }
      validateSelector(opts.selector);
      validateFlags(opts);
    },
  );
}
