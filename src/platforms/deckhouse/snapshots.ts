// Deckhouse snapshots: VirtualMachineSnapshots (one VirtualDiskSnapshot per disk inside) and
// standalone VirtualDiskSnapshots as the neutral Snapshot, with a diagnosis of failures and stalls;
// their manifests (and the VolumeSnapshotClass that Deckhouse before v0.24 needs in them); waits.
import { advice, option, phrase, type Words } from "../../core/advice.js";
import { ErrorCode, VmsnapError, notFound } from "../../core/errors.js";
import { API_VERSION } from "../../core/api-version.js";
import type { Snapshot } from "../../core/schema.js";
import {
  Deckhouse,
  IS_DEFAULT_SC,
  IS_DEFAULT_VSC,
  keyOf,
  type KubeObject,
  type ResourceType,
} from "../../kube/resources.js";
import { waitForObject } from "../../kube/watch.js";
import { arr, bySnapshotOrder, conditionsOf, obj, str } from "../json.js";
import type { CreateOptions, Manifest, WaitOptions } from "../types.js";
import type { DeckhouseApi } from "./api.js";
import { disksOf, manifest, ownerSnapshot, snapshotState, vmNameOf } from "./model.js";

export function toSnapshot(
  words: Words,
  s: KubeObject,
  kind: "vm" | "disk",
  context: { diskVm?: Map<string, string>; children?: KubeObject[] } = {},
): Snapshot {
  const spec = obj(s.spec);
  const status = obj(s.status);
  const readyCondition = kind === "vm" ? "VirtualMachineSnapshotReady" : "VirtualDiskSnapshotReady";
  const st = snapshotState(s, readyCondition);
  const required = spec.requiredConsistency !== false;
  const disk = kind === "disk" ? (str(spec.virtualDiskName) ?? "") : null;
  const included =
    kind === "vm"
      ? arr(status.resources)
          .filter((r) => r.kind === "VirtualDisk")
          .map((r) => str(r.name) ?? "")
      : [disk ?? ""];
  // Deckhouse sets status.consistent to true or leaves it out, never false
  // (deckhouse/virtualization v1.10, images/virtualization-artifact/pkg/controller/vdsnapshot/
  // internal/life_cycle.go): a Ready snapshot without it is crash-consistent.
  const consistent = st.ready ? st.consistent === true : undefined;
  const consistency =
    consistent === undefined ? "unknown" : consistent ? "consistent" : "crash-consistent";
  const notes = [
    ...(consistent === true
      ? ["consistent: the guest agent froze the file systems, or the VM was stopped"]
      : consistent === false
        ? ["crash-consistent: taken while the VM ran without a file system freeze"]
        : []),
    `requiredConsistency: ${required}${required ? " (fails rather than take an inconsistent snapshot)" : ""}`,
    ...(kind === "vm"
      ? [
          `keepIPAddress: ${str(spec.keepIPAddress) ?? "Always"}`,
          "attached VirtualImages/ClusterVirtualImages are not saved in the snapshot",
        ]
      : []),
    ...(kind === "disk" && ownerSnapshot(s) ? [`part of VM snapshot ${ownerSnapshot(s)}`] : []),
  ];
  const diagnosis: string[] = [];
  if (st.reason === "PotentiallyInconsistent")
    diagnosis.push(
      phrase(
        advice`the VM was running without a ready guest agent and requiredConsistency is true; fix: start the guest agent, stop the VM (${{ do: "create", namespace: s.metadata.namespace ?? "", vm: vmNameOf(s), stop: true }}), or use ${option("consistency", "best-effort")}`,
        words,
      ),
    );
  else if (st.reason === "BlockDevicesNotReady" && st.phase === "Failed")
    // Deckhouse fails a VM snapshot whose disks are not Ready; it does not wait
    // (deckhouse/virtualization v1.10 line, images/virtualization-artifact/pkg/controller/
    // vmsnapshot/internal/life_cycle.go, ensureBlockDeviceConsistency).
    diagnosis.push(
      `the VM's disks were not Ready: ${st.message ?? st.reason} Deckhouse fails the snapshot rather than wait; create it again once every disk is Ready`,
    );
  else if (st.reason === "BlockDevicesNotReady" || st.reason === "WaitingForTheVirtualDisk")
    diagnosis.push(
      `waiting for the disks: ${st.message ?? st.reason}; a disk that is resizing or not Ready holds the snapshot back`,
    );
  else if (st.phase === "Failed" || (st.phase !== "Ready" && st.reason))
    diagnosis.push(`${st.reason ?? "Failed"}${st.message ? `: ${st.message}` : ""}`);
  // Why the VM was not ready (missing, being deleted, or not Running/Stopped), in Deckhouse's words
  // (vmsnapshot/internal/virtual_machine_ready.go).
  const vmReady =
    kind === "vm"
      ? arr(status.conditions).find((c) => c.type === "VirtualMachineReady")
      : undefined;
  if (st.phase === "Failed" && vmReady?.status === "False" && str(vmReady.message))
    diagnosis.push(`the VM was not ready for snapshotting: ${str(vmReady.message)}`);
  for (const child of context.children ?? []) {
    const cs = snapshotState(child, "VirtualDiskSnapshotReady");
    if (cs.phase !== "Ready" && (cs.reason || cs.phase === "Failed"))
      diagnosis.push(
        `disk snapshot ${child.metadata.name} (${str(obj(child.spec).virtualDiskName) ?? "?"}): ${cs.phase}${cs.reason ? `, ${cs.reason}` : ""}${cs.message ? `: ${cs.message}` : ""}`,
      );
  }
  const readyAt = arr(status.conditions).find((c) => c.type === readyCondition);
  return {
    apiVersion: API_VERSION,
    kind: "Snapshot",
    name: s.metadata.name,
    namespace: s.metadata.namespace ?? "",
    platform: "deckhouse",
    vm:
      kind === "vm" ? vmNameOf(s) : (context.diskVm?.get(`${s.metadata.namespace}/${disk}`) ?? ""),
    ...(disk !== null ? { disk } : {}),
    phase: st.phase,
    readyToUse: st.ready,
    createdAt: s.metadata.creationTimestamp ?? null,
    creationTime: st.ready
      ? (str(readyAt?.lastTransitionTime) ?? s.metadata.creationTimestamp ?? null)
      : null,
    consistency,
    indications: st.consistent === true ? ["Consistent"] : [],
    notes,
    includedVolumes: included.filter(Boolean),
    excludedVolumes: [],
    contentName:
      kind === "vm"
        ? (str(status.virtualMachineSnapshotSecretName) ?? null)
        : (str(status.volumeSnapshotName) ?? null),
    error: st.phase === "Failed" ? (st.message ?? st.reason ?? "failed") : null,
    conditions: conditionsOf(status),
    diagnosis,
  };
}

