// The upstream controllers in the loop (src/playground/controllers-upstream.ts), shown with
// kubectl alone: kube-controller-manager's garbage collector, namespace controller and PV binder
// (WaitForFirstConsumer included), and the CSI snapshot-controller's binding and default class.
// Each test also shows which upstream component wrote the result (managedFields managers).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { findBinaries } from "../../src/playground/binaries.js";
import { STORAGE, ensureSimStorage } from "../../src/playground/fixtures.js";
import { adminClient, adminKubeconfig, newNamespace } from "../helpers/env.js";

const exec = promisify(execFile);
let ns: string;

async function kubectl(args: string[], input?: string): Promise<string> {
  const kubectlPath = findBinaries().kubectl;
  assert.ok(kubectlPath, "kubectl is built by the harness");
  const child = exec(kubectlPath, ["--kubeconfig", adminKubeconfig(), ...args], {
    timeout: 150_000,
  });
  if (input !== undefined) child.child.stdin?.end(input);
  const { stdout } = await child;
  return stdout;
}

const apply = (manifest: object) => kubectl(["apply", "-f", "-"], JSON.stringify(manifest));
const jsonpath = (kindName: string, path: string, namespace = ns) =>
  kubectl(["get", kindName, "-n", namespace, "-o", `jsonpath=${path}`]);
const waitJsonpath = (kindName: string, expr: string, namespace = ns) =>
  kubectl(["wait", kindName, "-n", namespace, `--for=jsonpath=${expr}`, "--timeout=120s"]);

/** The field managers that wrote an object's status subresource. */
async function statusManagers(kindName: string, namespace = ns): Promise<string[]> {
  const fields = JSON.parse(await jsonpath(kindName, "{.metadata.managedFields}", namespace)) as {
    manager: string;
    subresource?: string;
  }[];
  return fields.filter((f) => f.subresource === "status").map((f) => f.manager);
}

