// Simulated storage, shared by every platform simulator: the PV controller (binding PVCs),
// CDI DataVolumes, and the CSI external-snapshotter + driver (VolumeSnapshots and contents).
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
const PV_PROTECTION = "kubernetes.io/pv-protection";
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

  // ---- PV controller: bind claims, release them on deletion ----
  rt.register("pvc", async (key): Promise<ReconcileResult | void> => {
    const pvc = inf.pvcs.cache.get(key) as Obj | undefined;
    if (!pvc) return;
    const ns = pvc.metadata.namespace!;
    if (pvc.metadata.deletionTimestamp) {
      if (hooks.claimInUse(ns, pvc.metadata.name)) return;
      if (hasFinalizer(pvc, PVC_PROTECTION)) {
        await c.patch(Core.pvcs, pvc.metadata.name, ns, {
          metadata: {
            finalizers: (pvc.metadata.finalizers ?? []).filter((f) => f !== PVC_PROTECTION),
          },
        });
      }
      const pvName = pvc.spec.volumeName as string | undefined;
      const pv = pvName ? inf.pvs.get(pvName) : undefined;
      if (pv) {
        if (hasFinalizer(pv, PV_PROTECTION))
          await c.patch(Core.pvs, pv.metadata.name, undefined, { metadata: { finalizers: [] } });
        await c.delete(Core.pvs, pv.metadata.name).catch(ignoreNotFound);
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
    if (pvc.status?.phase === "Bound") {
      if (Object.keys(annotations).length)
        await c.patch(Core.pvcs, pvc.metadata.name, ns, { metadata: { annotations } });
      return;
    }
    const sc = storageClassOf(pvc, inf.storageClasses) as
      (KubeObject & { provisioner?: string; volumeBindingMode?: string }) | undefined;
    if (!sc) return; // no class: Pending until one appears
    if (
      sc.volumeBindingMode === "WaitForFirstConsumer" &&
      !hooks.claimInUse(ns, pvc.metadata.name)
    ) {
      if (Object.keys(annotations).length)
        await c.patch(Core.pvcs, pvc.metadata.name, ns, { metadata: { annotations } });
      return;
    }
    const size = (pvc.spec.resources?.requests?.storage as string | undefined) ?? "1Gi";
    const accessModes = (pvc.spec.accessModes as string[] | undefined) ?? ["ReadWriteOnce"];
    const pvName = `pvc-${pvc.metadata.uid}`;
    if (!inf.pvs.get(pvName)) {
      await c
        .create(Core.pvs, {
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: {
            name: pvName,
            annotations: { "pv.kubernetes.io/provisioned-by": sc.provisioner ?? "" },
          },
          spec: {
            capacity: { storage: size },
            accessModes,
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: sc.metadata.name,
            volumeMode: pvc.spec.volumeMode ?? "Filesystem",
            csi: { driver: sc.provisioner ?? "unknown", volumeHandle: pvName },
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
    }
    await c.patch(Core.pvcs, pvc.metadata.name, ns, {
      metadata: {
        annotations: {
          ...annotations,
          "pv.kubernetes.io/bind-completed": "yes",
          "pv.kubernetes.io/bound-by-controller": "yes",
        },
      },
      spec: {
        volumeName: pvName,
        ...(pvc.spec.storageClassName ? {} : { storageClassName: sc.metadata.name }),
      },
    });
    await c.patch(
      Core.pvcs,
      pvc.metadata.name,
      ns,
      { status: { phase: "Bound", accessModes, capacity: { storage: size } } },
      { subresource: "status" },
    );
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

  // ---- CSI snapshotter + driver ----
  rt.register("volumesnapshot", async (key): Promise<ReconcileResult | void> => {
    const vs = inf.volumeSnapshots.cache.get(key) as Obj | undefined;
    if (!vs) return;
    const ns = vs.metadata.namespace!;
    const contentName = `snapcontent-${vs.metadata.uid}`;
    if (vs.metadata.deletionTimestamp) return;
    if (vs.status?.readyToUse === true || vs.status?.error) return;
    const claim = vs.spec.source?.persistentVolumeClaimName as string | undefined;
    if (!claim) return; // pre-provisioned snapshots are out of scope
    const vm = hooks.vmForVolumeSnapshot(vs);
    const fail = failures(vm);
    if (fail.has("stuck")) return; // never cut, never ready
    const pvc = inf.pvcs.get(claim, ns) as Obj | undefined;
    if (!pvc || pvc.status?.phase !== "Bound") return; // waits for the claim
    const pv = inf.pvs.get(pvc.spec.volumeName as string) as Obj | undefined;
    const driver = (pv?.spec.csi?.driver as string | undefined) ?? "";
    const className =
      (vs.spec.volumeSnapshotClassName as string | undefined) ??
      defaultSnapshotClass(inf, driver)?.metadata.name;
    const vsc = className
      ? (inf.volumeSnapshotClasses.get(className) as
          (KubeObject & { driver?: string; deletionPolicy?: string }) | undefined)
      : undefined;
    if (!vsc) {
      await c.patch(
        Csi.volumeSnapshots,
        vs.metadata.name,
        ns,
        {
          status: {
            readyToUse: false,
            error: {
              time: nowIso(),
              message: `Failed to get snapshot class with error: no VolumeSnapshotClass for driver ${driver}`,
            },
          },
        },
        { subresource: "status" },
      );
      return;
    }
    if (fail.has("volume-snapshot")) {
      await c.patch(
        Csi.volumeSnapshots,
        vs.metadata.name,
        ns,
        {
          status: {
            readyToUse: false,
            error: {
              time: nowIso(),
              message: `Failed to create snapshot: simulated CSI error: rpc error: code = Internal desc = snapshot of volume ${pv?.spec.csi?.volumeHandle ?? claim} failed`,
            },
          },
        },
        { subresource: "status" },
      );
      return;
    }
    const size = (pvc.status?.capacity?.storage as string | undefined) ?? "1Gi";
    if (!vs.status?.creationTime) {
      // Cut: capture the data fingerprint now; the upload completes after the delay.
      const cutAt = nowIso();
      await c.patch(Csi.volumeSnapshots, vs.metadata.name, ns, {
        metadata: { annotations: { [SIM.data]: annotation(pvc, SIM.data) ?? "" } },
      });
      const content = {
        apiVersion: apiVersionOf(Csi.volumeSnapshotContents),
        kind: "VolumeSnapshotContent",
        metadata: {
          name: contentName,
          annotations: { [SIM.data]: annotation(pvc, SIM.data) ?? "" },
        },
        spec: {
          volumeSnapshotRef: {
            apiVersion: apiVersionOf(Csi.volumeSnapshots),
            kind: "VolumeSnapshot",
            name: vs.metadata.name,
            namespace: ns,
            uid: vs.metadata.uid,
          },
          source: { volumeHandle: pv?.spec.csi?.volumeHandle ?? claim },
          driver: vsc.driver ?? driver,
          deletionPolicy: vsc.deletionPolicy ?? "Delete",
          volumeSnapshotClassName: vsc.metadata.name,
        },
      };
      await c.create(Csi.volumeSnapshotContents, content).catch(ignoreConflict);
      await c.patch(
        Csi.volumeSnapshots,
        vs.metadata.name,
        ns,
        {
          status: {
            boundVolumeSnapshotContentName: contentName,
            creationTime: cutAt,
            readyToUse: false,
            restoreSize: size,
          },
        },
        { subresource: "status" },
      );
      return { requeueAfterMs: snapshotDelayMs(vm) };
    }
    const readyAt = Date.parse(vs.status.creationTime as string) + snapshotDelayMs(vm);
    if (Date.now() < readyAt) return { requeueAfterMs: readyAt - Date.now() };
    await c
      .patch(
        Csi.volumeSnapshotContents,
        contentName,
        undefined,
        {
          status: {
            snapshotHandle: `snap-${vs.metadata.uid}`,
            creationTime: Date.parse(vs.status.creationTime as string) * 1e6,
            readyToUse: true,
            restoreSize: quantityBytes(size) ?? 0,
          },
        },
        { subresource: "status" },
      )
      .catch(ignoreNotFound);
    await c.patch(
      Csi.volumeSnapshots,
      vs.metadata.name,
      ns,
      { status: { readyToUse: true } },
      { subresource: "status" },
    );
  });
  inf.volumeSnapshots.on((e, o) => {
    // Deleting a snapshot deletes its content (deletionPolicy Delete), as the snapshotter does.
    if (e !== "delete") return;
    const name =
      (asObj(o).status?.boundVolumeSnapshotContentName as string | undefined) ??
      `snapcontent-${o.metadata.uid}`;
    const content = inf.volumeSnapshotContents.get(name) as Obj | undefined;
    if (content && content.spec.deletionPolicy !== "Retain")
      void c.delete(Csi.volumeSnapshotContents, name).catch(() => {});
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