/** disk → the VM it is attached to, for the `vm` of disk snapshots. */
function diskVms(disks: KubeObject[], vms: KubeObject[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const vm of vms)
    for (const d of disksOf(vm)) map.set(`${vm.metadata.namespace}/${d}`, vm.metadata.name);
  for (const d of disks) {
    const attached = str(arr(obj(d.status).attachedToVirtualMachines)[0]?.name);
    if (attached && !map.has(keyOf(d))) map.set(keyOf(d), attached);
  }
  return map;
}

export async function listSnapshots(
  api: DeckhouseApi,
  scope: {
    namespace?: string;
    vm?: string;
    labelSelector?: string;
  },
): Promise<Snapshot[]> {
  const opts = { labelSelector: scope.labelSelector };
  const [vmSnaps, diskSnaps] = await Promise.all([
    api.kube.list(Deckhouse.vmSnapshots, scope.namespace, opts),
    api.kube.list(Deckhouse.diskSnapshots, scope.namespace, opts),
  ]);
  // Disk snapshots that belong to a VM snapshot are shown through it.
  const standalone = diskSnaps.items.filter((s) => !ownerSnapshot(s));
  // The disks and VMs only name the VM of a standalone disk snapshot: read when there is one
  // (a namespace without them — most, and every one without Deckhouse snapshots — costs two
  // requests, not four).
  const diskVm = standalone.length
    ? await Promise.all([
        api.kube.list(Deckhouse.disks, scope.namespace),
        api.kube.list(Deckhouse.vms, scope.namespace),
      ]).then(([disks, vms]) => diskVms(disks.items, vms.items))
    : new Map<string, string>();
  return [
    ...vmSnaps.items.map((s) => toSnapshot(api.ctx.words, s, "vm")),
    ...standalone.map((s) => toSnapshot(api.ctx.words, s, "disk", { diskVm })),
  ]
    .filter((s) => !scope.vm || s.vm === scope.vm)
    .sort(bySnapshotOrder);
}

export async function getSnapshot(
  api: DeckhouseApi,
  namespace: string,
  name: string,
): Promise<Snapshot | undefined> {
  const s = await api.readVmSnapshot(namespace, name);
  if (s) {
    // Only an unfinished or failed snapshot needs its disk snapshots read for the diagnosis.
    const st = snapshotState(s, "VirtualMachineSnapshotReady");
    const children = st.ready
      ? []
      : (await api.kube.list(Deckhouse.diskSnapshots, namespace)).items.filter(
          (d) => ownerSnapshot(d) === name,
        );
    return toSnapshot(api.ctx.words, s, "vm", { children });
  }
  const d = await api.once.get(Deckhouse.diskSnapshots, namespace, name);
  if (!d) return undefined;
  const diskName = str(obj(d.spec).virtualDiskName) ?? "";
  const disk = await api.once.get(Deckhouse.disks, namespace, diskName);
  const attached = str(arr(obj(disk?.status).attachedToVirtualMachines)[0]?.name);
  const diskVm = new Map(attached ? [[`${namespace}/${diskName}`, attached]] : []);
  return toSnapshot(api.ctx.words, d, "disk", { diskVm });
}

