// `vmsnap check VM -o json` (SPEC §4): one VM per problem of the storage analysis, each finding
// with its fix; the verdict's exit code (0 snapshottable, 1 blocked); and the request budget —
// shared storage facts are read once, and a check never writes.
import { before, after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import { Preflight, type Finding } from "../../src/core/schema.js";
import type { AuditEvent } from "../../src/playground/audit.js";
import {
  STORAGE,
  ensureSimStorage,
  pvcManifest,
  vmManifest,
  type VmOptions,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { requestsSince, writesIn } from "../helpers/audit.js";
import { PROBE } from "../../src/playground/identities.js";
import { runCli, json, type CliResult } from "../helpers/cli.js";
import { waitFor, type Json } from "../helpers/kube.js";

let c: KubeClient;
let ns: string;

async function check(vm: string): Promise<{ r: CliResult; p: Preflight }> {
  const r = await runCli(["-n", ns, "check", vm, "-o", "json"]);
  const parsed = Preflight.safeParse(json(r));
  assert.ok(parsed.success, `not a Preflight: ${parsed.error?.message}\n${r.stdout}\n${r.stderr}`);
  return { r, p: parsed.data };
}

/** The one finding whose message matches, which must carry a fix. */
function finding(list: Finding[], pattern: RegExp, what: string): Finding {
  const found = list.filter((f) => pattern.test(f.message));
  assert.equal(
    found.length,
    1,
    `expected one ${what} matching ${pattern}: ${JSON.stringify(list)}`,
  );
  const f = found[0]!;
  assert.ok(f.fix && f.fix.length > 0, `the ${what} "${f.message}" has no fix`);
  return f;
}

async function pvc(name: string, storageClassName: string = STORAGE.snapshot, size = "10Gi") {
  await c.create(Core.pvcs, pvcManifest({ name, namespace: ns, storageClassName, size }));
  await waitFor(c, Core.pvcs, name, ns, (p) => p.status?.phase === "Bound");
}

type Status = "Running" | "Stopped" | "Paused";

async function vm(
  o: Omit<VmOptions, "namespace">,
  status: Status,
  vmiReady: (vmi: Json) => boolean = () => true,
) {
  await c.create(KubeVirt.vms, vmManifest({ ...o, namespace: ns }));
  await waitFor(c, KubeVirt.vms, o.name, ns, (v) => v.status?.printableStatus === status);
  if (status !== "Stopped") await waitFor(c, KubeVirt.vmis, o.name, ns, vmiReady);
}

const hasCondition = (type: string) => (o: Json) =>
  ((o.status?.conditions ?? []) as Json[]).some((x) => x.type === type && x.status === "True");

async function snapshotOf(name: string, vmName: string) {
  await c.create(KubeVirt.snapshots, {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace: ns },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vmName } },
  });
  await waitFor(c, KubeVirt.snapshots, name, ns, (s) => s.status?.readyToUse === true);
  await waitFor(c, KubeVirt.vms, vmName, ns, (v) => !v.status?.snapshotInProgress);
}

