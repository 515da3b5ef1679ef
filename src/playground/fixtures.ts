// Real-shaped manifests for the playground's storage and sample VMs (pure builders, no I/O except
// ensureSimStorage). The same shapes the platforms' own documentation applies with kubectl.
import { KubeApiError, type KubeClient } from "../kube/client.js";
import {
  Core,
  Csi,
  Deckhouse,
  IS_DEFAULT_VSC,
  KubeVirt,
  apiVersionOf,
  type KubeObject,
} from "../kube/resources.js";
import { SIM } from "./simulator/annotations.js";

export const SIM_DRIVER = "csi.sim.vmsnap.io";
export const NFS_DRIVER = "nfs.sim.vmsnap.io";
export const MULTI_DRIVER = "multi.sim.vmsnap.io";

export const STORAGE = {
  /**
   * Default class, with exactly one VolumeSnapshotClass for its driver, marked default (Deckhouse
   * requests volume snapshots without a class: the driver needs one default).
   */
  snapshot: "sim-csi",
  /** Same driver, WaitForFirstConsumer binding. */
  wffc: "sim-csi-wffc",
  /** A driver without any VolumeSnapshotClass (like NFS). */
  noSnapshot: "sim-nfs",
  /** A driver with two VolumeSnapshotClasses and no default. */
  ambiguous: "sim-multi",
} as const;

export function storageObjects(): {
  type: typeof Core.storageClasses | typeof Csi.volumeSnapshotClasses;
  body: KubeObject;
}[] {
  const sc = (
    name: string,
    provisioner: string,
    extra: Record<string, unknown> = {},
    annotations: Record<string, string> = {},
  ) => ({
    type: Core.storageClasses,
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name, annotations },
      provisioner,
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
      allowVolumeExpansion: true,
      ...extra,
    } as KubeObject,
  });
  const vsc = (name: string, driver: string, annotations: Record<string, string> = {}) => ({
    type: Csi.volumeSnapshotClasses,
    body: {
      apiVersion: apiVersionOf(Csi.volumeSnapshotClasses),
      kind: "VolumeSnapshotClass",
      metadata: { name, annotations },
      driver,
      deletionPolicy: "Delete",
    } as KubeObject,
  });
  return [
    sc(STORAGE.snapshot, SIM_DRIVER, {}, { "storageclass.kubernetes.io/is-default-class": "true" }),
    sc(STORAGE.wffc, SIM_DRIVER, { volumeBindingMode: "WaitForFirstConsumer" }),
    sc(STORAGE.noSnapshot, NFS_DRIVER),
    sc(STORAGE.ambiguous, MULTI_DRIVER),
    // snapshot-controller picks a default class only when it is annotated as such.
    vsc("sim-csi-snapclass", SIM_DRIVER, { [IS_DEFAULT_VSC]: "true" }),
    vsc("sim-multi-fast", MULTI_DRIVER),
    vsc("sim-multi-slow", MULTI_DRIVER),
  ];
}

/** Creates the simulated StorageClasses and VolumeSnapshotClasses (idempotent). */
export async function ensureSimStorage(client: KubeClient): Promise<void> {
  for (const { type, body } of storageObjects()) {
    await client.create(type, body).catch((err) => {
      if (!(err instanceof KubeApiError && err.code === 409)) throw err;
    });
  }
}

export interface PvcOptions {
  name: string;
  namespace: string;
  storageClassName?: string;
  size?: string;
  /** Initial data fingerprint. */
  data?: string;
}

export function pvcManifest(o: PvcOptions): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: o.name,
      namespace: o.namespace,
      annotations: o.data ? { [SIM.data]: o.data } : {},
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: o.size ?? "10Gi" } },
      ...(o.storageClassName ? { storageClassName: o.storageClassName } : {}),
      volumeMode: "Filesystem",
    },
  };
}