export async function snapshotManifest(
  api: DeckhouseApi,
  namespace: string,
  name: string,
  vm: string,
  options: CreateOptions,
): Promise<Manifest> {
  const classes = (await api.snapshotClassFields())
    ? await vmSnapshotClasses(api, namespace, vm)
    : undefined;
  return manifest(Deckhouse.vmSnapshots, namespace, name, {
    virtualMachineName: vm,
    requiredConsistency: options.consistency !== "best-effort",
    keepIPAddress: options.keepIp === "never" ? "Never" : "Always",
    ...(classes ? { volumeSnapshotClasses: classes } : {}),
  });
}

// Deckhouse before v0.24 names the VolumeSnapshotClass in the snapshot (VDSnapshot
// volumeSnapshotClassName, VMSnapshot volumeSnapshotClasses); later versions removed the fields
// and pick the class themselves.
/** The VolumeSnapshotClass for a StorageClass: the one whose driver is its provisioner. */
export async function snapshotClassFor(
  api: DeckhouseApi,
  storageClass: string | undefined,
): Promise<string> {
  const { scs, vscs } = await api.storageClasses();
  const sc = storageClass
    ? scs.find((x) => x.metadata.name === storageClass)
    : scs.find((x) => x.metadata.annotations?.[IS_DEFAULT_SC] === "true");
  const driver = str(sc?.provisioner);
  const candidates = vscs.filter((v) => str(v.driver) === driver);
  const chosen =
    candidates.length === 1
      ? candidates[0]
      : candidates.find((v) => v.metadata.annotations?.[IS_DEFAULT_VSC] === "true");
  if (!chosen)
    throw new VmsnapError(
      ErrorCode.PreflightBlocked,
      `no ${candidates.length ? "default " : ""}VolumeSnapshotClass for StorageClass ${sc?.metadata.name ?? storageClass ?? "(default)"} (provisioner ${driver ?? "unknown"}): this Deckhouse version (before v0.24) needs one in the snapshot`,
      candidates.length
        ? `annotate one of ${candidates.map((v) => v.metadata.name).join(", ")} with ${IS_DEFAULT_VSC}="true"`
        : `create a VolumeSnapshotClass with driver ${driver ?? "<provisioner>"}`,
    );
  return chosen.metadata.name;
}

async function vmSnapshotClasses(
  api: DeckhouseApi,

  namespace: string,
  vm: string,
): Promise<{ storageClassName: string; volumeSnapshotClassName: string }[]> {
  const raw = await api.readVm(namespace, vm);
  const disks = await Promise.all(
    disksOf(raw ?? { metadata: { name: vm } }).map((d) =>
      api.once.get(Deckhouse.disks, namespace, d),
    ),
  );
  const classes = [
    ...new Set(disks.map((d) => str(obj(d?.status).storageClassName)).filter(Boolean)),
  ] as string[];
  return Promise.all(
    classes.map(async (sc) => ({
      storageClassName: sc,
      volumeSnapshotClassName: await snapshotClassFor(api, sc),
    })),
  );
}

export async function waitSnapshotOf(
  api: DeckhouseApi,

  type: ResourceType,
  readyCondition: string,
  namespace: string,
  name: string,
  options: WaitOptions,
): Promise<Snapshot> {
  let last = "";
  await waitForObject(
    api.kube,
    type,
    name,
    namespace,
    (s) => {
      if (!s) throw notFound(`${type.kind} ${namespace}/${name} disappeared while waiting`);
      const st = snapshotState(s, readyCondition);
      return st.phase === "Ready" || st.phase === "Failed";
    },
    {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onChange: (s) => {
        if (!s) return;
        const st = snapshotState(s, readyCondition);
        const text = `snapshot ${name}: ${st.phase}${st.reason && st.phase !== "Ready" ? ` (${st.reason})` : ""}`;
        if (text !== last) options.onProgress?.(text);
        last = text;
      },
    },
  );
  api.forget(); // the state changed: read it again
  const snap = await getSnapshot(api, namespace, name);
  if (!snap) throw notFound(`${type.kind} ${namespace}/${name} disappeared`);
  return snap;
}

export function deleteNotes(snapshot: Snapshot): string[] {
  if (snapshot.disk !== undefined)
    return [
      `disk snapshot of VirtualDisk ${snapshot.disk}; its VolumeSnapshot${snapshot.contentName ? ` ${snapshot.contentName}` : ""} is deleted with it`,
    ];
  return [
    `its disk snapshots (${snapshot.includedVolumes.join(", ") || "none"}) and the stored VM configuration${snapshot.contentName ? ` (Secret ${snapshot.contentName})` : ""} are deleted with it`,
  ];
}
