import { describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { existsSync, readFileSync } from "node:fs";
import {
  loadCrds,
  loadEnvironmentCrds,
  projectCrdsDir,
  stripDocKeys,
  vmsnapCrdsDir,
} from "./crds.js";

describe("CRD loading", () => {
  it("strips documentation-only x-doc-* keys at any depth", () => {
    const out = stripDocKeys({
      a: 1,
      "x-doc-examples": [1],
      b: { "x-doc-default": 2, c: [{ "x-doc-x": 1, d: 3 }] },
    });
    assert.deepEqual(out, { a: 1, b: { c: [{ d: 3 }] } });
  });

  it("loads the project's CRDs for every platform, without the optional ones", async () => {
    const crds = await loadCrds(projectCrdsDir());
    const names = new Set(crds.map((c) => c.metadata.name));
    for (const n of [
      "virtualmachines.kubevirt.io",
      "virtualmachineinstances.kubevirt.io",
      "virtualmachinesnapshots.snapshot.kubevirt.io",
      "virtualmachinesnapshotcontents.snapshot.kubevirt.io",
      "virtualmachinerestores.snapshot.kubevirt.io",
      "virtualmachineclones.clone.kubevirt.io",
      "storageprofiles.cdi.kubevirt.io",
      "datavolumes.cdi.kubevirt.io",
      "volumesnapshots.snapshot.storage.k8s.io",
      "volumesnapshotcontents.snapshot.storage.k8s.io",
      "volumesnapshotclasses.snapshot.storage.k8s.io",
      "virtualmachinesnapshots.virtualization.deckhouse.io",
      "virtualmachineoperations.virtualization.deckhouse.io",
      "virtualmachinesnapshotoperations.virtualization.deckhouse.io",
      "virtualdisksnapshots.virtualization.deckhouse.io",
      "virtualmachinesnapshots.vmoperator.vmware.com",
      "virtualmachines.vmoperator.vmware.com",
    ]) {
      assert.ok(names.has(n), `${n} is authored in crds/`);
    }
    assert.ok(
      !names.has("virtualmachinerestores.virtualization.deckhouse.io"),
      "optional/ is not installed by default",
    );
    const withOptional = await loadCrds(projectCrdsDir(), { includeOptional: true });
    assert.ok(
      withOptional.some(
        (c) => c.metadata.name === "virtualmachinerestores.virtualization.deckhouse.io",
      ),
    );
  });

  it(
    "reads the upstream manifests too, with x-doc keys removed",
    {
      skip:
        !existsSync(path.resolve(projectCrdsDir(), "../../shared/upstream-crds")) &&
        "no ../shared/upstream-crds here",
    },
    async () => {
      const crds = await loadCrds(path.resolve(projectCrdsDir(), "../../shared/upstream-crds"));
      assert.ok(crds.length >= 30);
      assert.ok(!JSON.stringify(crds).includes('"x-doc-'));
    },
  );

  it("installs vmsnap's own SnapshotPolicy CRD with either set, and deploy/controller/ ships the same file", async () => {
    const upstream = path.resolve(projectCrdsDir(), "../../shared/upstream-crds");
    for (const dir of [projectCrdsDir(), ...(existsSync(upstream) ? [upstream] : [])]) {
      const names = (await loadEnvironmentCrds(dir)).map((c) => c.metadata.name);
      assert.equal(names.filter((n) => n === "snapshotpolicies.vmsnap.io").length, 1, dir);
    }
    assert.equal(
      readFileSync(path.join(vmsnapCrdsDir(), "snapshotpolicies.vmsnap.io.yaml"), "utf8"),
      readFileSync(path.resolve(projectCrdsDir(), "../deploy/controller/01-crd.yaml"), "utf8"),
      "deploy/controller/01-crd.yaml is a copy of crds/vmsnap/snapshotpolicies.vmsnap.io.yaml",
    );
  });
});