export interface VmDisk {
  name: string;
  claimName: string;
  hotpluggable?: boolean;
  dataVolume?: boolean;
}

export interface VmOptions {
  name: string;
  namespace: string;
  runStrategy?: "Always" | "Halted" | "Manual" | "RerunOnFailure" | "Once";
  disks?: VmDisk[];
  containerDisk?: boolean;
  cloudInit?: boolean;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  memory?: string;
  mac?: string;
}

export function vmManifest(o: VmOptions): KubeObject {
  const disks = o.disks ?? [];
  const volumes: Record<string, unknown>[] = [];
  const devices: Record<string, unknown>[] = [];
  if (o.containerDisk) {
    volumes.push({
      name: "containerdisk",
      containerDisk: { image: "quay.io/containerdisks/fedora:40" },
    });
    devices.push({ name: "containerdisk", disk: { bus: "virtio" } });
  }
  for (const d of disks) {
    volumes.push(
      d.dataVolume
        ? {
            name: d.name,
            dataVolume: { name: d.claimName, ...(d.hotpluggable ? { hotpluggable: true } : {}) },
          }
        : {
            name: d.name,
            persistentVolumeClaim: {
              claimName: d.claimName,
              ...(d.hotpluggable ? { hotpluggable: true } : {}),
            },
          },
    );
    devices.push({ name: d.name, disk: { bus: d.hotpluggable ? "scsi" : "virtio" } });
  }
  if (o.cloudInit) {
    volumes.push({
      name: "cloudinitdisk",
      cloudInitNoCloud: {
        userData: "#cloud-config\npassword: fedora\nchpasswd: { expire: False }\n",
      },
    });
    devices.push({ name: "cloudinitdisk", disk: { bus: "virtio" } });
  }
  return {
    apiVersion: apiVersionOf(KubeVirt.vms),
    kind: "VirtualMachine",
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { app: o.name, ...(o.labels ?? {}) },
      annotations: o.annotations ?? {},
    },
    spec: {
      runStrategy: o.runStrategy ?? "Always",
      template: {
        metadata: { labels: { "kubevirt.io/domain": o.name } },
        spec: {
          domain: {
            cpu: { cores: 1 },
            memory: { guest: o.memory ?? "2Gi" },
            devices: {
              disks: devices,
              interfaces: [
                { name: "default", masquerade: {}, ...(o.mac ? { macAddress: o.mac } : {}) },
              ],
            },
          },
          networks: [{ name: "default", pod: {} }],
          volumes,
        },
      },
    },
  };
}

export interface VmoVmOptions {
  name: string;
  namespace: string;
  powerState?: "PoweredOn" | "PoweredOff" | "Suspended";
  claims?: { name: string; claimName: string }[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  sharedScsi?: boolean;
  version?: "v1alpha5" | "v1alpha6";
}

/** A VM Operator VirtualMachine as its documentation shows one. */
export function vmoVmManifest(o: VmoVmOptions): KubeObject {
  return {
    apiVersion: `vmoperator.vmware.com/${o.version ?? "v1alpha5"}`,
    kind: "VirtualMachine",
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: o.labels ?? {},
      annotations: o.annotations ?? {},
    },
    spec: {
      className: "best-effort-small",
      imageName: "vmi-0a1b2c3d4e5f6a7b8",
      storageClass: "wcp-storage",
      powerState: o.powerState ?? "PoweredOn",
      volumes: (o.claims ?? []).map((c) => ({
        name: c.name,
        persistentVolumeClaim: { claimName: c.claimName },
      })),
      ...(o.sharedScsi
        ? {
            hardware: {
              scsiControllers: [{ busNumber: 1, type: "ParaVirtual", sharingMode: "Physical" }],
            },
          }
        : {}),
    },
  };
}

export interface DhDiskOptions {
  namespace: string;
  name: string;
  /** Requested size, e.g. "1Gi" (default "1Gi"). */
  size?: string;
  storageClass?: string;
  /** The disk's data fingerprint (annotation sim.vmsnap.io/data). */
  data?: string;
}

