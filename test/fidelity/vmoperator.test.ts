// Fidelity of the VM Operator simulator to vmware-tanzu/vm-operator (main), and vmsnap against it:
// a failed revert is retried for as long as spec.currentSnapshotName asks for it (kubectl alone
// shows it), so vmsnap never leaves a revert requested once it gave up on it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, Csi, apiVersionOf } from "../../src/kube/resources.js";
import { ErrorObject, Snapshot } from "../../src/core/schema.js";
import { ensureSimStorage, pvcManifest, vmoVmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult } from "../helpers/cli.js";
import { volumeSnapshotManifest, waitFor, type Json } from "../helpers/kube.js";
import {
  kubectlCondition,
  kubectlCreate,
  kubectlGet,
  kubectlOk,
  kubectlWait,
} from "./dvp-kubectl.js";

const VMS = "virtualmachines.vmoperator.vmware.com";
const SNAPS = "virtualmachinesnapshots.vmoperator.vmware.com";
const REVERT = "VirtualMachineSnapshotRevertSucceeded";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "fid-vmo");
});

after(() => c?.close());

const vmsnap = (...args: string[]) => runCli(["-n", ns, ...args]);

/** A VM with one PVC `<vm>-data` (data `<vm>-data-v1`), observed in its power state. */
async function makeVm(name: string, power: "PoweredOn" | "PoweredOff", extra = {}) {
  await c.create(
    Core.pvcs,
    pvcManifest({ name: `${name}-data`, namespace: ns, data: `${name}-data-v1` }),
  );
  await c.create(
    VmOp.vms,
    vmoVmManifest({
      name,
      namespace: ns,
      powerState: power,
      claims: [{ name: "data", claimName: `${name}-data` }],
      annotations: { [SIM.data]: `${name}-boot-v1`, ...extra },
    }),
  );
  await waitFor(c, VmOp.vms, name, ns, (v) => v.status?.powerState === power, 60_000);
}

async function dataOf(vm: string): Promise<string> {
  return (await c.get(Core.pvcs, `${vm}-data`, ns)).metadata.annotations?.[SIM.data] ?? "";
}

async function writeData(vm: string, data: string): Promise<void> {
  await c.patch(Core.pvcs, `${vm}-data`, ns, { metadata: { annotations: { [SIM.data]: data } } });
}

describe("VM Operator: a failed revert is retried while spec.currentSnapshotName asks for it", () => {
  it("kubectl: a revert blocked by a CSI VolumeSnapshot fails, stays requested, and happens once the block is gone", async () => {
    await makeVm("kv", "PoweredOff");
    await kubectlCreate({
      apiVersion: apiVersionOf(VmOp.snapshots),
      kind: "VirtualMachineSnapshot",
      metadata: { name: "kv-1", namespace: ns },
      spec: { vmName: "kv" },
    });
    await kubectlWait(
      ns,
      `${SNAPS}/kv-1`,
      '{.status.conditions[?(@.type=="VirtualMachineSnapshotReady")].status}',
      "True",
    );
    await writeData("kv", "kv-data-v2");
    await kubectlCreate(volumeSnapshotManifest(ns, "kv-data-vs", "kv-data"));
    await kubectlOk([
      "-n",
      ns,
      "patch",
      `${VMS}/kv`,
      "--type",
      "merge",
      "-p",
      '{"spec":{"currentSnapshotName":"kv-1"}}',
    ]);
    await kubectlWait(
      ns,
      `${VMS}/kv`,
      `{.status.conditions[?(@.type=="${REVERT}")].reason}`,
      "VirtualMachineSnapshotRevertTaskFailed",
    );
    const message = await kubectlCondition(ns, `${VMS}/kv`, REVERT);
    assert.match(message, /VolumeSnapshots should be deleted before retrying the revert/);
    assert.equal(await kubectlGet(ns, `${VMS}/kv`, "{.spec.currentSnapshotName}"), "kv-1");
    assert.equal(await dataOf("kv"), "kv-data-v2", "the failed revert changed nothing");
    // Nobody asks again: the request still in the spec is enough once the block is gone.
    await kubectlOk(["-n", ns, "delete", `volumesnapshots.snapshot.storage.k8s.io/kv-data-vs`]);
    await kubectlWait(ns, `${VMS}/kv`, "{.status.currentSnapshot.name}", "kv-1");
    assert.equal(await kubectlGet(ns, `${VMS}/kv`, "{.spec.currentSnapshotName}"), "");
    assert.equal(await dataOf("kv"), "kv-data-v1", "reverted long after it first failed");
  });

  it("vmsnap takes back a revert that failed: spec.currentSnapshotName cleared, the VM on again, the report says so", async () => {
    // The VM's snapshots take 4 s: the safety snapshot leaves time to block the revert after
    // vmsnap's own check (a CSI VolumeSnapshot of the VM's claim, taken after vw-1).
    await makeVm("vw", "PoweredOn", { [SIM.snapshotDelay]: "4s" });
    const made = await vmsnap("create", "vw", "--name", "vw-1", "--yes", "-o", "json");
    assert.equal(made.code, 0, showResult(made));
    assert.equal(Snapshot.parse(json(made)).readyToUse, true);
    await writeData("vw", "vw-data-v2");

    const running = vmsnap("restore", "vw", "vw-1", "--stop", "--confirm", "vw-1", "-o", "json");
    const safety = await waitForSafetySnapshot("vw");
    await c.create(Csi.volumeSnapshots, volumeSnapshotManifest(ns, "vw-data-vs", "vw-data"));
    const r = await running;
    assert.equal(r.code, 1, showResult(r));
    const e = ErrorObject.parse(json(r));
    assert.equal(e.code, "OperationFailed");
    assert.match(e.message, /revert failed: VirtualMachineSnapshotRevertTaskFailed/);
    assert.match(
      e.message,
      /the request was taken back \(spec\.currentSnapshotName cleared\), so the platform does not try it again/,
    );
    assert.match(e.message, new RegExp(`safety snapshot ${safety}: ready`));
    const vm = (await c.get(VmOp.vms, "vw", ns)) as Json;
    assert.equal(vm.spec.currentSnapshotName, undefined, "no revert left requested");
    assert.match(e.message, /VM vw: started again by vmsnap/);
    await waitFor(c, VmOp.vms, "vw", ns, (v) => v.status?.powerState === "PoweredOn", 60_000);
    // With the block gone, nothing reverts the VM behind the user's back.
    await c.delete(Csi.volumeSnapshots, "vw-data-vs", ns);
    await waitFor(
      c,
      VmOp.vms,
      "vw",
      ns,
      (v) => !(v.status?.conditions as Json[] | undefined)?.some((x) => x.type === REVERT),
      60_000,
    );
    assert.equal(await dataOf("vw"), "vw-data-v2");
    assert.equal(((await c.get(VmOp.vms, "vw", ns)) as Json).spec.currentSnapshotName, undefined);
  });
});

/** The name of the VM's safety snapshot once vmsnap created it. */
async function waitForSafetySnapshot(vm: string): Promise<string> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const found = (await c.list(VmOp.snapshots, ns)).items.find((s) =>
      s.metadata.name.startsWith(`${vm}-pre-restore-`),
    );
    if (found) return found.metadata.name;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no safety snapshot of ${vm} appeared`);
}
