// vmsnap on an older Deckhouse: a control plane of its own whose virtualization API has no
// VirtualMachineOperation Restore (only power operations) and no VirtualMachineSnapshotOperation,
// but the legacy VirtualMachineRestore,
// and whose snapshot schemas still carry the volumeSnapshotClass fields (before v0.24). vmsnap must
// read that from discovery and the OpenAPI document: send the classes, restore through a
// VirtualMachineRestore (Safe, the VM stopped first), and refuse a clone clearly.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import type { KubeClient } from "../../src/kube/client.js";
import { Deckhouse } from "../../src/kube/resources.js";
import { crdsDirFromEnv, projectCrdsDir } from "../../src/playground/crds.js";
import { startEnvironment, type Environment } from "../../src/playground/environment.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { ErrorObject, Restore, Snapshot } from "../../src/core/schema.js";
import { json, runCli, type CliResult } from "../helpers/cli.js";
import { type Json } from "../helpers/kube.js";
import { dhFingerprints, makeDhVm, waitDhVmPhase, writeDhDisks } from "../helpers/deckhouse.js";

const NS = "default";
let dir: string;
let env: Environment;
let c: KubeClient;

type Crd = Json;

/** The CRD set of the run (own or upstream), made to look like Deckhouse before v0.24/v1.1. */
async function legacyCrds(into: string): Promise<void> {
  const source = crdsDirFromEnv();
  await cp(source, into, { recursive: true });
  const dh = path.join(into, "deckhouse");
  for (const f of (await readdir(dh)).filter((x) => x.endsWith(".yaml"))) {
    const text = await readFile(path.join(dh, f), "utf8");
    const crd = parse(text) as Crd | null;
    const plural = crd?.spec?.names?.plural as string | undefined;
    if (plural === "virtualmachinesnapshotoperations") {
      await rm(path.join(dh, f));
      continue;
    }
    if (plural === "virtualmachineoperations") {
      // Operations before v1.1: power and migration only, no Restore or Clone.
      for (const v of crd!.spec.versions as Crd[])
        v.schema.openAPIV3Schema.properties.spec.properties.type.enum = [
          "Restart",
          "Start",
          "Stop",
          "Migrate",
          "Evict",
        ];
      await writeFile(path.join(dh, f), stringify(crd));
      continue;
    }
    if (plural !== "virtualdisksnapshots" && plural !== "virtualmachinesnapshots") continue;
    for (const v of crd!.spec.versions as Crd[]) {
      const spec = v.schema.openAPIV3Schema.properties.spec;
      if (plural === "virtualdisksnapshots")
        spec.properties.volumeSnapshotClassName = { type: "string" };
      else
        spec.properties.volumeSnapshotClasses = {
          type: "array",
          items: {
            type: "object",
            properties: {
              storageClassName: { type: "string" },
              volumeSnapshotClassName: { type: "string" },
            },
          },
        };
    }
    await writeFile(path.join(dh, f), stringify(crd));
  }
  await mkdir(path.join(into, "legacy"), { recursive: true });
  await cp(
    path.join(projectCrdsDir(), "optional", "deckhouse-virtualmachinerestores.yaml"),
    path.join(into, "legacy", "deckhouse-virtualmachinerestores.yaml"),
  );
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-dh-legacy-"));
  await legacyCrds(path.join(dir, "crds"));
  env = await startEnvironment({ dir: path.join(dir, "cp"), crdsDir: path.join(dir, "crds") });
  c = env.admin;
  await Promise.all([
    makeDhVm(c, NS, "old", { agent: true }),
    makeDhVm(c, NS, "idle", { runPolicy: "Manual", running: false, disks: ["root"] }),
  ]);
});

after(async () => {
  await env?.stop();
  await rm(dir, { recursive: true, force: true });
});

const vmsnap = (...args: string[]): Promise<CliResult> =>
  runCli(["-n", NS, ...args], {
    kubeconfig: env.info.identities[VMSNAP_USER.name]!.kubeconfigPath,
  });

function expectExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
}

describe("Deckhouse before v1.1 (legacy restore, snapshot class fields)", () => {
  it("create sends volumeSnapshotClasses (VM) and volumeSnapshotClassName (disk), chosen by provisioner", async () => {
    const r = await vmsnap("create", "old", "--name", "old-1", "--yes", "-o", "json");
    expectExit(r, 0);
    assert.equal(Snapshot.parse(json(r)).readyToUse, true);
    const vms = (await c.get(Deckhouse.vmSnapshots, "old-1", NS)) as Json;
    assert.ok(Array.isArray(vms.spec.volumeSnapshotClasses), JSON.stringify(vms.spec));
    assert.ok(vms.spec.volumeSnapshotClasses.length >= 1);
    for (const x of vms.spec.volumeSnapshotClasses as Json[]) {
      assert.ok(x.storageClassName);
      assert.ok(x.volumeSnapshotClassName);
    }
    const d = await vmsnap(
      "create-disk",
      "idle-root",
      "--name",
      "idle-root-1",
      "--yes",
      "-o",
      "json",
    );
    expectExit(d, 0);
    const vds = (await c.get(Deckhouse.diskSnapshots, "idle-root-1", NS)) as Json;
    assert.equal(typeof vds.spec.volumeSnapshotClassName, "string");
  });

  it("restore goes through a VirtualMachineRestore (Safe) with the VM stopped first: the exact data back", async () => {
    await writeDhDisks(c, NS, "old", "v2");
    const r = await vmsnap("restore", "old", "old-1", "--stop", "--confirm", "old-1", "-o", "json");
    expectExit(r, 0);
    const res = Restore.parse(json(r));
    assert.equal(res.stoppedVm, true);
    assert.deepEqual(await dhFingerprints(c, NS, "old"), {
      "old-root": "old-root-v1",
      "old-data": "old-data-v1",
    });
    const restore = (await c.get(Deckhouse.vmRestores, res.restoreName, NS)) as Json;
    assert.equal(restore.spec.restoreMode, "Safe");
    assert.equal(restore.spec.virtualMachineSnapshotName, "old-1");
    await waitDhVmPhase(c, NS, "old", "Running");
  });

  it("clone is refused clearly: this version has no VirtualMachineSnapshotOperation", async () => {
    const r = await vmsnap("clone", "old-1", "--to", "old-copy", "--yes", "-o", "json");
    expectExit(r, 2);
    assert.match(ErrorObject.parse(json(r)).message, /no VirtualMachineSnapshotOperation/);
  });
});
