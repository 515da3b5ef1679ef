// Simulated platform controllers for the playground and the tests. They act on any object shaped
// like the real API, not only on seeded ones.
import type { KubeClient } from "../../kube/client.js";
import { Runtime, type Logger } from "./runtime.js";
import { registerKubeVirt } from "./kubevirt/index.js";

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
  registerKubeVirt(runtime);
  await runtime.start();
  return { runtime, idle: () => runtime.idle(), stop: () => runtime.stop() };
}
