// Simulated platform controllers for the playground and the tests. They act on any object shaped
// like the real API, not only on seeded ones.
import type { KubeClient } from "../../kube/client.js";
import { Runtime, type Logger } from "./runtime.js";
import { registerKubeVirt, type ClaimUser } from "./kubevirt/index.js";
import { registerVmOperator, vmOperatorClaimInUse } from "./vmoperator/index.js";
import { registerDeckhouse } from "./deckhouse/index.js";

export interface Simulator {
  runtime: Runtime;
  /** Resolves when no reconcile is queued or running (delayed requeues aside). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSimulator(
  client: KubeClient,
  options: { log?: Logger } = {},
): Promise<Simulator> {
  const runtime = new Runtime(client, options.log);
  // The storage simulator is shared; every platform's VMs count as claim consumers.
  const claimUsers: ClaimUser[] = [];
  const kubevirt = registerKubeVirt(runtime, claimUsers);
  const vmoperator = registerVmOperator(runtime, kubevirt.inf);
  claimUsers.push((ns, claim) => vmOperatorClaimInUse(vmoperator, ns, claim));
  registerDeckhouse(runtime);
  await runtime.start();
  return { runtime, idle: () => runtime.idle(), stop: () => runtime.stop() };
}
