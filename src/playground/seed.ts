// Sample VMs for the playground: one of each situation the snapshot workflows must handle.
import { KubeApiError, type KubeClient } from "../kube/client.js";
import {
  Core,
  Deckhouse,
  KubeVirt,
  type KubeObject,
  type ResourceType,
} from "../kube/resources.js";
import {
  STORAGE,
  ensureSimStorage,
  pvcManifest,
  vmManifest,
  vmoVmManifest,
  dhDiskManifest,
  dhImageManifest,
  dhVmManifest,
  type DhVmOptions,
  type VmoVmOptions,
} from "./fixtures.js";
import { VmOp } from "./simulator/vmoperator/index.js";
import { SIM } from "./simulator/annotations.js";

export interface SampleVm {
  namespace: string;
  name: string;
  story: string;
}

export const SAMPLE_NAMESPACES = ["demo", "prod", "vsphere", "deckhouse"] as const;

export const SAMPLE_VMS: SampleVm[] = [
  {
    namespace: "demo",
    name: "web",
    story: "running, guest agent, two disks + cloud-init (application-consistent)",
  },
  { namespace: "demo", name: "db", story: "running, no guest agent (crash-consistent)" },
  { namespace: "demo", name: "archive", story: "stopped (offline snapshot)" },
  { namespace: "demo", name: "win2022", story: "Windows guest with agent (VSS 10 s freeze limit)" },
  { namespace: "demo", name: "batch", story: "paused" },
  {
    namespace: "demo",
    name: "hotplug",
    story: "persisted hot-plug disk + a VMI-only hot-plug (not in snapshots)",
  },
  {
    namespace: "demo",
    name: "nfs",
    story: "disk on storage without a VolumeSnapshotClass + containerDisk (excluded)",
  },
  { namespace: "prod", name: "erp", story: "running, guest agent, DataVolume disk" },
  {
    namespace: "prod",
    name: "ledger",
    story: "stopped, disk on storage with two VolumeSnapshotClasses and no default",
  },
];

function seedObjects(): { type: ResourceType; body: KubeObject }[] {
  const pvc = (
    namespace: string,
    name: string,
    data: string,
    storageClassName?: string,
    size?: string,
  ) => ({
    type: Core.pvcs,
    body: pvcManifest({ namespace, name, data, storageClassName, size }),
  });
  const vm = (body: KubeObject) => ({ type: KubeVirt.vms, body });
  const agent = { [SIM.guestAgent]: "true" };
  return [
    pvc("demo", "web-root", "web-root-v1", undefined, "20Gi"),
    pvc("demo", "web-data", "web-data-v1", undefined, "50Gi"),
    vm(
      vmManifest({
        namespace: "demo",
        name: "web",
        annotations: agent,
        cloudInit: true,
        disks: [
          { name: "rootdisk", claimName: "web-root" },
          { name: "datadisk", claimName: "web-data" },
        ],
      }),
    ),
    pvc("demo", "db-root", "db-root-v1"),
    vm(
      vmManifest({
        namespace: "demo",
        name: "db",
        disks: [{ name: "rootdisk", claimName: "db-root" }],
      }),
    ),
    pvc("demo", "archive-root", "archive-root-v1"),
    vm(
      vmManifest({
        namespace: "demo",
        name: "archive",
        runStrategy: "Halted",
        disks: [{ name: "rootdisk", claimName: "archive-root" }],
      }),
    ),
    pvc("demo", "win2022-root", "win2022-root-v1", undefined, "60Gi"),
    vm(
      vmManifest({
        namespace: "demo",
        name: "win2022",
        memory: "8Gi",
        annotations: { ...agent, [SIM.guestOs]: "windows" },
        disks: [{ name: "rootdisk", claimName: "win2022-root" }],
      }),
    ),
    pvc("demo", "batch-root", "batch-root-v1"),
    vm(
      vmManifest({
        namespace: "demo",
        name: "batch",
        annotations: { ...agent, [SIM.paused]: "true" },
        disks: [{ name: "rootdisk", claimName: "batch-root" }],
      }),
    ),
    pvc("demo", "hotplug-root", "hotplug-root-v1"),
    pvc("demo", "hotplug-extra", "hotplug-extra-v1"),
    pvc("demo", "hotplug-scratch", "hotplug-scratch-v1"),
    vm(
      vmManifest({
        namespace: "demo",
        name: "hotplug",
        annotations: { ...agent, [SIM.hotplugVolumes]: "hotplug-scratch" },
        disks: [
          { name: "rootdisk", claimName: "hotplug-root" },
          { name: "extra", claimName: "hotplug-extra", hotpluggable: true },
        ],
      }),
    ),
    pvc("demo", "nfs-root", "nfs-root-v1", STORAGE.noSnapshot),
    vm(
      vmManifest({
        namespace: "demo",
        name: "nfs",
        containerDisk: true,
        disks: [{ name: "rootdisk", claimName: "nfs-root" }],
      }),
    ),
    pvc("prod", "ledger-root", "ledger-root-v1", STORAGE.ambiguous),
    vm(
      vmManifest({
        namespace: "prod",
        name: "ledger",
        runStrategy: "Halted",
        disks: [{ name: "rootdisk", claimName: "ledger-root" }],
      }),
    ),
    vm(erpVm()),
    ...vmoSeeds(),
    ...deckhouseSeeds(),
  ];
}