const GOOD_SIZES = { "good-root": "10Gi", "good-data": "5Gi", "good-logs": "512Mi" };
const GOOD_BYTES = 10 * 2 ** 30 + 5 * 2 ** 30 + 512 * 2 ** 20;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "cli-check");
  const disk = (name: string) => [{ name: "root", claimName: name }];
  await Promise.all([
    // Storage without any VolumeSnapshotClass.
    (async () => {
      await pvc("nosnap-root", STORAGE.noSnapshot);
      await vm({ name: "nosnap", runStrategy: "Halted", disks: disk("nosnap-root") }, "Stopped");
    })(),
    // Storage with two VolumeSnapshotClasses, none default.
    (async () => {
      await pvc("ambig-root", STORAGE.ambiguous);
      await vm({ name: "ambig", runStrategy: "Halted", disks: disk("ambig-root") }, "Stopped");
    })(),
    // A claim hot-plugged into the running VMI only.
    (async () => {
      await pvc("hot-root");
      await pvc("hot-extra", STORAGE.snapshot, "3Gi");
      await vm(
        {
          name: "hot",
          disks: disk("hot-root"),
          annotations: { [SIM.guestAgent]: "true", [SIM.hotplugVolumes]: "hot-extra" },
        },
        "Running",
        (vmi) => ((vmi.status?.volumeStatus ?? []) as Json[]).some((s) => s.name === "hot-extra"),
      );
    })(),
    // containerDisk and cloudInit beside a real disk.
    (async () => {
      await pvc("eph-root");
      await vm(
        {
          name: "eph",
          runStrategy: "Halted",
          containerDisk: true,
          cloudInit: true,
          disks: disk("eph-root"),
        },
        "Stopped",
      );
    })(),
    // A Windows guest with its agent.
    (async () => {
      await pvc("win-root");
      await vm(
        {
          name: "win",
          disks: disk("win-root"),
          annotations: { [SIM.guestAgent]: "true", [SIM.guestOs]: "windows" },
        },
        "Running",
        (vmi) => Boolean(vmi.status?.guestOSInfo) && hasCondition("AgentConnected")(vmi),
      );
    })(),
    // Running without a guest agent.
    (async () => {
      await pvc("noagent-root");
      await vm({ name: "noagent", disks: disk("noagent-root") }, "Running");
    })(),
    // Paused.
    (async () => {
      await pvc("paused-root");
      await vm(
        { name: "paused", disks: disk("paused-root"), annotations: { [SIM.paused]: "true" } },
        "Paused",
        hasCondition("Paused"),
      );
    })(),
    // Stopped, then runStrategy RerunOnFailure (it stays stopped).
    (async () => {
      await pvc("rerun-root");
      await vm({ name: "rerun", runStrategy: "Halted", disks: disk("rerun-root") }, "Stopped");
      await c.patch(KubeVirt.vms, "rerun", ns, { spec: { runStrategy: "RerunOnFailure" } });
      await waitFor(
        c,
        KubeVirt.vms,
        "rerun",
        ns,
        (v) =>
          v.status?.runStrategy === "RerunOnFailure" && v.status?.printableStatus === "Stopped",
      );
    })(),
    // A good running VM with its agent, three disks and two snapshots.
    (async () => {
      for (const [name, size] of Object.entries(GOOD_SIZES))
        await pvc(name, STORAGE.snapshot, size);
      await vm(
        {
          name: "good",
          disks: [
            { name: "root", claimName: "good-root" },
            { name: "data", claimName: "good-data" },
            { name: "logs", claimName: "good-logs" },
          ],
          annotations: { [SIM.guestAgent]: "true" },
        },
        "Running",
        hasCondition("AgentConnected"),
      );
      await snapshotOf("good-1", "good");
      await snapshotOf("good-2", "good");
    })(),
  ]);
  // A snapshot of another VM in the namespace does not count for "good".
  await snapshotOf("eph-1", "eph");
});

after(() => c?.close());

describe("check: blocked VMs (exit 1)", () => {
  it("a disk on a StorageClass without VolumeSnapshotClass", async () => {
    const { r, p } = await check("nosnap");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(p.snapshottable, false);
    const f = finding(
      p.problems,
      /no VolumeSnapshotClass for provisioner nfs\.sim\.vmsnap\.io/,
      "problem",
    );
    assert.match(f.message, new RegExp(STORAGE.noSnapshot));
    assert.match(f.fix!, /VolumeSnapshotClass/);
    const root = p.volumes.find((v) => v.name === "root");
    assert.equal(root?.included, false);
    assert.equal(root?.storageClass, STORAGE.noSnapshot);
    assert.equal(root?.provisioner, "nfs.sim.vmsnap.io");
    assert.match(root?.reason ?? "", /no VolumeSnapshotClass/);
  });

  it("two VolumeSnapshotClasses for the driver and no default", async () => {
    const { r, p } = await check("ambig");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(p.snapshottable, false);
    const f = finding(
      p.problems,
      /2 VolumeSnapshotClasses match provisioner multi\.sim\.vmsnap\.io/,
      "problem",
    );
    assert.match(f.message, /sim-multi-fast/);
    assert.match(f.message, /sim-multi-slow/);
    assert.match(f.fix!, /snapshot\.storage\.kubernetes\.io\/is-default-class|StorageProfile/);
    assert.equal(p.volumes.find((v) => v.name === "root")?.included, false);
  });

  it("a stopped VM with runStrategy RerunOnFailure", async () => {
    const { r, p } = await check("rerun");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(p.snapshottable, false);
    assert.equal(p.mode, "offline");
    assert.equal(p.problems.length, 1, JSON.stringify(p.problems));
    const f = finding(p.problems, /RerunOnFailure/, "problem");
    assert.match(f.fix!, /Halted|start the VM/);
    assert.equal(p.volumes.find((v) => v.name === "root")?.included, true);
  });
});

