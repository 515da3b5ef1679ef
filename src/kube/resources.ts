// Resource addressing. Kinds are always addressed by their full group, never by short name,
// because short names (vm, vmsnapshot, vms) clash across the three platforms.

export interface ResourceType {
  group: string; // "" for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  generateName?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A Kubernetes object whose spec and status are not typed at this layer. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  // Unknown-shaped parts; platform modules narrow them.
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** The annotations that mark the default StorageClass and VolumeSnapshotClass. */
export const IS_DEFAULT_SC = "storageclass.kubernetes.io/is-default-class";
export const IS_DEFAULT_VSC = "snapshot.storage.kubernetes.io/is-default-class";

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** REST path of a collection or (with name) of one object, optionally of a subresource. */
export function resourcePath(
  type: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const item = name ? `/${encodeURIComponent(name)}` : "";
  const sub = name && subresource ? `/${subresource}` : "";
  return `${base}${ns}/${type.plural}${item}${sub}`;
}

export function keyOf(obj: { metadata: { namespace?: string; name: string } }): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : obj.metadata.name;
}

function rt(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced = true,
): ResourceType {
  return { group, version, plural, kind, namespaced };
}

/** Every resource type vmsnap or its simulators touch, by platform. */
export const Core = {
  namespaces: rt("", "v1", "namespaces", "Namespace", false),
  pvcs: rt("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
  pvs: rt("", "v1", "persistentvolumes", "PersistentVolume", false),
  events: rt("", "v1", "events", "Event"),
  secrets: rt("", "v1", "secrets", "Secret"),
  storageClasses: rt("storage.k8s.io", "v1", "storageclasses", "StorageClass", false),
  crds: rt(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    false,
  ),
} as const;

/** vmsnap's own resources (deploy/controller/) and what its controller uses around them. */
export const Vmsnap = {
  snapshotPolicies: rt("vmsnap.io", "v1alpha1", "snapshotpolicies", "SnapshotPolicy"),
  leases: rt("coordination.k8s.io", "v1", "leases", "Lease"),
} as const;

export const Csi = {
  volumeSnapshots: rt("snapshot.storage.k8s.io", "v1", "volumesnapshots", "VolumeSnapshot"),
  volumeSnapshotContents: rt(
    "snapshot.storage.k8s.io",
    "v1",
    "volumesnapshotcontents",
    "VolumeSnapshotContent",
    false,
  ),
  volumeSnapshotClasses: rt(
    "snapshot.storage.k8s.io",
    "v1",
    "volumesnapshotclasses",
    "VolumeSnapshotClass",
    false,
  ),
} as const;

export const KubeVirt = {
  vms: rt("kubevirt.io", "v1", "virtualmachines", "VirtualMachine"),
  vmis: rt("kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance"),
  snapshots: rt(
    "snapshot.kubevirt.io",
    "v1beta1",
    "virtualmachinesnapshots",
    "VirtualMachineSnapshot",
  ),
  snapshotContents: rt(
    "snapshot.kubevirt.io",
    "v1beta1",
    "virtualmachinesnapshotcontents",
    "VirtualMachineSnapshotContent",
  ),
  restores: rt(
    "snapshot.kubevirt.io",
    "v1beta1",
    "virtualmachinerestores",
    "VirtualMachineRestore",
  ),
  clones: rt("clone.kubevirt.io", "v1beta1", "virtualmachineclones", "VirtualMachineClone"),
  dataVolumes: rt("cdi.kubevirt.io", "v1beta1", "datavolumes", "DataVolume"),
  storageProfiles: rt("cdi.kubevirt.io", "v1beta1", "storageprofiles", "StorageProfile", false),
} as const;

const DH = "virtualization.deckhouse.io";
export const Deckhouse = {
  vms: rt(DH, "v1alpha2", "virtualmachines", "VirtualMachine"),
  disks: rt(DH, "v1alpha2", "virtualdisks", "VirtualDisk"),
  vmSnapshots: rt(DH, "v1alpha2", "virtualmachinesnapshots", "VirtualMachineSnapshot"),
  diskSnapshots: rt(DH, "v1alpha2", "virtualdisksnapshots", "VirtualDiskSnapshot"),
  vmops: rt(DH, "v1alpha2", "virtualmachineoperations", "VirtualMachineOperation"),
  vmsops: rt(DH, "v1alpha2", "virtualmachinesnapshotoperations", "VirtualMachineSnapshotOperation"),
  /** Legacy (removed in Deckhouse v1.9): served only when its CRD is installed. */
  vmRestores: rt(DH, "v1alpha2", "virtualmachinerestores", "VirtualMachineRestore"),
  images: rt(DH, "v1alpha2", "virtualimages", "VirtualImage"),
  clusterImages: rt(DH, "v1alpha2", "clustervirtualimages", "ClusterVirtualImage", false),
} as const;
