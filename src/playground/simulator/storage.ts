// Simulated storage, shared by every platform simulator: what runs around the upstream PV binder
// and snapshot-controller (see src/playground/controllers-upstream.ts) and cannot run here — the
// CSI driver with its external-provisioner and csi-snapshotter sidecars, the scheduler's node
// choice and PVC protection for VM consumers — plus CDI (DataVolumes, StorageProfiles).
// Data fingerprints live in the `sim.vmsnap.io/data` annotation: a VolumeSnapshot captures its
// source's fingerprint when it is cut, and a PVC restored from it starts with that fingerprint.
import { randomBytes } from "node:crypto";
import { KubeApiError } from "../../kube/client.js";
import { quantityBytes } from "../../core/quantity.js";
import {
  Core,
  Csi,
  IS_DEFAULT_SC,
  IS_DEFAULT_VSC,
  KubeVirt,
  apiVersionOf,
  keyOf,
  type KubeObject,
} from "../../kube/resources.js";
import type { Informer } from "../../kube/watch.js";
import { SIM, annotation, failures, snapshotDelayMs } from "./annotations.js";
import type { ReconcileResult, Runtime } from "./runtime.js";

const PVC_PROTECTION = "kubernetes.io/pvc-protection";
/** Set by the PV binder on a claim it hands to an external provisioner. */
const STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner";
/** Set by the scheduler on a WaitForFirstConsumer claim once its consumer has a node. */
const SELECTED_NODE = "volume.kubernetes.io/selected-node";
const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
/** The node the simulated VMs run on (no Node object exists; nothing here checks for one). */
const SIM_NODE = "vmsnap-sim-node";
// external-snapshotter v8.6.0 pkg/utils/util.go
const CONTENT_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";
const BEING_DELETED = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted";
export { IS_DEFAULT_SC, IS_DEFAULT_VSC };

/** A hook by which platform simulators say "this PVC has a consumer" and "this PVC's VM is X". */
export interface StorageHooks {
  /** True when a running workload uses the claim (binds WaitForFirstConsumer claims, blocks deletion). */
  claimInUse(namespace: string, claim: string): boolean;
  /** The VM owning a VolumeSnapshot (for failure injection by VM annotation), if any. */
  vmForVolumeSnapshot(vs: KubeObject): KubeObject | undefined;
}

export interface StorageInformers {
  pvcs: Informer;
  pvs: Informer;
  storageClasses: Informer;
  volumeSnapshots: Informer;
  volumeSnapshotContents: Informer;
  volumeSnapshotClasses: Informer;
  dataVolumes: Informer;
  storageProfiles: Informer;
}

export const nowIso = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

