// `vmsnap playground up|down|status|env` — a real local control plane with simulated platforms.
import type { Command } from "commander";
import { isSea } from "node:sea";

export function registerPlayground(program: Command): void {
  const pg = program
    .command("playground")
    .description("a local kube-apiserver + etcd with simulated KubeVirt controllers and sample VMs")
    .hook("preAction", (cmd) => {
      // The playground reads crds/ and deploy/ beside the package and runs the CLI from dist/.
      if (isSea())
        cmd.error(
          "error: the playground is not part of the single executable\n" +
            "hint: install the npm package (or run from a clone: bash scripts/demo.sh) to use it",
          { exitCode: 2 },
        );
    });

  pg.command("up")
    .description("start the playground (idempotent) and print how to use it")
    .action(async () => {
      const { playgroundUp, envLine, SAMPLE_VMS, DECKHOUSE_SAMPLE_VMS } =
        await import("../../playground/playground.js");
      const { state, started } = await playgroundUp((line) => process.stderr.write(`${line}\n`));
      const out = process.stdout;
      out.write(started ? "Playground is up.\n" : "Playground is already running.\n");
      out.write(`  API server : ${state.server}\n  kubeconfig : ${state.kubeconfig}\n`);
      if (state.leastPrivilegeKubeconfig)
        out.write(
          `  vmsnap with least privilege (deploy/rbac/): --kubeconfig ${state.leastPrivilegeKubeconfig}\n`,
        );
      if (state.kubectl) out.write(`  kubectl    : ${state.kubectl}\n`);
      out.write("\nSample VMs:\n");
      for (const vm of [...SAMPLE_VMS, ...DECKHOUSE_SAMPLE_VMS])
        out.write(`  ${`${vm.namespace}/${vm.name}`.padEnd(20)} ${vm.story}\n`);
      out.write(`\nUse it:\n  ${envLine(state)}\n`);
    });

  pg.command("down")
    .description("stop the playground and remove its state")
    .action(async () => {
      const { playgroundDown } = await import("../../playground/playground.js");
      const wasRunning = await playgroundDown();
      process.stdout.write(wasRunning ? "Playground stopped.\n" : "Playground was not running.\n");
    });

  pg.command("status")
    .description("show whether the playground runs, and where")
    .action(async () => {
      const { readState } = await import("../../playground/playground.js");
      const state = await readState();
      if (!state) {
        process.stdout.write("Playground is not running (start it with `vmsnap playground up`).\n");
        process.exitCode = 1;
        return;
      }
      process.stdout.write(
        `Playground is running (pid ${state.pid}, since ${state.startedAt}, ready in ${(state.readyMs / 1000).toFixed(1)} s)\n` +
          `  API server : ${state.server}\n  kubeconfig : ${state.kubeconfig}\n  audit log  : ${state.auditLog}\n` +
          (state.kubectl ? `  kubectl    : ${state.kubectl}\n` : ""),
      );
    });

  pg.command("env")
    .description("print the shell line that points kubectl and vmsnap at the playground")
    .action(async () => {
      const { readState, envLine } = await import("../../playground/playground.js");
      const state = await readState();
      if (!state) {
        process.stderr.write("Playground is not running (start it with `vmsnap playground up`).\n");
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${envLine(state)}\n`);
    });

  pg.command("setup", { hidden: true })
    .description(
      "install nothing, build what is missing: kube-apiserver, kubectl, kube-controller-manager, snapshot-controller and the admission webhook server from Go modules (once)",
    )
    .action(async () => {
      const { ensurePlaygroundBinaries } = await import("../../playground/setup.js");
      const progress = (line: string) => process.stderr.write(`${line}\n`);
      const { kube: bins, controllers, admission } = await ensurePlaygroundBinaries(progress);
      process.stdout.write(
        `etcd                    ${bins.etcd}\nkube-apiserver          ${bins.kubeApiserver}\nkubectl                 ${bins.kubectl}\n` +
          `kube-controller-manager ${controllers.kubeControllerManager}\nsnapshot-controller     ${controllers.snapshotController}\n` +
          `admission               ${admission}\n`,
      );
    });

  pg.command("serve", { hidden: true })
    .description("run the playground in the foreground (used by `up`)")
    .requiredOption("--dir <dir>", "state directory")
    .action(async (opts: { dir: string }) => {
      const { playgroundServe } = await import("../../playground/playground.js");
      await playgroundServe(opts.dir);
    });
}
