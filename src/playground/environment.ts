// The whole local stack: control plane + CRDs + simulated platform controllers. Used by the
// playground daemon and by the test runner (one shared environment per test run).
import { KubeClient } from "../kube/client.js";
import { loadKubeConfig } from "../kube/config.js";
import type { ProgressFn } from "./binaries.js";
import { ControlPlane, type ControlPlaneInfo, type ControlPlaneOptions } from "./control-plane.js";
import { crdsDirFromEnv, installCrds, loadEnvironmentCrds } from "./crds.js";
import { ADMIN, SIMULATOR } from "./identities.js";
import { installRbacRoles, loadRbacRoles } from "./rbac.js";
import { installControllerRbac } from "./controller.js";
import { startSimulator, type Simulator } from "./simulator/index.js";
import { startAdmission, type Admission } from "./webhooks.js";
import {
  ensureUpstreamControllers,
  startUpstreamControllers,
  type UpstreamControllers,
} from "./controllers-upstream.js";

export interface EnvironmentOptions extends ControlPlaneOptions {
  /** Directory of CRD manifests; defaults to VMSNAP_CRDS_DIR or the project's crds/. */
  crdsDir?: string;
  /** Run the simulated controllers (default true). */
  simulate?: boolean;
  /** Run the platforms' admission webhooks (default true). */
  admission?: boolean;
  log?: (line: string) => void;
}

export interface Environment {
  controlPlane: ControlPlane;
  info: ControlPlaneInfo;
  admin: KubeClient;
  simulator?: Simulator;
  admission?: Admission;
  upstream: UpstreamControllers;
  stop(): Promise<void>;
}

export async function clientFor(kubeconfigPath: string): Promise<KubeClient> {
  const { kubeConfig, namespace } = await loadKubeConfig({ kubeconfig: kubeconfigPath });
  return KubeClient.fromKubeConfig(kubeConfig, namespace);
}

export async function startEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const progress: ProgressFn = options.progress ?? (() => {});
  const upstreamBinaries = await ensureUpstreamControllers(progress);
  const controlPlane = await ControlPlane.start(options);
  const clients: KubeClient[] = [];
  let simulator: Simulator | undefined;
  let admission: Admission | undefined;
  let upstream: UpstreamControllers | undefined;
  try {
    const admin = await clientFor(controlPlane.kubeconfig(ADMIN.name));
    clients.push(admin);
    const crdsDir = options.crdsDir ?? crdsDirFromEnv();
    const crds = await loadEnvironmentCrds(crdsDir);
    progress(`installing ${crds.length} CRDs from ${crdsDir}`);
    await installCrds(admin, crds);
    // The identities vmsnap runs as are bound to these roles (see identities.ts).
    await installRbacRoles(admin, await loadRbacRoles());
    // The policy controller's identity gets exactly deploy/controller/'s RBAC.
    await installControllerRbac(admin);
    // After the CRDs: snapshot-controller checks for its CRDs once at start.
    upstream = await startUpstreamControllers(controlPlane.info, upstreamBinaries, progress);
    // The webhooks read the cluster as the platform controllers do (the simulator's identity).
    if (options.admission !== false)
      admission = await startAdmission({
        dir: controlPlane.info.dir,
        kubeconfig: controlPlane.kubeconfig(SIMULATOR.name),
        admin,
        progress,
      });
    if (options.simulate !== false) {
      const simClient = await clientFor(controlPlane.kubeconfig(SIMULATOR.name));
      clients.push(simClient);
      simulator = await startSimulator(simClient, { log: options.log });
      progress("simulated controllers running");
    }
    return {
      controlPlane,
      info: controlPlane.info,
      admin,
      simulator,
      admission,
      upstream,
      async stop() {
        await simulator?.stop();
        await admission?.stop();
        await upstream?.stop();
        for (const c of clients) c.close();
        await controlPlane.stop();
      },
    };
  } catch (err) {
    await simulator?.stop().catch(() => {});
    await admission?.stop().catch(() => {});
    await upstream?.stop().catch(() => {});
    for (const c of clients) c.close();
    await controlPlane.stop();
    throw err;
  }
}
