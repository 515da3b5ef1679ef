// kubectl (built from the same Kubernetes release) against the shared environment, as a user of
// the KubeVirt documentation would use it.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import { findBinaries } from "../../src/playground/binaries.js";
import { ensureSimStorage, pvcManifest, vmManifest } from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { adminClient, adminKubeconfig, newNamespace } from "../helpers/env.js";
import { waitFor } from "../helpers/kube.js";

const run = promisify(execFile);
let c: KubeClient;
let ns: string;

async function kubectl(args: string[], input?: string): Promise<string> {
  const kubectlPath = findBinaries().kubectl;
  assert.ok(kubectlPath, "kubectl is built by the harness");
  const child = run(kubectlPath, ["--kubeconfig", adminKubeconfig(), ...args], { timeout: 60_000 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "kubectl");
  await c.create(Core.pvcs, pvcManifest({ name: "web-root", namespace: ns, data: "web-v1" }));
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name: "web",
      namespace: ns,
      annotations: { [SIM.guestAgent]: "true" },
      disks: [{ name: "rootdisk", claimName: "web-root" }],
    }),
  );
  await waitFor(c, KubeVirt.vms, "web", ns, (v) => v.status?.printableStatus === "Running");
});

describe("kubectl against the playground API", () => {
  it("`kubectl get vmsnapshots,vms -A` works and shows the KubeVirt printer columns", async () => {
    const out = await kubectl(["get", "vmsnapshots,vms", "-A"]);
    assert.match(
      out,
      new RegExp(`${ns}\\s+virtualmachine.kubevirt.io/web\\s+\\S+\\s+Running\\s+True`),
    );
  });

  it("a VirtualMachineSnapshot from the KubeVirt documentation reaches Succeeded / readyToUse", async () => {
    const manifest = [
      "apiVersion: snapshot.kubevirt.io/v1beta1",
      "kind: VirtualMachineSnapshot",
      "metadata:",
      "  name: snap-web",
      `  namespace: ${ns}`,
      "spec:",
      "  source:",
      "    apiGroup: kubevirt.io",
      "    kind: VirtualMachine",
      "    name: web",
      "",
    ].join("\n");
    assert.match(
      await kubectl(["apply", "-f", "-"], manifest),
      /virtualmachinesnapshot.snapshot.kubevirt.io\/snap-web created/,
    );
    await kubectl([
      "wait",
      "-n",
      ns,
      "virtualmachinesnapshots.snapshot.kubevirt.io/snap-web",
      "--for=condition=Ready",
      "--timeout=30s",
    ]);
    const out = await kubectl([
      "get",
      "-n",
      ns,
      "virtualmachinesnapshots.snapshot.kubevirt.io",
      "snap-web",
      "-o",
      "jsonpath={.status.phase} {.status.readyToUse} {.status.indications}",
    ]);
    assert.equal(out, 'Succeeded true ["Online","GuestAgent"]');
    const table = await kubectl(["get", "-n", ns, "virtualmachinesnapshots.snapshot.kubevirt.io"]);
    assert.match(table, /SOURCEKIND\s+SOURCENAME\s+PHASE\s+READYTOUSE/);
  });
});
