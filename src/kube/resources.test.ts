import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Core, Csi, KubeVirt, apiVersionOf, keyOf, resourcePath } from "./resources.js";

describe("resourcePath", () => {
  it("addresses core, grouped, namespaced and cluster-scoped resources", () => {
    assert.equal(resourcePath(Core.pvcs, "ns1"), "/api/v1/namespaces/ns1/persistentvolumeclaims");
    assert.equal(
      resourcePath(KubeVirt.snapshots, "ns1", "s1"),
      "/apis/snapshot.kubevirt.io/v1beta1/namespaces/ns1/virtualmachinesnapshots/s1",
    );
    assert.equal(
      resourcePath(KubeVirt.vms, "ns1", "vm1", "status"),
      "/apis/kubevirt.io/v1/namespaces/ns1/virtualmachines/vm1/status",
    );
    assert.equal(
      resourcePath(Csi.volumeSnapshotClasses, "ignored", "c1"),
      "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/c1",
    );
    assert.equal(resourcePath(KubeVirt.vms), "/apis/kubevirt.io/v1/virtualmachines");
  });
  it("encodes path segments", () => {
    assert.equal(
      resourcePath(Core.pvcs, "a b", "c/d"),
      "/api/v1/namespaces/a%20b/persistentvolumeclaims/c%2Fd",
    );
  });
  it("apiVersionOf and keyOf", () => {
    assert.equal(apiVersionOf(Core.pvcs), "v1");
    assert.equal(apiVersionOf(KubeVirt.clones), "clone.kubevirt.io/v1beta1");
    assert.equal(keyOf({ metadata: { name: "x", namespace: "n" } }), "n/x");
    assert.equal(keyOf({ metadata: { name: "x" } }), "x");
  });
});
