// create -l on VM Operator (analysed VM by VM, no bulk preflight) and on both platforms at once:
// one confirmation, one result per VM whatever its platform.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import {
  ensureSimStorage,
  pvcManifest,
  vmManifest,
  vmoVmManifest,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { SnapshotBatch } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, type CliResult } from "../helpers/cli.js";
import { writesIn } from "../helpers/audit.js";
import { waitFor } from "../helpers/kube.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-bulk-vmop");
});

after(() => c?.close());

const show = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

async function vmoVm(name: string, labels: Record<string, string>): Promise<void> {
  await c.create(Core.pvcs, pvcManifest({ name: `${name}-data`, namespace: ns, data: name }));
  await c.create(
    VmOp.vms,
    vmoVmManifest({
      name,
      namespace: ns,
      powerState: "PoweredOff",
      labels,
      claims: [{ name: "data", claimName: `${name}-data` }],
      annotations: { [SIM.data]: `${name}-boot` },
    }),
  );
  await waitFor(c, VmOp.vms, name, ns, (v) => Boolean(v.status?.uniqueID));
}

async function kubevirtVm(name: string, labels: Record<string, string>): Promise<void> {
  await c.create(Core.pvcs, pvcManifest({ name: `${name}-root`, namespace: ns, data: name }));
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name,
      namespace: ns,
      runStrategy: "Halted",
      labels,
      disks: [{ name: "root", claimName: `${name}-root` }],
    }),
  );
  await waitFor(c, KubeVirt.vms, name, ns, (v) => v.status?.printableStatus === "Stopped");
}

describe("vmsnap create -l across platforms", () => {
  it("snapshots the VM Operator and KubeVirt VMs matching one selector, each on its platform", async () => {
    await vmoVm("vmo-a", { fleet: "mixed" });
    await vmoVm("vmo-b", { fleet: "mixed" });
    await kubevirtVm("kv-a", { fleet: "mixed" });

    const since = new Date();
    const r = await runCli(["-n", ns, "create", "-l", "fleet=mixed", "--yes", "-o", "json"]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr.match(/^Create 3 snapshots/gm)?.length, 1, show(r));
    const batch = SnapshotBatch.parse(json(r));
    assert.deepEqual(
      batch.items.map((i) => [i.vm, i.platform, i.result]),
      [
        ["kv-a", "kubevirt", "Ready"],
        ["vmo-a", "vmoperator", "Ready"],
        ["vmo-b", "vmoperator", "Ready"],
      ],
    );
    const writes = (await writesIn(ns, since))
      .map(
        (e) => `${e.verb} ${e.objectRef?.apiGroup}/${e.objectRef?.resource} ${e.objectRef?.name}`,
      )
      .sort();
    assert.deepEqual(
      writes,
      batch.items
        .map(
          (i) =>
            `create ${i.platform === "kubevirt" ? "snapshot.kubevirt.io" : "vmoperator.vmware.com"}/virtualmachinesnapshots ${i.snapshot}`,
        )
        .sort(),
    );
  });
});
