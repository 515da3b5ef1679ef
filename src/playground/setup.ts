// Every binary the playground runs, built once from the published Go modules. The three builds
// (Kubernetes' commands, the snapshot-controller, the admission webhook server) run side by side:
// a single build leaves a 2-core machine idle ~40% of the time (module downloads, single-threaded
// links), and on a fresh machine these builds are most of the set-up time.
import { ensureBinaries, type Binaries, type ProgressFn } from "./binaries.js";
import {
  buildSnapshotController,
  ensureUpstreamControllers,
  findUpstreamControllers,
  type UpstreamControllerBinaries,
} from "./controllers-upstream.js";
import { ensureAdmissionBinary } from "./webhooks.js";

export interface PlaygroundBinaries {
  kube: Binaries;
  controllers: UpstreamControllerBinaries;
  admission: string;
}

export async function ensurePlaygroundBinaries(
  progress: ProgressFn = () => {},
): Promise<PlaygroundBinaries> {
  const tagged =
    (tag: string): ProgressFn =>
    (line) =>
      progress(`[${tag}] ${line}`);
  const started = Date.now();
  const [kube, snapshotController, admission] = await Promise.allSettled([
    ensureBinaries(tagged("kube")),
    findUpstreamControllers().snapshotController
      ? Promise.resolve()
      : buildSnapshotController(tagged("snapshot-controller")),
    ensureAdmissionBinary(tagged("admission")),
  ]);
  // Every build has ended (none is left running) before the first failure is reported.
  for (const build of [kube, snapshotController, admission])
    if (build.status === "rejected") throw build.reason;
  const result = {
    kube: (kube as PromiseFulfilledResult<Binaries>).value,
    // kube-controller-manager alone, when kube-apiserver and kubectl were there already.
    controllers: await ensureUpstreamControllers(tagged("kube")),
    admission: (admission as PromiseFulfilledResult<string>).value,
  };
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 5) progress(`all binaries ready in ${seconds.toFixed(0)} s`);
  return result;
}
