import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import {
  Clone,
  Deletion,
  ErrorObject,
  Preflight,
  Restore,
  Snapshot,
  SnapshotList,
  VirtualMachineList,
} from "../core/schema.js";
import { VmsnapError } from "../core/errors.js";
import {
  type OutputObject,
  humanAge,
  humanBytes,
  humanDuration,
  parseOutputFormat,
  render,
} from "./output.js";

const NOW = new Date("2025-06-01T12:00:00Z");
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();
const GiB = 1024 ** 3;
// eslint-disable-next-line no-control-regex -- the point is to find escape sequences
const ANSI = /\u001b\[/;
// eslint-disable-next-line no-control-regex -- control characters other than newline
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const vmList: VirtualMachineList = {
  apiVersion: "vmsnap.io/v1",
  kind: "VirtualMachineList",
  items: [
    {
      namespace: "prod",
      name: "db-1",
      platform: "kubevirt",
      status: "Running",
      running: true,
      guestAgent: true,
      snapshotCount: 3,
      lastSnapshot: { name: "db-1-snapshot-20250601-115500", creationTime: ago(300) },
      snapshottable: true,
      reasons: [],
    },
    {
      namespace: "dev",
      name: "web",
      platform: "kubevirt",
      status: "Stopped",
      running: false,
      guestAgent: false,
      snapshotCount: 0,
      lastSnapshot: null,
      snapshottable: false,
      reasons: ["scratch: containerDisk volumes cannot be snapshotted"],
    },
    {
      namespace: "dev",
      name: "new-vm",
      platform: "kubevirt",
      status: "Provisioning",
      running: false,
      guestAgent: false,
      snapshotCount: 1,
      lastSnapshot: { name: "new-vm-snap", creationTime: ago(3 * 3600 + 3 * 60) },
      snapshottable: null,
      reasons: [],
    },
  ],
};

const snapshot: Snapshot = {
  apiVersion: "vmsnap.io/v1",
  kind: "Snapshot",
  name: "db-1-snapshot-20250601-115500",
  namespace: "prod",
  platform: "kubevirt",
  vm: "db-1",
  phase: "Succeeded",
  readyToUse: true,
  createdAt: ago(300),
  creationTime: ago(298),
  consistency: "crash-consistent",
  indications: ["Online", "QuiesceTimeout"],
  notes: [
    "QuiesceTimeout: the guest freeze timed out (Windows VSS allows at most 10 s): the data may not be application-consistent",
  ],
  includedVolumes: ["rootdisk", "data"],
  excludedVolumes: ["cloudinitdisk"],
  contentName: "vmsnapshot-content-7f3a",
  error: null,
  conditions: [
    { type: "Ready", status: "True", reason: "Operation complete", message: "Operation complete" },
    { type: "Progressing", status: "False" },
  ],
  diagnosis: [],
};

const failedSnapshot: Snapshot = {
  ...snapshot,
  name: "web-snapshot-20250601-100000",
  namespace: "dev",
  vm: "web",
  phase: "Failed",
  readyToUse: false,
  createdAt: ago(4 * 86400),
  creationTime: null,
  consistency: "unknown",
  indications: [],
  notes: [],
  includedVolumes: [],
  excludedVolumes: [],
  contentName: null,
  error: "VolumeSnapshot vmsnapshot-abc-volume-data failed:\nno VolumeSnapshotClass for driver x",
  conditions: [],
  diagnosis: [
    "no VolumeSnapshotClass matches provisioner hostpath.csi.k8s.io: create one with driver hostpath.csi.k8s.io",
  ],
};

const snapshotList: SnapshotList = {
  apiVersion: "vmsnap.io/v1",
  kind: "SnapshotList",
  items: [snapshot, failedSnapshot],
};

const preflight: Preflight = {
  apiVersion: "vmsnap.io/v1",
  kind: "Preflight",
  namespace: "prod",
  vm: "db-1",
  platform: "kubevirt",
  snapshottable: true,
  mode: "online",
  expectedConsistency: "application-consistent",
  volumes: [
    {
      name: "rootdisk",
      type: "dataVolume",
      claimName: "db-1-root",
      storageClass: "ceph-rbd",
      provisioner: "rbd.csi.ceph.com",
      volumeSnapshotClass: "ceph-rbd-snap",
      hotplug: "none",
      included: true,
      reason: null,
      requestedBytes: 20 * GiB,
    },
    {
      name: "data",
      type: "persistentVolumeClaim",
      claimName: "db-1-data",
      storageClass: "ceph-rbd",
      provisioner: "rbd.csi.ceph.com",
      volumeSnapshotClass: "ceph-rbd-snap",
      hotplug: "persisted",
      included: true,
      reason: null,
      requestedBytes: 10 * GiB,
    },
    {
      name: "cloudinitdisk",
      type: "cloudInitNoCloud",
      claimName: null,
      storageClass: null,
      provisioner: null,
      volumeSnapshotClass: null,
      hotplug: "none",
      included: false,
      reason: "cloudInitNoCloud volumes are not snapshotted",
      requestedBytes: null,
    },
  ],
  problems: [],
  warnings: [
    {
      message: "Windows guest: the VSS freeze is limited to 10 s",
      fix: "snapshot when the guest is idle",
    },
  ],
  existingSnapshots: 3,
  estimatedBytes: 30 * GiB,
};

const blocked: Preflight = {
  ...preflight,
  vm: "web",
  namespace: "dev",
  snapshottable: false,
  mode: "offline",
  expectedConsistency: "consistent (VM stopped)",
  problems: [
    {
      message: "volume data: no VolumeSnapshotClass for provisioner hostpath.csi.k8s.io",
      fix: "create a VolumeSnapshotClass with driver hostpath.csi.k8s.io",
    },
  ],
  warnings: [],
};

const restore: Restore = {
  apiVersion: "vmsnap.io/v1",
  kind: "Restore",
  namespace: "prod",
  vm: "db-1",
  snapshot: "db-1-snapshot-20250601-115500",
  phase: "Succeeded",
  safetySnapshot: "db-1-pre-restore-20250601-120000",
  stoppedVm: true,
  restartedVm: true,
  restoreName: "db-1-restore-20250601-120000",
  snapshotAgeSeconds: 3 * 3600 + 3 * 60,
  specChanges: ["spec.template.spec.domain.cpu.cores: 4 → 2"],
  volumesNotInSnapshot: ["scratch"],
  durationMs: 42_300,
};

const clone: Clone = {
  apiVersion: "vmsnap.io/v1",
  kind: "Clone",
  namespace: "prod",
  snapshot: "db-1-snapshot-20250601-115500",
  target: "db-1-copy",
  phase: "Succeeded",
  cloneName: "db-1-copy-clone",
  durationMs: 5200,
};

const deletion: Deletion = {
  apiVersion: "vmsnap.io/v1",
  kind: "Deletion",
  namespace: "dev",
  snapshot: "new-vm-snap",
  vm: "new-vm",
  phase: "Deleted",
  wasOnlySnapshot: true,
};

const error: ErrorObject = {
  apiVersion: "vmsnap.io/v1",
  kind: "Error",
  code: "NotFound",
  exitCode: 4,
  message: 'snapshot "nope" not found in namespace prod',
  hint: "list the snapshots with: vmsnap list -n prod",
};

const samples: [OutputObject, z.ZodType][] = [
  [vmList, VirtualMachineList],
  [snapshot, Snapshot],
  [failedSnapshot, Snapshot],
  [snapshotList, SnapshotList],
  [preflight, Preflight],
  [blocked, Preflight],
  [restore, Restore],
  [{ ...restore, phase: "DryRun", durationMs: null, restartedVm: false }, Restore],
  [clone, Clone],
  [deletion, Deletion],
  [{ ...deletion, phase: "DryRun" }, Deletion],
  [error, ErrorObject],
];

const plain = { color: false, now: NOW };
const table = (o: OutputObject) => render(o, "table", plain);
const wide = (o: OutputObject) => render(o, "wide", plain);

describe("samples", () => {
  it("are valid schema objects", () => {
    for (const [obj, schema] of samples) schema.parse(obj);
  });
});

describe("json and yaml", () => {
  it("json round-trips and validates", () => {
    for (const [obj, schema] of samples) {
      const text = render(obj, "json", plain);
      assert.ok(text.endsWith("}\n"));
      assert.equal(text, JSON.stringify(obj, null, 2) + "\n");
      const back: unknown = JSON.parse(text);
      assert.deepEqual(back, obj);
      schema.parse(back);
    }
  });
  it("yaml round-trips and validates", () => {
    for (const [obj, schema] of samples) {
      const text = render(obj, "yaml", plain);
      assert.match(text, /^apiVersion: vmsnap\.io\/v1\nkind: /);
      const back: unknown = parseYaml(text);
      assert.deepEqual(back, obj);
      schema.parse(back);
    }
  });
  it("json and yaml ignore color", () => {
    for (const [obj] of samples) {
      assert.doesNotMatch(render(obj, "json", { color: true }), ANSI);
      assert.doesNotMatch(render(obj, "yaml", { color: true }), ANSI);
    }
  });
});

describe("name", () => {
  it("prints kind.group/name lines like kubectl, naming the platform's resource", () => {
    assert.equal(
      render(vmList, "name", plain),
      "virtualmachine.kubevirt.io/db-1\nvirtualmachine.kubevirt.io/web\nvirtualmachine.kubevirt.io/new-vm\n",
    );
    assert.equal(
      render(snapshotList, "name", plain),
      "virtualmachinesnapshot.snapshot.kubevirt.io/db-1-snapshot-20250601-115500\nvirtualmachinesnapshot.snapshot.kubevirt.io/web-snapshot-20250601-100000\n",
    );
    assert.equal(
      render(snapshot, "name", plain),
      "virtualmachinesnapshot.snapshot.kubevirt.io/db-1-snapshot-20250601-115500\n",
    );
    assert.equal(
      render({ ...snapshot, platform: "deckhouse", disk: "root" }, "name", plain),
      "virtualdisksnapshot.virtualization.deckhouse.io/db-1-snapshot-20250601-115500\n",
    );
    assert.equal(
      render(
        { ...vmList, items: vmList.items.map((v) => ({ ...v, platform: "vmoperator" as const })) },
        "name",
        plain,
      ).split("\n")[0],
      "virtualmachine.vmoperator.vmware.com/db-1",
    );
    assert.equal(render(preflight, "name", plain), "virtualmachine.kubevirt.io/db-1\n");
    assert.equal(render(restore, "name", plain), "restore/db-1-restore-20250601-120000\n");
    assert.equal(render(clone, "name", plain), "clone/db-1-copy-clone\n");
    assert.equal(render(deletion, "name", plain), "snapshot/new-vm-snap\n");
    assert.equal(render({ ...vmList, items: [] }, "name", plain), "");
  });
  it("prints an error as text", () => {
    assert.match(render(error, "name", plain), /^error: snapshot "nope" not found/);
  });
});

describe("human views", () => {
  it("never contain ANSI escapes without color", () => {
    for (const [obj] of samples) {
      for (const format of ["table", "wide", "name"] as const) {
        assert.doesNotMatch(render(obj, format, plain), ANSI, `${obj.kind} ${format}`);
      }
    }
  });
  it("color marks phases and verdicts", () => {
    assert.match(render(snapshotList, "table", { color: true, now: NOW }), ANSI);
    assert.match(render(preflight, "table", { color: true, now: NOW }), ANSI);
    assert.match(render(error, "table", { color: true, now: NOW }), ANSI);
  });
  it("strip control characters coming from the cluster", () => {
    const evil: Snapshot = { ...failedSnapshot, error: "bad\u001b[2J\u009b31mthing\r\nmore" };
    for (const format of ["table", "wide"] as const) {
      const out = render({ ...snapshotList, items: [evil] }, format, plain);
      assert.doesNotMatch(out, ANSI);
      assert.doesNotMatch(render(evil, format, plain), CONTROL);
    }
    assert.match(render(evil, "table", plain), /Error: +bad\[2J31mthing more\n/);
  });
  it("keep columns aligned, with color too", () => {
    for (const color of [false, true]) {
      const out = render(vmList, "table", { color, now: NOW }).replace(
        // eslint-disable-next-line no-control-regex -- strip color to measure columns
        /\u001b\[\d+m/g,
        "",
      );
      const lines = out.trimEnd().split("\n");
      // Header cells are separated by at least two spaces ("LAST SNAPSHOT" has one).
      const starts = [...lines[0]!.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index);
      assert.equal(starts.length, 7);
      for (const line of lines.slice(1)) {
        for (const at of starts.slice(1)) {
          assert.notEqual(line[at], " ", `column at ${at} in ${line}`);
          assert.equal(line[at - 1], " ", `column at ${at} in ${line}`);
        }
      }
      for (const line of lines) assert.equal(line, line.trimEnd());
    }
  });
});

describe("VirtualMachineList", () => {
  it("table", () => {
    const out = table(vmList);
    assert.match(out, /^NAMESPACE +NAME +STATUS +AGENT +SNAPSHOTS +LAST SNAPSHOT +SNAPSHOTTABLE\n/);
    assert.match(out, /prod +db-1 +Running +yes +3 +db-1-snapshot-20250601-115500 \(5m\) +yes\n/);
    assert.match(out, /dev +web +Stopped +no +0 +<none> +no\n/);
    assert.match(out, /new-vm-snap \(3h3m\) +unknown\n/);
    assert.doesNotMatch(out, /PLATFORM|REASONS/);
  });
  it("shows NAMESPACE only across namespaces or with -A", () => {
    const one = { ...vmList, items: vmList.items.filter((vm) => vm.namespace === "dev") };
    assert.match(table(one), /^NAME +STATUS/);
    assert.match(render(one, "table", { ...plain, allNamespaces: true }), /^NAMESPACE +NAME/);
  });
  it("wide adds PLATFORM and REASONS", () => {
    const out = wide(vmList);
    assert.match(out, /SNAPSHOTTABLE +PLATFORM +REASONS\n/);
    assert.match(out, /no +kubevirt +scratch: containerDisk volumes cannot be snapshotted\n/);
  });
  it("empty", () => {
    assert.equal(table({ ...vmList, items: [] }), "No virtual machines found.\n");
  });
});

describe("SnapshotList", () => {
  it("table", () => {
    const out = table(snapshotList);
    assert.match(out, /^NAMESPACE +NAME +VM +PHASE +READY +CONSISTENCY +AGE\n/);
    assert.match(
      out,
      /prod +db-1-snapshot-20250601-115500 +db-1 +Succeeded +yes +crash-consistent +5m\n/,
    );
    assert.match(out, /dev +web-snapshot-20250601-100000 +web +Failed +no +unknown +4d\n/);
  });
  it("wide adds INDICATIONS, EXCLUDED and ERROR", () => {
    const out = wide(snapshotList);
    assert.match(out, /AGE +INDICATIONS +EXCLUDED +ERROR\n/);
    assert.match(out, /5m +Online, QuiesceTimeout +cloudinitdisk +<none>\n/);
    assert.match(out, /4d +<none> +<none> +VolumeSnapshot vmsnapshot-abc-volume-data failed: no/);
  });
  it("empty", () => {
    assert.equal(table({ ...snapshotList, items: [] }), "No snapshots found.\n");
  });
});

describe("Snapshot", () => {
  it("describes a snapshot", () => {
    const out = table(snapshot);
    assert.equal(out, wide(snapshot));
    for (const re of [
      /^Name: +db-1-snapshot-20250601-115500\n/,
      /\nNamespace: +prod\n/,
      /\nVM: +db-1\n/,
      /\nPlatform: +kubevirt\n/,
      /\nPhase: +Succeeded\n/,
      /\nReady: +yes\n/,
      /\nCreated: +2025-06-01T11:55:00.000Z \(5m ago\)\n/,
      /\nData cut at: +2025-06-01T11:55:02.000Z\n/,
      /\nConsistency: +crash-consistent\n {4}- QuiesceTimeout: the guest freeze timed out/,
      /\nIncluded volumes: +rootdisk, data\n/,
      /\nExcluded volumes: +cloudinitdisk\n/,
      /\nContent: +vmsnapshot-content-7f3a\n/,
      /\nConditions:\n {2}TYPE +STATUS +REASON +MESSAGE\n {2}Ready +True +Operation complete +Operation complete\n {2}Progressing +False +<none> +<none>\n/,
    ]) {
      assert.match(out, re);
    }
    assert.doesNotMatch(out, /Error:|Diagnosis:/);
  });
  it("omits empty sections and shows the diagnosis of a failure", () => {
    const out = table(failedSnapshot);
    assert.match(out, /\nPhase: +Failed\n/);
    assert.match(out, /\nError: +VolumeSnapshot vmsnapshot-abc-volume-data failed: no Volume/);
    assert.match(out, /\nDiagnosis:\n {2}- no VolumeSnapshotClass matches provisioner/);
    assert.doesNotMatch(out, /Data cut at|Included volumes|Excluded volumes|Content|Conditions/);
  });
});

describe("Preflight", () => {
  it("snapshottable", () => {
    const out = table(preflight);
    assert.match(out, /^VM prod\/db-1: SNAPSHOTTABLE \(online, application-consistent\)\n/);
    assert.match(out, /\nVOLUME +TYPE +CLAIM +STORAGECLASS +SNAPSHOTCLASS +INCLUDED +REASON\n/);
    assert.match(out, /\nrootdisk +dataVolume +db-1-root +ceph-rbd +ceph-rbd-snap +yes +<none>\n/);
    assert.match(
      out,
      /\ncloudinitdisk +cloudInitNoCloud +<none> +<none> +<none> +no +cloudInitNoCloud volumes are not snapshotted\n/,
    );
    assert.match(
      out,
      /\nWarnings:\n {2}- Windows guest: the VSS freeze is limited to 10 s\n {4}fix: snapshot when the guest is idle\n/,
    );
    assert.doesNotMatch(out, /Problems:/);
    assert.match(out, /\nExisting snapshots: 3 · estimated size: 30 GiB\n$/);
  });
  it("blocked", () => {
    const out = table(blocked);
    assert.match(out, /^VM dev\/web: BLOCKED \(1 problem\)\n/);
    assert.match(
      out,
      /\nProblems:\n {2}- volume data: no VolumeSnapshotClass for provisioner hostpath.csi.k8s.io\n {4}fix: create a VolumeSnapshotClass with driver hostpath.csi.k8s.io\n/,
    );
    assert.doesNotMatch(out, /Warnings:/);
  });
  it("wide adds platform, provisioner, hot-plug and size", () => {
    const out = wide(preflight);
    assert.match(out, /\nPlatform: kubevirt\n/);
    assert.match(out, /SNAPSHOTCLASS +PROVISIONER +HOTPLUG +SIZE +INCLUDED +REASON\n/);
    assert.match(out, /\ndata +persistentVolumeClaim .* rbd.csi.ceph.com +persisted +10 GiB +yes/);
  });
});

describe("Restore, Clone, Deletion, Error", () => {
  it("restore report", () => {
    const out = table(restore);
    assert.match(
      out,
      /^Restored VM prod\/db-1 from snapshot db-1-snapshot-20250601-115500 \(taken 3h3m ago\)\n/,
    );
    assert.match(out, /Restore: +db-1-restore-20250601-120000\n/);
    assert.match(out, /Safety snapshot: +db-1-pre-restore-20250601-120000 /);
    assert.match(out, /VM stopped: +yes\n/);
    assert.match(out, /VM restarted: +yes\n/);
    assert.match(out, /Duration: +42.3s\n/);
    assert.match(out, /VM configuration changed back:\n {2}- spec.template.spec.domain.cpu.cores/);
    assert.match(out, /Volumes not in the snapshot:\n {2}- scratch\n/);
    assert.match(
      out,
      /To undo: vmsnap restore -n prod db-1 db-1-pre-restore-20250601-120000 --stop\n$/,
    );
  });
  it("restore report: the volumes that now use a new claim", () => {
    assert.doesNotMatch(table(restore), /new claim/);
    const one = table({
      ...restore,
      claimsReplaced: [{ volume: "rootdisk", before: "db-1-root", after: "restore-1a2b-rootdisk" }],
    });
    assert.match(
      one,
      /^The VM now uses a new claim, restored from the snapshot \(the old one is left as it was\):\n {2}- rootdisk: db-1-root → restore-1a2b-rootdisk\n/m,
    );
  });
  it("restore dry run", () => {
    const out = table({ ...restore, phase: "DryRun", durationMs: null, safetySnapshot: null });
    assert.match(out, /^Dry run: would restore VM prod\/db-1 .*nothing was changed\n/);
    assert.match(out, /Safety snapshot: +none \(skipped\)\n/);
    assert.match(out, /Stops the VM: +yes\n/);
    assert.doesNotMatch(out, /Duration|To undo/);
  });
  it("clone report", () => {
    const out = table(clone);
    assert.match(
      out,
      /^Clone of snapshot db-1-snapshot-20250601-115500 into new VM prod\/db-1-copy: Succeeded\n/,
    );
    assert.match(out, /Clone: +db-1-copy-clone\n/);
    assert.match(out, /Duration: +5.2s\n/);
  });
  it("deletion report", () => {
    const out = table(deletion);
    assert.match(out, /^Deleted snapshot dev\/new-vm-snap of VM new-vm\n/);
    assert.match(out, /warning: it was the only snapshot of VM new-vm/);
    const dry = table({ ...deletion, phase: "DryRun", wasOnlySnapshot: false });
    assert.equal(
      dry,
      "Dry run: would delete snapshot dev/new-vm-snap of VM new-vm; nothing was changed\n",
    );
  });
  it("error", () => {
    assert.equal(
      table(error),
      'error: snapshot "nope" not found in namespace prod\nhint: list the snapshots with: vmsnap list -n prod\n',
    );
    assert.equal(
      table({ ...error, hint: undefined }),
      'error: snapshot "nope" not found in namespace prod\n',
    );
  });
});

describe("parseOutputFormat", () => {
  it("accepts the five formats", () => {
    for (const f of ["table", "wide", "json", "yaml", "name"])
      assert.equal(parseOutputFormat(f), f);
  });
  it("rejects anything else with exit code 2", () => {
    for (const bad of ["xml", "JSON", ""]) {
      assert.throws(
        () => parseOutputFormat(bad),
        (err: unknown) =>
          err instanceof VmsnapError &&
          err.exitCode === 2 &&
          /table, wide, json, yaml, name/.test(err.message),
      );
    }
  });
});

describe("helpers", () => {
  it("humanBytes", () => {
    assert.equal(humanBytes(0), "0 B");
    assert.equal(humanBytes(512), "512 B");
    assert.equal(humanBytes(1536), "1.5 KiB");
    assert.equal(humanBytes(30 * GiB), "30 GiB");
    assert.equal(humanBytes(1024 * 1024 - 1), "1 MiB");
    assert.equal(humanBytes(2.25 * 1024 ** 4), "2.3 TiB");
  });
  it("humanAge rounds like kubectl", () => {
    assert.equal(humanAge(ago(45), NOW), "45s");
    assert.equal(humanAge(ago(119), NOW), "119s");
    assert.equal(humanAge(ago(5 * 60), NOW), "5m");
    assert.equal(humanAge(ago(5 * 60 + 7), NOW), "5m7s");
    assert.equal(humanAge(ago(42 * 60), NOW), "42m");
    // kubectl keeps minutes up to 3 h: 2h3m is "123m".
    assert.equal(humanAge(ago(2 * 3600 + 3 * 60), NOW), "123m");
    assert.equal(humanAge(ago(3 * 3600 + 3 * 60), NOW), "3h3m");
    assert.equal(humanAge(ago(20 * 3600), NOW), "20h");
    assert.equal(humanAge(ago(4 * 86400), NOW), "4d");
    assert.equal(humanAge(ago(4 * 86400 + 5 * 3600), NOW), "4d5h");
    assert.equal(humanAge(ago(30 * 86400), NOW), "30d");
    assert.equal(humanAge(ago(-1), NOW), "0s");
    assert.equal(humanAge(ago(-60), NOW), "<invalid>");
    assert.equal(humanAge("not a date", NOW), "<unknown>");
    assert.equal(humanAge(null, NOW), "<unknown>");
    assert.equal(humanDuration(3 * 365 * 86400), "3y");
  });
});