/** A blank Deckhouse VirtualDisk as the Deckhouse guide applies one. */
export function dhDiskManifest(o: DhDiskOptions): KubeObject {
  return {
    apiVersion: apiVersionOf(Deckhouse.disks),
    kind: "VirtualDisk",
    metadata: {
      name: o.name,
      namespace: o.namespace,
      annotations: o.data !== undefined ? { [SIM.data]: o.data } : {},
    },
    spec: {
      persistentVolumeClaim: {
        size: o.size ?? "1Gi",
        ...(o.storageClass ? { storageClassName: o.storageClass } : {}),
      },
    },
  };
}

export interface DhVmOptions {
  namespace: string;
  name: string;
  /** VirtualDisk names, in boot order. */
  disks: string[];
  images?: { kind: "VirtualImage" | "ClusterVirtualImage"; name: string }[];
  /** Default AlwaysOnUnlessStoppedManually. */
  runPolicy?: string;
  /**
   * Initial power for Manual/AlwaysOnUnlessStoppedManually (as if started or stopped by hand);
   * default: as the run policy starts.
   */
  running?: boolean;
  agent?: boolean;
  os?: "linux" | "windows";
  /** sim.vmsnap.io/fail value, e.g. "freeze". */
  fail?: string;
  snapshotDelay?: string;
  cpuCores?: number;
  memory?: string;
}

/** A Deckhouse VirtualMachine as the Deckhouse guide applies one, with the simulator's hooks. */
export function dhVmManifest(o: DhVmOptions): KubeObject {
  const annotations: Record<string, string> = {};
  if (o.agent) annotations[SIM.guestAgent] = "true";
  if (o.os === "windows") annotations[SIM.guestOs] = "windows";
  if (o.fail) annotations[SIM.fail] = o.fail;
  if (o.snapshotDelay) annotations[SIM.snapshotDelay] = o.snapshotDelay;
  if (o.running !== undefined) annotations[DH_POWER_ANNOTATION] = o.running ? "on" : "off";
  return {
    apiVersion: apiVersionOf(Deckhouse.vms),
    kind: "VirtualMachine",
    metadata: { name: o.name, namespace: o.namespace, labels: { app: o.name }, annotations },
    spec: {
      virtualMachineClassName: "generic",
      runPolicy: o.runPolicy ?? "AlwaysOnUnlessStoppedManually",
      osType: o.os === "windows" ? "Windows" : "Generic",
      bootloader: o.os === "windows" ? "EFI" : "BIOS",
      cpu: { cores: o.cpuCores ?? 1, coreFraction: "100%" },
      memory: { size: o.memory ?? "1Gi" },
      blockDeviceRefs: [
        ...o.disks.map((name) => ({ kind: "VirtualDisk", name })),
        ...(o.images ?? []).map((i) => ({ kind: i.kind, name: i.name })),
      ],
    },
  };
}

/** The simulator's record of a Deckhouse VM's last Start/Stop ("on" | "off"). */
export const DH_POWER_ANNOTATION = "sim.vmsnap.io/power";

/** A VirtualImage (namespaced) or ClusterVirtualImage from a container image. */
export function dhImageManifest(o: {
  name: string;
  namespace?: string;
  cluster?: boolean;
}): KubeObject {
  return {
    apiVersion: apiVersionOf(Deckhouse.images),
    kind: o.cluster ? "ClusterVirtualImage" : "VirtualImage",
    metadata: { name: o.name, ...(o.cluster ? {} : { namespace: o.namespace }) },
    spec: {
      ...(o.cluster ? {} : { storage: "ContainerRegistry" }),
      dataSource: {
        type: "ContainerImage",
        containerImage: { image: "registry.example.com/images/ubuntu:24.04" },
      },
    },
  };
}