describe("check: snapshottable VMs with warnings (exit 0)", () => {
  it("a claim hot-plugged into the running VM only: warned, listed, not included", async () => {
    const { r, p } = await check("hot");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.snapshottable, true);
    assert.deepEqual(p.problems, []);
    const hot = p.volumes.find((v) => v.claimName === "hot-extra");
    assert.ok(hot, JSON.stringify(p.volumes));
    assert.equal(hot.hotplug, "vmi-only");
    assert.equal(hot.included, false);
    assert.ok(hot.reason, "an excluded volume says why");
    finding(p.warnings, /hot-extra.*hot-plugged into the running VM only/, "warning");
    assert.deepEqual(
      p.volumes.filter((v) => v.included).map((v) => v.name),
      ["root"],
    );
    assert.equal(p.estimatedBytes, 10 * 2 ** 30, "the hot-plug is not in the estimate");
  });

  it("containerDisk and cloudInit are excluded with reasons, not problems", async () => {
    const { r, p } = await check("eph");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.snapshottable, true);
    assert.deepEqual(p.problems, []);
    const cd = p.volumes.find((v) => v.name === "containerdisk");
    const ci = p.volumes.find((v) => v.name === "cloudinitdisk");
    assert.equal(cd?.type, "containerDisk");
    assert.equal(cd?.included, false);
    assert.match(cd?.reason ?? "", /containerDisk/);
    assert.equal(ci?.type, "cloudInitNoCloud");
    assert.equal(ci?.included, false);
    assert.match(ci?.reason ?? "", /cloudInit/);
    assert.equal(p.volumes.find((v) => v.name === "root")?.included, true);
    assert.equal(p.mode, "offline");
    assert.equal(p.expectedConsistency, "consistent (VM stopped)");
    assert.equal(p.existingSnapshots, 1);
  });

  it("a Windows guest with its agent: the VSS note", async () => {
    const { r, p } = await check("win");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.snapshottable, true);
    assert.equal(p.expectedConsistency, "application-consistent");
    const f = finding(p.warnings, /Windows/, "warning");
    assert.match(f.message, /VSS/);
    assert.match(f.message, /10 s/);
    assert.match(f.message, /QuiesceTimeout/);
  });

  it("running without a guest agent: crash-consistent", async () => {
    const { r, p } = await check("noagent");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.snapshottable, true);
    assert.equal(p.mode, "online");
    assert.equal(p.expectedConsistency, "crash-consistent");
    const f = finding(p.warnings, /crash-consistent/, "warning");
    assert.match(f.fix!, /guest-agent|guest agent/);
  });

  it("a paused VM", async () => {
    const { r, p } = await check("paused");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.snapshottable, true);
    assert.equal(p.mode, "online");
    finding(p.warnings, /paused/i, "warning");
    assert.notEqual(p.expectedConsistency, "application-consistent");
  });
});

describe("check: a good VM", () => {
  it("running with its agent: snapshottable online, application-consistent, estimate and count", async () => {
    const { r, p } = await check("good");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.kind, "Preflight");
    assert.equal(p.namespace, ns);
    assert.equal(p.vm, "good");
    assert.equal(p.platform, "kubevirt");
    assert.equal(p.snapshottable, true);
    assert.equal(p.mode, "online");
    assert.equal(p.expectedConsistency, "application-consistent");
    assert.deepEqual(p.problems, []);
    assert.deepEqual(p.warnings, []);
    assert.deepEqual(
      p.volumes.map((v) => [v.name, v.included, v.volumeSnapshotClass, v.requestedBytes]),
      [
        ["root", true, "sim-csi-snapclass", 10 * 2 ** 30],
        ["data", true, "sim-csi-snapclass", 5 * 2 ** 30],
        ["logs", true, "sim-csi-snapclass", 512 * 2 ** 20],
      ],
    );
    assert.equal(p.estimatedBytes, GOOD_BYTES);
    assert.equal(p.existingSnapshots, 2);
  });
});

describe("check: request budget (SPEC §4, §9)", () => {
  const describeRequest = (e: AuditEvent) => `${e.verb} ${e.requestURI}`;
  const reads = (requests: AuditEvent[], resource: string) =>
    requests.filter((e) => e.objectRef?.resource === resource && !e.objectRef.name).length;

  it("a check of a 3-disk VM makes at most 8 requests, reads each storage kind once, writes nothing", async () => {
    // Run as an identity nothing else uses, so every request in the log is this check's.
    const since = new Date();
    const r = await runCli(["-n", ns, "check", "good", "-o", "json"], { user: PROBE.name });
    assert.equal(r.code, 0, r.stderr);
    const requests = await requestsSince(since, PROBE.name);
    const list = requests.map(describeRequest).join("\n  ");
    assert.ok(requests.length <= 8, `${requests.length} requests (budget 8):\n  ${list}`);
    for (const resource of ["storageclasses", "volumesnapshotclasses", "storageprofiles"])
      assert.equal(
        reads(requests, resource),
        1,
        `${resource} must be read exactly once:\n  ${list}`,
      );
    assert.deepEqual(
      requests
        .filter((e) => ["create", "update", "patch", "delete", "deletecollection"].includes(e.verb))
        .map(describeRequest),
      [],
      "check must not write (not even a dry run)",
    );
  });

  it("check writes nothing", async () => {
    const since = new Date();
    for (const vm of ["good", "nosnap", "hot"]) await runCli(["-n", ns, "check", vm]);
    const w = await writesIn(ns, since);
    assert.deepEqual(w.map(describeRequest), []);
  });
});
