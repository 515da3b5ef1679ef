import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { findBinaries, kubeBuildDir, KUBERNETES_VERSION } from "./binaries.js";

describe("binary discovery", () => {
  const saved = process.env.KUBEBUILDER_ASSETS;
  afterEach(() => {
    if (saved === undefined) delete process.env.KUBEBUILDER_ASSETS;
    else process.env.KUBEBUILDER_ASSETS = saved;
  });

  it("KUBEBUILDER_ASSETS wins, as with envtest", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "assets-"));
    for (const b of ["etcd", "kube-apiserver", "kubectl"]) await writeFile(path.join(dir, b), "");
    process.env.KUBEBUILDER_ASSETS = dir;
    assert.deepEqual(findBinaries(), {
      etcd: path.join(dir, "etcd"),
      kubeApiserver: path.join(dir, "kube-apiserver"),
      kubectl: path.join(dir, "kubectl"),
    });
    await rm(dir, { recursive: true });
  });

  it("builds into a cache outside the repository, per Kubernetes version", () => {
    assert.ok(!kubeBuildDir().startsWith(path.resolve(import.meta.dirname, "..", "..")));
    assert.ok(kubeBuildDir().endsWith(`kube-v${KUBERNETES_VERSION}`));
  });
});