type Obj = KubeObject & { spec: Record<string, any>; status?: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

export function asObj(o: KubeObject): Obj {
  return o as Obj;
}

export function hasFinalizer(o: KubeObject, f: string): boolean {
  return (o.metadata.finalizers ?? []).includes(f);
}

/** The provisioner's StorageClass of a claim: its storageClassName, or the default class. */
export function storageClassOf(pvc: KubeObject, storageClasses: Informer): KubeObject | undefined {
  const name = asObj(pvc).spec.storageClassName as string | undefined;
  if (name) return storageClasses.get(name);
  if (name === "") return undefined;
  return storageClasses.list().find((sc) => sc.metadata.annotations?.[IS_DEFAULT_SC] === "true");
}

export function registerStorage(rt: Runtime, hooks: StorageHooks): StorageInformers {
  const inf: StorageInformers = {
    pvcs: rt.informer(Core.pvcs),
    pvs: rt.informer(Core.pvs),
    storageClasses: rt.informer(Core.storageClasses),
    volumeSnapshots: rt.informer(Csi.volumeSnapshots),
    volumeSnapshotContents: rt.informer(Csi.volumeSnapshotContents),
    volumeSnapshotClasses: rt.informer(Csi.volumeSnapshotClasses),
    dataVolumes: rt.informer(KubeVirt.dataVolumes),
    storageProfiles: rt.informer(KubeVirt.storageProfiles),
  };
  const c = rt.client;

  inf.pvcs.on((_e, o) => rt.enqueue("pvc", keyOf(o)));
  inf.storageClasses.on(() => inf.pvcs.list().forEach((p) => rt.enqueue("pvc", keyOf(p))));
  inf.volumeSnapshots.on((_e, o) => {
    rt.enqueue("volumesnapshot", keyOf(o));
    // Claims restored from this snapshot wait for it.
    for (const p of inf.pvcs.list()) {
      if (
        p.metadata.namespace === o.metadata.namespace &&
        asObj(p).spec.dataSource?.name === o.metadata.name
      ) {
        rt.enqueue("pvc", keyOf(p));
      }
    }
  });
  inf.dataVolumes.on((_e, o) => rt.enqueue("datavolume", keyOf(o)));
  inf.pvcs.on((_e, o) => {
    for (const dv of inf.dataVolumes.list()) {
      if (dv.metadata.namespace === o.metadata.namespace && dv.metadata.name === o.metadata.name)
        rt.enqueue("datavolume", keyOf(dv));
    }
  });

  // ---- CDI: one StorageProfile per StorageClass; spec.snapshotClass is reported in status ----
  inf.storageClasses.on((_e, o) => rt.enqueue("storageprofile", o.metadata.name));
  inf.storageProfiles.on((_e, o) => rt.enqueue("storageprofile", o.metadata.name));
  rt.register("storageprofile", async (name) => {
    const sc = inf.storageClasses.get(name) as (KubeObject & { provisioner?: string }) | undefined;
    if (!sc) return;
    let profile = inf.storageProfiles.get(name) as Obj | undefined;
    if (!profile) {
      profile = (await c
        .create(KubeVirt.storageProfiles, {
          apiVersion: apiVersionOf(KubeVirt.storageProfiles),
          kind: "StorageProfile",
          metadata: { name },
          spec: {},
        })
        .catch(async (err) => {
          ignoreConflict(err);
          return c.get(KubeVirt.storageProfiles, name);
        })) as Obj;
    }
    const snapshotClass = profile.spec?.snapshotClass as string | undefined;
    const next = {
      storageClass: name,
      provisioner: sc.provisioner,
      ...(snapshotClass ? { snapshotClass } : {}),
      claimPropertySets: [{ accessModes: ["ReadWriteOnce"], volumeMode: "Filesystem" }],
      cloneStrategy: "snapshot",
    };
    const cur = profile.status ?? {};
    if (
      JSON.stringify([cur.storageClass, cur.provisioner, cur.snapshotClass]) !==
      JSON.stringify([next.storageClass, next.provisioner, next.snapshotClass])
    ) {
      await c.patch(
        KubeVirt.storageProfiles,
        name,
        undefined,
        { status: { ...next, ...(snapshotClass ? {} : { snapshotClass: null }) } },
        { subresource: "status" },
      );
    }
  });

  // ---- What runs around the PV binder: the external-provisioner of every simulated driver,
  // the scheduler's node choice for WaitForFirstConsumer claims, and PVC protection for VM
  // consumers. kube-controller-manager's persistentvolume-binder (k8s.io/kubernetes v1.33.13
  // pkg/controller/volume/persistentvolume/pv_controller.go) does the binding itself: it
  // defaults the class, waits for a consumer, asks the provisioner by annotating the claim,
  // binds claim and volume, and releases the volume when the claim goes. ----
  inf.pvs.on((_e, o) => rt.enqueue("pv", keyOf(o)));
  rt.register("pvc", async (key): Promise<ReconcileResult | void> => {
    const pvc = inf.pvcs.cache.get(key) as Obj | undefined;
    if (!pvc) return;
    const ns = pvc.metadata.namespace!;
    if (pvc.metadata.deletionTimestamp) {
      // The PVC-protection controller (kubernetes pkg/controller/volume/pvcprotection/
      // pvc_protection_controller.go, v1.33.13) keeps the finalizer while a pod uses the claim;
      // here the consumers are simulated VMs, which have no pods, so this part stays simulated.
      if (hooks.claimInUse(ns, pvc.metadata.name)) return;
      if (hasFinalizer(pvc, PVC_PROTECTION)) {
        await c.patch(Core.pvcs, pvc.metadata.name, ns, {
          metadata: {
            finalizers: (pvc.metadata.finalizers ?? []).filter((f) => f !== PVC_PROTECTION),
          },
        });
      }
      return;
    }
    const annotations: Record<string, string> = {};
    if (annotation(pvc, SIM.data) === undefined) {
      // Initial data: from the snapshot it is restored from, else a fresh fingerprint.
      const ds = pvc.spec.dataSource as { kind?: string; name?: string } | undefined;
      if (ds?.kind === "VolumeSnapshot") {
        const vs = inf.volumeSnapshots.get(ds.name!, ns) as Obj | undefined;
        if (!vs || vs.status?.readyToUse !== true) return; // waits for the snapshot (event-driven)
        annotations[SIM.data] = annotation(vs, SIM.data) ?? "";
      } else {
        annotations[SIM.data] = `disk-${randomBytes(4).toString("hex")}`;
      }
    }
    if (Object.keys(annotations).length)
      await c.patch(Core.pvcs, pvc.metadata.name, ns, { metadata: { annotations } });
    if (pvc.status?.phase === "Bound" || pvc.spec.volumeName) return;
    const sc = storageClassOf(pvc, inf.storageClasses) as
      | (KubeObject & { provisioner?: string; volumeBindingMode?: string; reclaimPolicy?: string })
      | undefined;
    if (!sc) return; // no class: the binder leaves it Pending until one appears
    if (
      sc.volumeBindingMode === "WaitForFirstConsumer" &&
      annotation(pvc, SELECTED_NODE) === undefined
    ) {
      // The scheduler's volume binding (kubernetes pkg/scheduler/framework/plugins/
      // volumebinding, v1.33.13) picks a node for a claim once a consumer is scheduled; the
      // binder provisions only after that. The consumer here is a running simulated VM.
      if (hooks.claimInUse(ns, pvc.metadata.name))
        await c.patch(Core.pvcs, pvc.metadata.name, ns, {
          metadata: { annotations: { [SELECTED_NODE]: SIM_NODE } },
        });
      return;
    }
    // external-provisioner (kubernetes-csi/external-provisioner v5, pkg/controller/controller.go)
    // acts on claims the binder handed to its driver, and waits for a source snapshot to be ready.
    if (!sc.provisioner || annotation(pvc, STORAGE_PROVISIONER) !== sc.provisioner) return;
    const pvName = `pvc-${pvc.metadata.uid}`;
    if (inf.pvs.get(pvName)) return;
    const size = (pvc.spec.resources?.requests?.storage as string | undefined) ?? "1Gi";
    await c
      .create(Core.pvs, {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: {
          name: pvName,
          annotations: { [PROVISIONED_BY]: sc.provisioner },
        },
        spec: {
          capacity: { storage: size },
          accessModes: (pvc.spec.accessModes as string[] | undefined) ?? ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
          storageClassName: sc.metadata.name,
          volumeMode: pvc.spec.volumeMode ?? "Filesystem",
          csi: { driver: sc.provisioner, volumeHandle: pvName },
          claimRef: {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            namespace: ns,
            name: pvc.metadata.name,
            uid: pvc.metadata.uid,
          },
        },
      })
      .catch(ignoreConflict);
  });
  // external-provisioner's deletion: a Released volume it provisioned, with reclaim policy
  // Delete, is deleted (the binder waits for that; KCM's pv-protection removes the finalizer).
  rt.register("pv", async (name) => {
    const pv = inf.pvs.get(name) as Obj | undefined;
    if (!pv || pv.metadata.deletionTimestamp) return;
    if (pv.status?.phase !== "Released" || pv.spec.persistentVolumeReclaimPolicy !== "Delete")
      return;
    if (annotation(pv, PROVISIONED_BY) === undefined) return;
    await c.delete(Core.pvs, name).catch(ignoreNotFound);
  });

  // ---- CDI DataVolume: a claim of the same name, Succeeded once it is bound ----
  rt.register("datavolume", async (key) => {
    const dv = inf.dataVolumes.cache.get(key) as Obj | undefined;
    if (!dv || dv.metadata.deletionTimestamp) return;
    const ns = dv.metadata.namespace!;
    const pvc = inf.pvcs.get(dv.metadata.name, ns) as Obj | undefined;
    if (!pvc) {
      const storage = (dv.spec.pvc ?? dv.spec.storage ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      const source = (dv.spec.source ?? {}) as Record<string, Record<string, string>>;
      const dataSource = source.snapshot
        ? {
            apiGroup: "snapshot.storage.k8s.io",
            kind: "VolumeSnapshot",
            name: source.snapshot.name,
          }
        : undefined;
      await c
        .create(Core.pvcs, {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: {
            name: dv.metadata.name,
            namespace: ns,
            labels: { "app.kubernetes.io/managed-by": "cdi-controller" },
            annotations: dataSource
              ? {}
              : { [SIM.data]: annotation(dv, SIM.data) ?? `dv-${randomBytes(4).toString("hex")}` },
            ownerReferences: [
              {
                apiVersion: apiVersionOf(KubeVirt.dataVolumes),
                kind: "DataVolume",
                name: dv.metadata.name,
                uid: dv.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            accessModes: storage.accessModes ?? ["ReadWriteOnce"],
            resources: storage.resources ?? { requests: { storage: "1Gi" } },
            ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
            ...(storage.volumeMode ? { volumeMode: storage.volumeMode } : {}),
            ...(dataSource ? { dataSource } : {}),
          },
        })
        .catch(ignoreConflict);
      await c.patch(
        KubeVirt.dataVolumes,
        dv.metadata.name,
        ns,
        { status: { phase: "Pending", claimName: dv.metadata.name } },
        { subresource: "status" },
      );
      return;
    }
    const bound = pvc.status?.phase === "Bound";
    const phase = bound ? "Succeeded" : "Pending";
    if (dv.status?.phase !== phase) {
      await c.patch(
        KubeVirt.dataVolumes,
        dv.metadata.name,
        ns,
        { status: { phase, progress: bound ? "100.0%" : "N/A", claimName: pvc.metadata.name } },
        { subresource: "status" },
      );
    }
  });

  // ---- The csi-snapshotter sidecar and the CSI driver behind it. snapshot-controller
  // (kubernetes-csi/external-snapshotter v8.6.0, pkg/common-controller) runs for real: it picks
  // the class (the default one of the driver when none is named), creates the content, binds
  // both and copies the content's status to the snapshot. What follows imitates the sidecar,
  // pkg/sidecar-controller/snapshot_controller.go of the same tag: CreateSnapshot on a new
  // content, readiness after the upload, and the finalizer's removal once a content is deleted.
  inf.volumeSnapshotContents.on((_e, o) => rt.enqueue("volumesnapshotcontent", o.metadata.name));
  rt.register("volumesnapshotcontent", async (name): Promise<ReconcileResult | void> => {
    const content = inf.volumeSnapshotContents.get(name) as Obj | undefined;
    if (!content) return;
    const ref = (content.spec.volumeSnapshotRef ?? {}) as { name?: string; namespace?: string };
    if (content.metadata.deletionTimestamp) {
      // shouldDelete(): the snapshot-controller marks a content whose snapshot is being deleted;
      // DeleteSnapshot on the simulated storage is immediate, then the finalizer goes.
      if (annotation(content, BEING_DELETED) === undefined) return;
      if (hasFinalizer(content, CONTENT_FINALIZER))
        await c.patch(Csi.volumeSnapshotContents, name, undefined, {
          metadata: {
            finalizers: (content.metadata.finalizers ?? []).filter((f) => f !== CONTENT_FINALIZER),
          },
        });
      return;
    }
    const volumeHandle = content.spec.source?.volumeHandle as string | undefined;
    if (!volumeHandle) return; // pre-provisioned contents are out of scope
    const vs = ref.name
      ? (inf.volumeSnapshots.get(ref.name, ref.namespace) as Obj | undefined)
      : undefined;
    const vm = vs ? hooks.vmForVolumeSnapshot(vs) : undefined;
    const fail = failures(vm);
    if (!content.status) {
      if (fail.has("stuck")) return; // CreateSnapshot never answers: never cut, never ready
      if (fail.has("volume-snapshot")) {
        await c.patch(
          Csi.volumeSnapshotContents,
          name,
          undefined,
          {
            status: {
              readyToUse: false,
              error: {
                time: nowIso(),
                message: `Failed to create snapshot: failed to take snapshot of the volume ${volumeHandle}: "rpc error: code = Internal desc = simulated CSI error: snapshot of volume ${volumeHandle} failed"`,
              },
            },
          },
          { subresource: "status" },
        );
        return;
      }
      // Cut: capture the source claim's data fingerprint now; the upload completes after the delay.
      const claim = vs?.spec.source?.persistentVolumeClaimName as string | undefined;
      const pvc = claim ? (inf.pvcs.get(claim, ref.namespace) as Obj | undefined) : undefined;
      const data = { [SIM.data]: (pvc && annotation(pvc, SIM.data)) ?? "" };
      await c.patch(Csi.volumeSnapshotContents, name, undefined, {
        metadata: { annotations: data },
      });
      if (vs)
        await c
          .patch(Csi.volumeSnapshots, vs.metadata.name, ref.namespace, {
            metadata: { annotations: data },
          })
          .catch(ignoreNotFound);
      const size = (pvc?.status?.capacity?.storage as string | undefined) ?? "1Gi";
      await c.patch(
        Csi.volumeSnapshotContents,
        name,
        undefined,
        {
          status: {
            snapshotHandle: `snap-${content.metadata.uid}`,
            creationTime: Date.now() * 1e6,
            readyToUse: false,
            restoreSize: quantityBytes(size) ?? 0,
          },
        },
        { subresource: "status" },
      );
      return { requeueAfterMs: snapshotDelayMs(vm) };
    }
    if (content.status.readyToUse === true || content.status.error) return;
    const readyAt = Number(content.status.creationTime) / 1e6 + snapshotDelayMs(vm);
    if (Date.now() < readyAt) return { requeueAfterMs: readyAt - Date.now() };
    await c.patch(
      Csi.volumeSnapshotContents,
      name,
      undefined,
      { status: { readyToUse: true } },
      { subresource: "status" },
    );
  });
  return inf;
}

/** The default VolumeSnapshotClass of a CSI driver: the only one, or the one annotated default. */
export function defaultSnapshotClass(
  inf: Pick<StorageInformers, "volumeSnapshotClasses">,
  driver: string,
): KubeObject | undefined {
  const candidates = inf.volumeSnapshotClasses
    .list()
    .filter((c) => (c as { driver?: string }).driver === driver);
  if (candidates.length === 1) return candidates[0];
  return candidates.find((c) => c.metadata.annotations?.[IS_DEFAULT_VSC] === "true");
}

export function ignoreConflict(err: unknown): void {
  if (!(err instanceof KubeApiError && err.code === 409)) throw err;
}

export function ignoreNotFound(err: unknown): void {
  if (!(err instanceof KubeApiError && err.code === 404)) throw err;
}

export { keyOf };
