// The VirtualMachineRestore controller, after kubevirt/kubevirt v1.9.0
// pkg/storage/snapshot/restore.go (updateVMRestore, reconcileVolumeRestores): target readiness
// policy, snapshot validity, the restoreInProgress lock, PVCs from VolumeSnapshots (carrying the
// snapshot's data fingerprints), the VM spec from the content, completion and conditions.
import { Core, KubeVirt, apiVersionOf, keyOf, type KubeObject } from "../../../kube/resources.js";
import { SIM, annotation } from "../annotations.js";
import { quantityBytes } from "../../../core/quantity.js";
import { asObj, hasFinalizer, ignoreConflict, ignoreNotFound, nowIso } from "../storage.js";
import type { ReconcileResult } from "../runtime.js";
import {
  RESTORE_FINALIZER,
  condition,
  jsonEqual,
  mergeConditions,
  type KvContext,
} from "./context.js";

export const DEFAULT_GRACE_PERIOD_MS = 5 * 60_000;
/** restore.go errorRestoreToExistingTarget. */
export const RESTORE_TO_EXISTING_TARGET =
  "restore source and restore target are different but restore target already exists";
// Upstream requeues with the workqueue's rate limiter after an error; a fixed interval here.
const DIFFERENT_TARGET_RETRY_MS = 5000;

type Json = Record<string, unknown>;