/** Deckhouse VMs in the `deckhouse` namespace (their stories: DECKHOUSE_SAMPLE_VMS). */
export const DECKHOUSE_SAMPLE_VMS: SampleVm[] = [
  { namespace: "deckhouse", name: "web", story: "running, guest agent, two disks (consistent)" },
  {
    namespace: "deckhouse",
    name: "db",
    story: "running, no guest agent (PotentiallyInconsistent)",
  },
  { namespace: "deckhouse", name: "archive", story: "stopped (consistent without an agent)" },
  { namespace: "deckhouse", name: "win2022", story: "Windows guest with agent" },
  {
    namespace: "deckhouse",
    name: "installer",
    story: "running with an attached VirtualImage (images are not snapshotted)",
  },
];

function deckhouseSeeds(): { type: ResourceType; body: KubeObject }[] {
  const namespace = "deckhouse";
  const out: { type: ResourceType; body: KubeObject }[] = [
    { type: Deckhouse.images, body: dhImageManifest({ namespace, name: "ubuntu-2404-iso" }) },
  ];
  const add = (o: Omit<DhVmOptions, "namespace" | "disks">, disks: [string, string][]) => {
    for (const [name, size] of disks)
      out.push({
        type: Deckhouse.disks,
        body: dhDiskManifest({ namespace, name, size, data: `${name}-v1` }),
      });
    out.push({
      type: Deckhouse.vms,
      body: dhVmManifest({ namespace, disks: disks.map(([n]) => n), ...o }),
    });
  };
  add({ name: "web", agent: true, cpuCores: 2, memory: "2Gi" }, [
    ["web-root", "10Gi"],
    ["web-data", "20Gi"],
  ]);
  add({ name: "db" }, [["db-root", "10Gi"]]);
  add({ name: "archive", running: false }, [["archive-root", "5Gi"]]);
  add({ name: "win2022", agent: true, os: "windows", memory: "4Gi" }, [["win2022-root", "40Gi"]]);
  add({ name: "installer", images: [{ kind: "VirtualImage", name: "ubuntu-2404-iso" }] }, [
    ["installer-root", "10Gi"],
  ]);
  return out;
}

function vmoSeeds(): { type: ResourceType; body: KubeObject }[] {
  const out: { type: ResourceType; body: KubeObject }[] = [];
  const add = (o: VmoVmOptions) => {
    out.push({
      type: Core.pvcs,
      body: pvcManifest({
        namespace: "vsphere",
        name: `${o.name}-data`,
        data: `${o.name}-data-v1`,
        size: "20Gi",
      }),
    });
    out.push({
      type: VmOp.vms,
      body: vmoVmManifest({ ...o, claims: [{ name: "data", claimName: `${o.name}-data` }] }),
    });
  };
  add({
    namespace: "vsphere",
    name: "app",
    annotations: { [SIM.guestAgent]: "true", [SIM.data]: "app-boot-v1" },
  });
  add({ namespace: "vsphere", name: "batch" });
  add({ namespace: "vsphere", name: "legacy", powerState: "PoweredOff" });
  add({
    namespace: "vsphere",
    name: "tkg-node",
    labels: { "cluster.x-k8s.io/cluster-name": "tkg-prod" },
  });
  add({ namespace: "vsphere", name: "shared-disk", sharedScsi: true });
  return out;
}

function erpVm(): KubeObject {
  const vm = vmManifest({
    namespace: "prod",
    name: "erp",
    annotations: { [SIM.guestAgent]: "true" },
    disks: [{ name: "rootdisk", claimName: "erp-root", dataVolume: true }],
  });
  (vm.spec as Record<string, unknown>).dataVolumeTemplates = [
    {
      metadata: { name: "erp-root" },
      spec: {
        source: { blank: {} },
        storage: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "30Gi" } } },
      },
    },
  ];
  return vm;
}

/** Creates the sample namespaces, storage and VMs; existing objects are left as they are. */
export async function seedPlayground(client: KubeClient): Promise<void> {
  await ensureSimStorage(client);
  for (const name of SAMPLE_NAMESPACES) {
    await createIfMissing(client, Core.namespaces, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
    });
  }
  for (const { type, body } of seedObjects()) await createIfMissing(client, type, body);
}

async function createIfMissing(
  client: KubeClient,
  type: Parameters<KubeClient["create"]>[0],
  body: KubeObject,
): Promise<void> {
  await client.create(type, body).catch((err) => {
    if (!(err instanceof KubeApiError && err.code === 409)) throw err;
  });
}
