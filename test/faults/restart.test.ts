// kube-apiserver restarted while vmsnap waits, on a dedicated control plane (the shared one is
// never disturbed): etcd and its data stay, the API server process alone is replaced on the same
// port. The simulated controllers are paused around the restart, so the operation cannot finish
// before it: the CLI's wait necessarily spans the restart, resumes its watch and ends right.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import { clientFor, startEnvironment, type Environment } from "../../src/playground/environment.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { ADMIN, SIMULATOR, VMSNAP_USER } from "../../src/playground/identities.js";
import { startSimulator, type Simulator } from "../../src/playground/simulator/index.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { waitFor } from "../helpers/kube.js";
import { expectExit, makeVm, rootData, show, snapshotData, writeRoot } from "./fixtures.js";

let dir: string;
let env: Environment;
let sim: Simulator | undefined;
const clients: KubeClient[] = [];
const ns = "restart";

async function client(user: string): Promise<KubeClient> {
  const c = await clientFor(env.controlPlane.kubeconfig(user));
  clients.push(c);
  return c;
}

async function resumeSimulator(): Promise<void> {
  sim = await startSimulator(await client(SIMULATOR.name));
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-fault-restart-"));
  env = await startEnvironment({ dir, simulate: false });
  await resumeSimulator();
  const admin = await client(ADMIN.name);
  await ensureSimStorage(admin);
  await admin.create(Core.namespaces, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: ns },
  });
});

after(async () => {
  await sim?.stop();
  for (const c of clients) c.close();
  await env?.stop();
  await rm(dir, { recursive: true, force: true });
});

function vmsnap(...args: string[]): Promise<CliResult> {
  return runCli(["-v", "-n", ns, ...args], {
    kubeconfig: env.controlPlane.kubeconfig(VMSNAP_USER.name),
    // An API server restart plus the controllers' resync took over 2 minutes at load 40: the CLI
    // gets the time its own default deadline (5 min) would give it.
    timeoutMs: 300_000,
  });
}

/**
 * Restarts the API server once the CLI has created `name` and waits for it; the controllers are
 * paused until the new API server is up.
 */
async function restartWhileWaiting(
  type: typeof KubeVirt.snapshots | typeof KubeVirt.restores,
  name: string,
): Promise<Date> {
  const watcher = await client(ADMIN.name);
  const since = new Date(Date.now() - 60_000);
  await waitFor(watcher, type, name, ns, () => true, 60_000);
  watcher.close();
  // Restart only once the CLI's watch is open (the API server has logged it), so that it is the
  // watch that must resume, not merely the first list; at most 10 s (the controllers are paused,
  // so the CLI is still waiting then, with its watch open).
  for (let i = 0; i < 100 && (await cliWatches(type.plural, since)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  const restartedAt = new Date();
  await env.controlPlane.restartApiserver();
  await resumeSimulator();
  return restartedAt;
}

/** Watches by vmsnap-user of a resource since an instant (any resourceVersion). */
async function cliWatches(resource: string, since: Date): Promise<unknown[]> {
  await env.controlPlane.syncAudit();
  const events = await env.controlPlane.audit.events({ user: VMSNAP_USER.name, since });
  return events.filter((e) => e.verb === "watch" && e.objectRef?.resource === resource);
}

/** Watches by vmsnap-user of a resource, sent to the new API server, resuming from a version. */
async function resumedWatches(resource: string, since: Date): Promise<string[]> {
  await env.controlPlane.syncAudit();
  const events = await env.controlPlane.audit.events({ user: VMSNAP_USER.name, since });
  return events
    .filter(
      (e) =>
        e.verb === "watch" &&
        e.objectRef?.resource === resource &&
        /resourceVersion=[1-9]/.test(e.requestURI),
    )
    .map((e) => e.requestURI);
}

describe("kube-apiserver restarted while vmsnap waits", () => {
  it("fault 1: during `create`'s wait: the watch resumes, exit 0, the snapshot holds the VM's data", async () => {
    const admin = await client(ADMIN.name);
    await makeVm(admin, ns, "rs");
    await sim!.stop();
    const run = vmsnap("create", "rs", "--name", "rs-snap", "--yes");
    const restartedAt = await restartWhileWaiting(KubeVirt.snapshots, "rs-snap");
    const r = await run;
    expectExit(r, 0, /rs-snap/);
    assert.ok(
      (await resumedWatches("virtualmachinesnapshots", restartedAt)).length > 0,
      `a watch resumed from a resourceVersion after the restart\n${show(r)}`,
    );
    const fresh = await client(ADMIN.name);
    const snap = await fresh.get(KubeVirt.snapshots, "rs-snap", ns);
    assert.equal((snap as { status?: { readyToUse?: boolean } }).status?.readyToUse, true);
    assert.equal(await snapshotData(fresh, ns, "rs-snap"), "rs-v1");
  });

  it("fault 2: during `restore`'s wait: the watch resumes, exit 0, the disk holds the snapshot's data", async () => {
    const admin = await client(ADMIN.name);
    await writeRoot(admin, ns, "rs", "rs-v2");
    await sim!.stop();
    const run = vmsnap(
      "restore",
      "rs",
      "rs-snap",
      "--confirm",
      "rs-snap",
      "--yes",
      "--no-safety-snapshot",
    );
    const restores = await (async () => {
      // The restore's name carries the CLI's clock: found by watching the namespace's restores.
      const watcher = await client(ADMIN.name);
      const { Informer } = await import("../../src/kube/watch.js");
      const inf = new Informer(watcher, KubeVirt.restores, { namespace: ns });
      const first = new Promise<string>((resolve) => inf.on((_e, o) => resolve(o.metadata.name)));
      await inf.start();
      // Should the CLI end before creating one, its output is the failure.
      const ended = run.then((r) => {
        throw new Error(`the CLI ended before creating a restore\n${show(r)}`);
      });
      try {
        return await Promise.race([first, ended]);
      } finally {
        await inf.stop();
      }
    })();
    const restartedAt = await restartWhileWaiting(KubeVirt.restores, restores);
    const r = await run;
    expectExit(r, 0, /Restored VM/);
    assert.ok(
      (await resumedWatches("virtualmachinerestores", restartedAt)).length > 0,
      `a watch resumed from a resourceVersion after the restart\n${show(r)}`,
    );
    assert.equal(await rootData(await client(ADMIN.name), ns, "rs"), "rs-v1");
  });
});
