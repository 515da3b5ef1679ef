// vmsnap policy create NAME -l SELECTOR --schedule CRON [--time-zone TZ] [--keep-last N]
//   [--hourly N] [--daily N] [--weekly N] [--monthly N] [--max-age D] [--expire-safety-snapshots D]
//   [--starting-deadline D] [--suspend] [--consistency …] [--memory] [--quiesce-timeout D]
//   [--yes] [--dry-run]
import type { Command } from "commander";
import {
  dryRunOption,
  dryRunPreface,
  isDryRun,
  parseConsistency,
  parseDurationFlag,
  runCommand,
} from "../../run.js";

interface PolicyCreateFlags {
  selector: string;
  schedule: string;
  timeZone?: string;
  keepLast?: string;
  hourly?: string;
  daily?: string;
  weekly?: string;
  monthly?: string;
  maxAge?: string;
  keepFailed?: string;
  expireSafetySnapshots?: string;
  startingDeadline?: string;
  suspend?: boolean;
  consistency?: string;
  memory?: boolean;
  quiesceTimeout?: string;
  description?: string;
  yes?: boolean;
  dryRun?: string;
}

const COUNTS = ["keepLast", "hourly", "daily", "weekly", "monthly", "keepFailed"] as const;

export function registerPolicyCreate(policy: Command): void {
  policy
    .command("create <name>")
    .description(
      "create a snapshot policy: scheduled snapshots of the VMs a selector matches, with retention",
    )
    .requiredOption("-l, --selector <selector>", "the VMs of the namespace it snapshots")
    .requiredOption("--schedule <cron>", "5-field cron expression, or @hourly/@daily/@weekly")
    .option("--time-zone <tz>", "IANA time zone of the schedule and the buckets (default UTC)")
    .option("--keep-last <n>", "keep the newest N snapshots per VM")
    .option("--hourly <n>", "keep one snapshot for each of the last N hours")
    .option("--daily <n>", "keep one snapshot for each of the last N days")
    .option("--weekly <n>", "keep one snapshot for each of the last N weeks")
    .option("--monthly <n>", "keep one snapshot for each of the last N months")
    .option("--max-age <d>", "delete the policy's snapshots older than this (e.g. 90d)")
    .option("--keep-failed <n>", "failed snapshots kept per VM for diagnosis (default 1)")
    .option(
      "--expire-safety-snapshots <d>",
      "also delete the VMs' restore safety snapshots older than this",
    )
    .option("--starting-deadline <d>", "skip a run started later than this after its time")
    .option("--suspend", "create it suspended (no runs until resumed)")
    .option("--consistency <mode>", "Deckhouse: required|best-effort")
    .option("--memory", "VM Operator: include the VM's memory")
    .option("--quiesce-timeout <d>", "VM Operator quiesce timeout (5m–240m)")
    .option("--description <text>", "VM Operator snapshot description")
    .option("-y, --yes", "confirm non-interactively")
    .addOption(dryRunOption("show the plan"))
    .action(async (name: string, opts: PolicyCreateFlags, cmd: Command) => {
      const { invalidInput } = await import("../../../core/errors.js");
      const count = (flag: string, v: string | undefined) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(n))
          throw invalidInput(`invalid ${flag} ${JSON.stringify(v)}`, "give a whole number ≥ 0");
        return n;
      };
      const retention: Record<string, number | string> = {};
      let startingDeadlineSeconds: number | undefined;
      const consistency = () => parseConsistency(opts.consistency);
      await runCommand(
        cmd,
        { yes: opts.yes },
        async (session) => {
          const { createPolicy } = await import("../../../workflows/operations.js");
          const { policy: object, preview } = await createPolicy(session, {
            name,
            selector: opts.selector,
            schedule: opts.schedule,
            timeZone: opts.timeZone,
            startingDeadlineSeconds,
            suspend: opts.suspend,
            retention,
            snapshot: {
              ...(opts.consistency ? { consistency: consistency() } : {}),
              ...(opts.memory ? { memory: true } : {}),
              ...(opts.quiesceTimeout ? { quiesceTimeout: opts.quiesceTimeout } : {}),
              ...(opts.description ? { description: opts.description } : {}),
            },
            dryRun: isDryRun(opts.dryRun),
          });
          return { object, preface: dryRunPreface(opts.dryRun, preview) };
        },
        [["policy", name]],
        () => {
          for (const k of COUNTS) {
            const flag = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
            const n = count(flag, opts[k]);
            if (n !== undefined) retention[k] = n;
          }
          if (opts.maxAge) retention.maxAge = opts.maxAge;
          if (opts.expireSafetySnapshots)
            retention.safetySnapshotMaxAge = opts.expireSafetySnapshots;
          const d = parseDurationFlag("--starting-deadline", opts.startingDeadline);
          startingDeadlineSeconds = d === undefined ? undefined : Math.round(d / 1000);
          consistency();
        },
      );
    });
}