export function registerRestoreController(ctx: KvContext): void {
  const { rt, inf, client: c } = ctx;
  const enqueueRestoresIn = (ns: string | undefined) => {
    for (const r of inf.restores.list()) {
      if (r.metadata.namespace === ns && asObj(r).status?.complete !== true)
        rt.enqueue("kubevirt-restore", keyOf(r));
    }
  };
  const seenAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  inf.restores.on((e, o) => {
    const key = keyOf(o);
    if (e === "delete") {
      seenAt.delete(key);
      doneAt.delete(key);
    } else if (!seenAt.has(key)) seenAt.set(key, performance.now());
    rt.enqueue("kubevirt-restore", key);
  });
  for (const i of [inf.snapshots, inf.vms, inf.vmis, inf.pvcs])
    i.on((_e, o) => enqueueRestoresIn(o.metadata.namespace));

  rt.register("kubevirt-restore", async (key): Promise<ReconcileResult | void> => {
    let restore = inf.restores.cache.get(key);
    if (!restore) return;
    const ns = restore.metadata.namespace!;
    const spec = asObj(restore).spec;
    const status = asObj(restore).status ?? {};
    const targetName = spec.target?.name as string;
    const target = inf.vms.get(targetName, ns);

    if (restore.metadata.deletionTimestamp) {
      await releaseLock(ctx, restore, target);
      if (hasFinalizer(restore, RESTORE_FINALIZER)) {
        await c
          .patch(KubeVirt.restores, restore.metadata.name, ns, {
            metadata: {
              finalizers: (restore.metadata.finalizers ?? []).filter(
                (f) => f !== RESTORE_FINALIZER,
              ),
            },
          })
          .catch(ignoreNotFound);
      }
      return;
    }
    if (status.complete === true || isFailed(restore)) {
      await releaseLock(ctx, restore, target);
      return;
    }
    // The target VM becomes the restore's controller owner, unless something else (a clone's
    // temporary restore) already controls it.
    const owners = restore.metadata.ownerReferences ?? [];
    const wantOwner =
      target !== undefined &&
      !owners.some((o) => o.controller) &&
      !owners.some((o) => o.uid === target.metadata.uid);
    if (!hasFinalizer(restore, RESTORE_FINALIZER) || wantOwner) {
      const ownerReferences = wantOwner
        ? [
            ...owners,
            {
              apiVersion: apiVersionOf(KubeVirt.vms),
              kind: "VirtualMachine",
              name: target!.metadata.name,
              uid: target!.metadata.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ]
        : owners;
      restore = await c.patch(KubeVirt.restores, restore.metadata.name, ns, {
        metadata: {
          finalizers: [...new Set([...(restore.metadata.finalizers ?? []), RESTORE_FINALIZER])],
          ownerReferences,
        },
      });
    }
    if (status.complete === undefined) {
      await writeStatus(ctx, restore, {
        complete: false,
        conditions: [
          condition("Progressing", true, "Initializing VirtualMachineRestore"),
          condition("Ready", false, "Initializing VirtualMachineRestore"),
        ],
      });
    }
    const fail = (message: string) =>
      writeStatus(ctx, restore!, {
        complete: false,
        conditions: mergeConditions(status.conditions, [
          condition("Progressing", false, message),
          condition("Ready", false, message),
          condition("Failure", true, message),
        ]),
      });
    const waiting = (message: string) =>
      writeStatus(ctx, restore!, {
        complete: false,
        conditions: mergeConditions(status.conditions, [
          condition("Progressing", false, message),
          condition("Ready", false, message),
        ]),
      });

    // 1. The snapshot must exist, be ready and not failed.
    const snapName = spec.virtualMachineSnapshotName as string;
    const snap = inf.snapshots.get(snapName, ns);
    const snapStatus = asObj(snap ?? { metadata: { name: "" } }).status ?? {};
    if (!snap) return void (await waiting(`VMSnapshot ${ns}/${snapName} does not exist`));
    if (snapStatus.phase === "Failed")
      return void (await waiting(`VMSnapshot ${ns}/${snapName} failed and is invalid to use`));
    if (snapStatus.readyToUse !== true)
      return void (await waiting(`VMSnapshot ${ns}/${snapName} not ready`));
    const content = inf.contents.get(snapStatus.virtualMachineSnapshotContentName as string, ns);
    if (!content || asObj(content).status?.readyToUse !== true)
      return void (await waiting(`VMSnapshotContent of ${ns}/${snapName} not ready`));

    const lastRestore = `${restore.metadata.name}-${restore.metadata.uid}`;
    if (target) {
      const lock = asObj(target).status?.restoreInProgress as string | undefined;
      if (lock && lock !== restore.metadata.name) {
        // KubeVirt's admission webhook refuses a restore of a VM that has one in progress; two
        // created at the same moment both pass it, and the one that does not get the lock must
        // never be applied after the other: it fails, with the same reason.
        const holder = inf.restores.get(lock, ns);
        if (holder && asObj(holder).status?.complete !== true && !isFailed(holder))
          return void (await fail(`VirtualMachineRestore "${lock}" in progress`));
        return void (await waiting(`VirtualMachineRestore "${lock}" in progress`));
      }
      // The webhook refuses a restore created while another of the same VM was unfinished; two
      // created at the same moment both pass it, so the later one fails here and is never
      // applied after the other. "When" is the order this controller first saw them in (one
      // watch stream: creation order), "unfinished" its own record of completions.
      const mine = seenAt.get(key) ?? Infinity;
      const earlier = inf.restores.list().find((o) => {
        const oKey = keyOf(o);
        if (oKey === key || o.metadata.namespace !== ns || isFailed(o)) return false;
        if (asObj(o).spec.target?.name !== targetName) return false;
        const oSeen = seenAt.get(oKey) ?? -Infinity;
        const oDone =
          asObj(o).status?.complete === true ? (doneAt.get(oKey) ?? -Infinity) : Infinity;
        return oSeen < mine && oDone > mine;
      });
      if (earlier && lock !== restore.metadata.name)
        return void (await fail(`VirtualMachineRestore "${earlier.metadata.name}" in progress`));
    }

    // 3. The target must be ready: no VMI. Otherwise act on targetReadinessPolicy.
    const vmi = target ? inf.vmis.get(target.metadata.name, ns) : undefined;
    if (vmi) {
      const policy = (spec.targetReadinessPolicy as string | undefined) ?? "WaitGracePeriod";
      const elapsed = Date.now() - Date.parse(restore.metadata.creationTimestamp!);
      switch (policy) {
        case "FailImmediate":
          return void (await fail(
            "Restore target VMI must be powered off before restore operation",
          ));
        case "StopTarget":
          if (
            asObj(target!).spec.runStrategy !== "Halted" ||
            asObj(target!).spec.running !== undefined
          ) {
            await c.patch(KubeVirt.vms, target!.metadata.name, ns, {
              spec: { runStrategy: "Halted", running: null },
            });
          }
          return void (await waiting("Waiting for target to be ready"));
        case "WaitEventually":
          return void (await waiting("Waiting for target to be ready"));
        default:
          if (elapsed >= DEFAULT_GRACE_PERIOD_MS) {
            return void (await fail(
              `Restore target failed to be ready within ${DEFAULT_GRACE_PERIOD_MS / 60000}m0s`,
            ));
          }
          await waiting("Waiting for target to be ready");
          return { requeueAfterMs: DEFAULT_GRACE_PERIOD_MS - elapsed };
      }
    }

    // 2. A different existing VM (one recreated under the snapshot's source name) is never
    // overwritten. Upstream (updateVMRestore, sourceAndTargetAreDifferent) reports it through
    // doUpdateError: Progressing and Ready False with the error as reason, no Failure condition,
    // complete stays false, and the restore is retried (with backoff) for as long as it exists.
    const createdByThisRestore =
      target !== undefined &&
      annotation(target, "restore.kubevirt.io/lastRestoreUID") === lastRestore;
    if (
      target &&
      !createdByThisRestore &&
      snapStatus.sourceUID &&
      target.metadata.uid !== snapStatus.sourceUID
    ) {
      await waiting(RESTORE_TO_EXISTING_TARGET);
      return { requeueAfterMs: DIFFERENT_TARGET_RETRY_MS };
    }

    // 4. Lock the target.
    if (target && asObj(target).status?.restoreInProgress !== restore.metadata.name) {
      // Taken against the VM's resourceVersion, so that of two restores only one can hold it.
      const locked = await c
        .patch(
          KubeVirt.vms,
          target.metadata.name,
          ns,
          {
            metadata: { resourceVersion: target.metadata.resourceVersion },
            status: { restoreInProgress: restore.metadata.name },
          },
          { subresource: "status" },
        )
        .then(
          () => true,
          (err: unknown) => {
            ignoreConflict(err);
            return false;
          },
        );
      if (!locked) return { requeueAfterMs: 20 };
    }

    // 5. Claims from the VolumeSnapshots.
    const policy = (spec.volumeRestorePolicy as string | undefined) ?? "RandomizeNames";
    const backups = (asObj(content).spec.volumeBackups ?? []) as {
      volumeName: string;
      volumeSnapshotName: string;
      persistentVolumeClaim: { metadata: { name: string }; spec: Json };
    }[];
    const restores: Json[] = [];
    let allBound = true;
    for (const b of backups) {
      const override = (
        (spec.volumeRestoreOverrides ?? []) as { volumeName: string; restoreName?: string }[]
      ).find((o) => o.volumeName === b.volumeName);
      const claimName =
        override?.restoreName ??
        (policy === "InPlace"
          ? b.persistentVolumeClaim.metadata.name
          : policy === "PrefixTargetName"
            ? `${targetName}-${b.volumeName}`.slice(0, 63)
            : `restore-${restore.metadata.uid}-${b.volumeName}`);
      restores.push({
        volumeName: b.volumeName,
        persistentVolumeClaim: claimName,
        volumeSnapshotName: b.volumeSnapshotName,
      });
      const existing = inf.pvcs.get(claimName, ns);
      const restoredHere =
        existing &&
        annotation(existing, "restore.kubevirt.io/lastRestoreUID") ===
          `${restore.metadata.name}-${restore.metadata.uid}`;
      if (existing && !restoredHere) {
        if (policy !== "InPlace") return void (await fail(`PVC ${claimName} already exists`));
        if (!existing.metadata.deletionTimestamp)
          await c.delete(Core.pvcs, claimName, ns).catch(ignoreNotFound);
        allBound = false;
        continue;
      }
      if (!existing) {
        const vs = inf.volumeSnapshots.get(b.volumeSnapshotName, ns);
        const sourceSpec = b.persistentVolumeClaim.spec ?? {};
        const requested = ((sourceSpec.resources as Json | undefined)?.requests as Json | undefined)
          ?.storage;
        const restoreSize = asObj(vs ?? { metadata: { name: "" } }).status?.restoreSize;
        const dataSource = {
          apiGroup: "snapshot.storage.k8s.io",
          kind: "VolumeSnapshot",
          name: b.volumeSnapshotName,
        };
        await c
          .create(Core.pvcs, {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: {
              name: claimName,
              namespace: ns,
              labels: {
                "restore.kubevirt.io/source-vm-name":
                  asObj(content).spec.source?.virtualMachine?.metadata?.name ?? targetName,
                "restore.kubevirt.io/source-vm-namespace": ns,
              },
              annotations: {
                "restore.kubevirt.io/lastRestoreUID": `${restore.metadata.name}-${restore.metadata.uid}`,
                ...(vs ? { [SIM.data]: annotation(vs, SIM.data) ?? "" } : {}),
              },
            },
            spec: {
              accessModes: sourceSpec.accessModes ?? ["ReadWriteOnce"],
              resources: {
                requests: {
                  storage: maxQuantity(
                    requested as string | undefined,
                    restoreSize as string | undefined,
                  ),
                },
              },
              ...(sourceSpec.storageClassName
                ? { storageClassName: sourceSpec.storageClassName }
                : {}),
              ...(sourceSpec.volumeMode ? { volumeMode: sourceSpec.volumeMode } : {}),
              dataSource,
              dataSourceRef: dataSource,
            },
          })
          .catch(ignoreConflict);
        allBound = false;
        continue;
      }
      // reconcileVolumeRestores: a Pending claim is waited for only when its StorageClass binds
      // Immediately (or it has none); WaitForFirstConsumer claims bind when the VM starts, so the
      // restore completes with them Pending. Any other phase is an error.
      const phase = asObj(existing).status?.phase as string | undefined;
      if (phase === "Bound") continue;
      if (phase === "Pending" || phase === undefined) {
        const binding = bindingModeOf(ctx, existing);
        if ("error" in binding) return void (await waiting(binding.error));
        if (binding.mode !== "WaitForFirstConsumer") allBound = false;
        continue;
      }
      return void (await waiting(`PVC ${ns}/${claimName} in status "${phase}"`));
    }
    if (!allBound) return void (await waiting("Waiting for restored volumes to be bound"));

    // 6. The VM: its spec from the snapshot, volumes pointing at the restored claims.
    const stored = asObj(content).spec.source?.virtualMachine as
      { metadata?: Json; spec?: Json } | undefined;
    const newSpec = structuredClone(stored?.spec ?? {}) as Json & {
      template?: { spec?: { volumes?: Json[] } };
      dataVolumeTemplates?: Json[];
    };
    const byVolume = new Map(
      restores.map((r) => [r.volumeName as string, r.persistentVolumeClaim as string]),
    );
    const deletedDataVolumes: string[] = [];
    for (const v of newSpec.template?.spec?.volumes ?? []) {
      const claim = byVolume.get(v.name as string);
      if (!claim) continue;
      const hotpluggable = ((v.persistentVolumeClaim ?? v.dataVolume) as Json | undefined)
        ?.hotpluggable;
      if (v.dataVolume) deletedDataVolumes.push((v.dataVolume as Json).name as string);
      delete v.dataVolume;
      v.persistentVolumeClaim = {
        claimName: claim,
        ...(hotpluggable ? { hotpluggable: true } : {}),
      };
    }
    delete newSpec.dataVolumeTemplates;
    if (target) {
      if (annotation(target, "restore.kubevirt.io/lastRestoreUID") !== lastRestore) {
        // An existing VM keeps its run strategy.
        const keep = asObj(target).spec;
        newSpec.runStrategy = keep.runStrategy ?? (keep.running ? "Always" : "Halted");
        delete newSpec.running;
        await c.replace(KubeVirt.vms, {
          ...target,
          metadata: {
            ...target.metadata,
            annotations: {
              ...(target.metadata.annotations ?? {}),
              "restore.kubevirt.io/lastRestoreUID": lastRestore,
            },
          },
          spec: newSpec,
        });
        return { requeueAfterMs: 10 };
      }
    } else {
      newSpec.runStrategy = "Halted";
      delete newSpec.running;
      const patched = applyJsonPatches(
        {
          metadata: {
            name: targetName,
            namespace: ns,
            labels: (stored?.metadata?.labels as Json | undefined) ?? {},
            annotations: { "restore.kubevirt.io/lastRestoreUID": lastRestore },
          },
          spec: newSpec,
        },
        (spec.patches ?? []) as string[],
      );
      await c
        .create(KubeVirt.vms, {
          apiVersion: apiVersionOf(KubeVirt.vms),
          kind: "VirtualMachine",
          ...(patched as { metadata: KubeObject["metadata"]; spec: Json }),
        })
        .catch(ignoreConflict);
      return { requeueAfterMs: 10 };
    }

    // 7. Done.
    doneAt.set(key, performance.now());
    await writeStatus(ctx, restore, {
      complete: true,
      restoreTime: nowIso(),
      restores,
      ...(deletedDataVolumes.length ? { deletedDataVolumes } : {}),
      conditions: mergeConditions(status.conditions, [
        condition("Progressing", false, "Operation complete"),
        condition("Ready", true, "Operation complete"),
      ]),
    });
    await releaseLock(ctx, restore, target);
  });
}

/** restore.go getBindingMode: the claim's StorageClass's volumeBindingMode (none without a class). */
function bindingModeOf(
  ctx: KvContext,
  pvc: KubeObject,
): { mode: string | undefined } | { error: string } {
  const name = asObj(pvc).spec.storageClassName as string | undefined;
  if (!name) return { mode: undefined };
  const sc = ctx.inf.storageClasses.get(name) as
    (KubeObject & { volumeBindingMode?: string }) | undefined;
  if (!sc) return { error: `StorageClass ${name} does not exist` };
  return { mode: sc.volumeBindingMode };
}

function isFailed(r: KubeObject): boolean {
  return ((asObj(r).status?.conditions ?? []) as Json[]).some(
    (c) => c.type === "Failure" && c.status === "True",
  );
}

async function releaseLock(
  ctx: KvContext,
  restore: KubeObject,
  target: KubeObject | undefined,
): Promise<void> {
  if (target && asObj(target).status?.restoreInProgress === restore.metadata.name) {
    await ctx.client
      .patch(
        KubeVirt.vms,
        target.metadata.name,
        target.metadata.namespace,
        { status: { restoreInProgress: null } },
        { subresource: "status" },
      )
      .catch(ignoreNotFound);
  }
}

async function writeStatus(ctx: KvContext, restore: KubeObject, next: Json): Promise<void> {
  const current = asObj(restore).status ?? {};
  const same = Object.keys(next).every(
    (k) => k === "restoreTime" || jsonEqual(current[k], next[k]),
  );
  if (same) return;
  await ctx.client.patch(
    KubeVirt.restores,
    restore.metadata.name,
    restore.metadata.namespace,
    { status: next },
    { subresource: "status" },
  );
}

/** The larger of two quantities (restored claims get max(request, restoreSize)). */
function maxQuantity(a: string | undefined, b: string | undefined): string {
  if (!a) return b ?? "1Gi";
  if (!b) return a;
  return (quantityBytes(b) ?? 0) > (quantityBytes(a) ?? 0) ? b : a;
}

/** RFC 6902 add/replace/remove on plain JSON (the restore's `patches`). */
export function applyJsonPatches(doc: Json, patches: string[]): Json {
  const out = structuredClone(doc);
  for (const raw of patches) {
    const ops = JSON.parse(raw) as
      | { op: string; path: string; value?: unknown }
      | { op: string; path: string; value?: unknown }[];
    for (const op of Array.isArray(ops) ? ops : [ops]) {
      const parts = op.path
        .split("/")
        .slice(1)
        .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
      const last = parts.pop();
      if (last === undefined) continue;
      let node: Record<string, unknown> | unknown[] = out;
      for (const p of parts) {
        const next = Array.isArray(node) ? node[Number(p)] : node[p];
        if (next === undefined || next === null || typeof next !== "object") {
          if (op.op === "remove") break;
          const created = {};
          if (!Array.isArray(node)) node[p] = created;
          node = created;
        } else node = next as Record<string, unknown> | unknown[];
      }
      if (Array.isArray(node)) {
        const i = last === "-" ? node.length : Number(last);
        if (op.op === "remove") node.splice(i, 1);
        else if (op.op === "add") node.splice(i, 0, op.value);
        else node[i] = op.value;
      } else if (op.op === "remove") delete node[last];
      else node[last] = op.value;
    }
  }
  return out;
}
