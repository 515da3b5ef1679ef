// vmsnap controller [--listen HOST:PORT] [--watch-namespace NS] [--lease-namespace NS] …
// Runs the SnapshotPolicy controller until SIGTERM/SIGINT (then releases its Lease).
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { globalsOf, parseDurationFlag } from "../run.js";

interface ControllerFlags {
  listen?: string;
  watchNamespace?: string;
  leaseNamespace?: string;
  leaseName: string;
  identity?: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  parallel?: string;
}

/** The namespace the controller runs in: POD_NAMESPACE, the in-cluster one, or vmsnap-system. */
function ownNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim();
  } catch {
    return "vmsnap-system";
  }
}

export function registerController(program: Command): void {
  program
    .command("controller")
    .description(
      "run the SnapshotPolicy controller: scheduled snapshots and retention (leader-elected; see deploy/controller/)",
    )
    .option("--listen <host:port>", "serve /metrics, /healthz and /readyz here")
    .option("--watch-namespace <ns>", "only this namespace's policies (default: all namespaces)")
    .option("--lease-namespace <ns>", "namespace of the leader-election Lease (default: its own)")
    .option("--lease-name <name>", "name of the leader-election Lease", "vmsnap-controller")
    .option(
      "--identity <id>",
      "this replica in the Lease (default: POD_NAME or host name + suffix)",
    )
    .option("--lease-duration <d>", "a standby takes over after this long without renewal", "15s")
    .option(
      "--renew-deadline <d>",
      "the leader steps down when it cannot renew for this long",
      "10s",
    )
    .option("--retry-period <d>", "how often the leader renews", "2s")
    .option("--parallel <n>", "VMs snapshotted at once in one policy's run")
    .action(async (opts: ControllerFlags, cmd: Command) => {
      const g = globalsOf(cmd);
      const [
        { invalidInput },
        { toVmsnapError },
        { validateName },
        { validateParallel },
        controller,
      ] = await Promise.all([
        import("../../core/errors.js"),
        import("../../workflows/errors.js"),
        import("../../core/names.js"),
        import("../../core/bulk.js"),
        import("../../controller/controller.js"),
      ]);
      try {
        const ms = (flag: string, v: string) => parseDurationFlag(flag, v)!;
        const leaseDurationMs = ms("--lease-duration", opts.leaseDuration);
        const renewDeadlineMs = ms("--renew-deadline", opts.renewDeadline);
        const retryPeriodMs = ms("--retry-period", opts.retryPeriod);
        if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs))
          throw invalidInput(
            "the lease timings must satisfy --lease-duration > --renew-deadline > --retry-period",
          );
        if (opts.watchNamespace) validateName("namespace", opts.watchNamespace);
        const leaseNamespace = validateName("namespace", opts.leaseNamespace ?? ownNamespace());
        validateName("namespace", opts.leaseName);
        const c = await controller.PolicyController.start({
          kubeconfig: g.kubeconfig,
          context: g.context,
          watchNamespace: opts.watchNamespace,
          leaseNamespace,
          leaseName: opts.leaseName,
          identity: opts.identity,
          leaseDurationMs,
          renewDeadlineMs,
          retryPeriodMs,
          listen: opts.listen,
          parallel:
            opts.parallel === undefined ? undefined : validateParallel(Number(opts.parallel)),
        });
        const stop = () => void c.stop().finally(() => process.exit(0));
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      } catch (err) {
        const e = toVmsnapError(err);
        process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ""}`);
        process.exitCode = e.exitCode;
      }
    });
}