/** Event reasons for one object, waited for by kubectl's own watch of events. */
async function waitForEventReason(name: string, reason: string): Promise<void> {
  // `kubectl wait` cannot name an event (their names are generated); list, then watch-list.
  const seen = async () =>
    (
      await kubectl([
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        `involvedObject.name=${name}`,
        "-o",
        "jsonpath={.items[*].reason}",
      ])
    ).split(" ");
  const deadline = Date.now() + 120_000;
  while (!(await seen()).includes(reason)) {
    assert.ok(Date.now() < deadline, `no ${reason} event for ${name}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const pvc = (name: string, storageClassName?: string) => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, namespace: ns },
  spec: {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "1Gi" } },
    ...(storageClassName ? { storageClassName } : {}),
  },
});

const volumeSnapshot = (name: string, claim: string) => ({
  apiVersion: "snapshot.storage.k8s.io/v1",
  kind: "VolumeSnapshot",
  metadata: { name, namespace: ns },
  spec: { source: { persistentVolumeClaimName: claim } },
});

before(async () => {
  const c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "upstreamctl");
  c.close();
});

describe("kube-controller-manager in the loop", () => {
  it("the garbage collector deletes an object whose owner is deleted", async () => {
    await kubectl(["create", "configmap", "owner", "-n", ns]);
    const uid = await jsonpath("configmap/owner", "{.metadata.uid}");
    await apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "dependent",
        namespace: ns,
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid }],
      },
    });
    await kubectl(["delete", "configmap", "owner", "-n", ns]);
    await kubectl(["wait", "configmap/dependent", "-n", ns, "--for=delete", "--timeout=120s"]);
    await assert.rejects(jsonpath("configmap/dependent", "{.metadata.name}"), /NotFound/);
  });

  it("deleting a namespace finishes: its objects, claims and snapshots go, then the namespace", async () => {
    const c = await adminClient();
    const doomed = await newNamespace(c, "upstreamctl-doomed");
    c.close();
    await kubectl(["create", "configmap", "data", "-n", doomed]);
    await apply({
      ...pvc("disk", STORAGE.snapshot),
      metadata: { name: "disk", namespace: doomed },
    });
    await waitJsonpath("pvc/disk", "{.status.phase}=Bound", doomed);
    await apply({
      ...volumeSnapshot("snap", "disk"),
      metadata: { name: "snap", namespace: doomed },
    });
    await waitJsonpath("volumesnapshot/snap", "{.status.readyToUse}=true", doomed);
    await kubectl(["delete", "namespace", doomed, "--timeout=150s"]);
    await assert.rejects(kubectl(["get", "namespace", doomed]), /NotFound/);
  });

  it("a WaitForFirstConsumer claim stays Pending until a consumer runs, then the binder binds it", async () => {
    await apply(pvc("wffc-disk", STORAGE.wffc));
    await waitForEventReason("wffc-disk", "WaitForFirstConsumer");
    assert.equal(await jsonpath("pvc/wffc-disk", "{.status.phase}"), "Pending");
    assert.equal(await jsonpath("pvc/wffc-disk", "{.spec.volumeName}"), "");
    // A running KubeVirt VM is the consumer (its simulated scheduler picks the node).
    await apply({
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "consumer", namespace: ns },
      spec: {
        runStrategy: "Always",
        template: {
          spec: {
            domain: { devices: { disks: [{ name: "root", disk: { bus: "virtio" } }] } },
            volumes: [{ name: "root", persistentVolumeClaim: { claimName: "wffc-disk" } }],
          },
        },
      },
    });
    await waitJsonpath("pvc/wffc-disk", "{.status.phase}=Bound");
    const volume = await jsonpath("pvc/wffc-disk", "{.spec.volumeName}");
    assert.equal(await jsonpath(`pv/${volume}`, "{.status.phase}"), "Bound");
    assert.ok((await statusManagers("pvc/wffc-disk")).includes("kube-controller-manager"));
    assert.equal(
      await jsonpath(
        "pvc/wffc-disk",
        "{.metadata.annotations.pv\\.kubernetes\\.io/bind-completed}",
      ),
      "yes",
    );
  });

  it("deleting a bound claim releases its volume, which the provisioner deletes", async () => {
    await apply(pvc("short-lived", STORAGE.snapshot));
    await waitJsonpath("pvc/short-lived", "{.status.phase}=Bound");
    const volume = await jsonpath("pvc/short-lived", "{.spec.volumeName}");
    await kubectl(["delete", "pvc", "short-lived", "-n", ns, "--timeout=120s"]);
    await kubectl(["wait", `pv/${volume}`, "--for=delete", "--timeout=120s"]);
  });
});

describe("snapshot-controller in the loop", () => {
  it("a VolumeSnapshot without a class gets the driver's default class and binds to its content", async () => {
    await apply(pvc("source", STORAGE.snapshot));
    await waitJsonpath("pvc/source", "{.status.phase}=Bound");
    await apply(volumeSnapshot("snap", "source"));
    await waitJsonpath("volumesnapshot/snap", "{.status.readyToUse}=true");
    assert.equal(
      await jsonpath("volumesnapshot/snap", "{.spec.volumeSnapshotClassName}"),
      "sim-csi-snapclass",
    );
    const content = await jsonpath(
      "volumesnapshot/snap",
      "{.status.boundVolumeSnapshotContentName}",
    );
    const uid = await jsonpath("volumesnapshot/snap", "{.metadata.uid}");
    assert.equal(
      await jsonpath(`volumesnapshotcontent/${content}`, "{.spec.volumeSnapshotRef.uid}"),
      uid,
    );
    assert.equal(
      await jsonpath(`volumesnapshotcontent/${content}`, "{.spec.volumeSnapshotClassName}"),
      "sim-csi-snapclass",
    );
    assert.ok((await statusManagers("volumesnapshot/snap")).includes("snapshot-controller"));
  });

  it("a VolumeSnapshot of a driver with two classes and no default fails as upstream does", async () => {
    await apply(pvc("multi", STORAGE.ambiguous));
    await waitJsonpath("pvc/multi", "{.status.phase}=Bound");
    await apply(volumeSnapshot("no-default", "multi"));
    await kubectl([
      "wait",
      "volumesnapshot/no-default",
      "-n",
      ns,
      "--for=jsonpath={.status.error.message}",
      "--timeout=120s",
    ]);
    assert.match(
      await jsonpath("volumesnapshot/no-default", "{.status.error.message}"),
      /cannot find default snapshot class/,
    );
    assert.equal(
      await jsonpath("volumesnapshot/no-default", "{.spec.volumeSnapshotClassName}"),
      "",
    );
  });

  it("deleting a VolumeSnapshot deletes its content (deletionPolicy Delete)", async () => {
    await apply(volumeSnapshot("to-delete", "source"));
    await waitJsonpath("volumesnapshot/to-delete", "{.status.readyToUse}=true");
    const content = await jsonpath(
      "volumesnapshot/to-delete",
      "{.status.boundVolumeSnapshotContentName}",
    );
    await kubectl(["delete", "volumesnapshot", "to-delete", "-n", ns, "--timeout=120s"]);
    await kubectl(["wait", `volumesnapshotcontent/${content}`, "--for=delete", "--timeout=120s"]);
  });
});
