// The VirtualMachineClone controller for a VirtualMachineSnapshot source
// (kubevirt pkg/virt-controller/watch/clone): wait for the snapshot, check every volume is backed
// up, restore it into a new VM through `tmp-restore-<cloneUID>`, then clean the restore up.
import { randomBytes } from "node:crypto";
import { KubeVirt, apiVersionOf, keyOf, type KubeObject } from "../../../kube/resources.js";
import { annotation } from "../annotations.js";
import { asObj, ignoreConflict, ignoreNotFound, nowIso } from "../storage.js";
import { condition, jsonEqual, mergeConditions, vmVolumes, type KvContext } from "./context.js";

type Json = Record<string, unknown>;

export function registerCloneController(ctx: KvContext): void {
  const { rt, inf, client: c } = ctx;
  inf.clones.on((_e, o) => rt.enqueue("kubevirt-clone", keyOf(o)));
  const enqueueIn = (ns: string | undefined) => {
    for (const cl of inf.clones.list()) {
      const phase = asObj(cl).status?.phase;
      if (cl.metadata.namespace === ns && phase !== "Succeeded" && phase !== "Failed")
        rt.enqueue("kubevirt-clone", keyOf(cl));
    }
  };
  for (const i of [inf.snapshots, inf.restores, inf.vms, inf.pvcs])
    i.on((_e, o) => enqueueIn(o.metadata.namespace));

  rt.register("kubevirt-clone", async (key) => {
    const clone = inf.clones.cache.get(key);
    if (!clone || clone.metadata.deletionTimestamp) return;
    const ns = clone.metadata.namespace!;
    const spec = asObj(clone).spec;
    const status = asObj(clone).status ?? {};
    if (status.phase === "Succeeded" || status.phase === "Failed") return;
    const write = async (next: Json) => {
      const same = Object.keys(next).every((k) => jsonEqual(status[k], next[k]));
      if (!same)
        await c.patch(
          KubeVirt.clones,
          clone.metadata.name,
          ns,
          { status: next },
          { subresource: "status" },
        );
    };
    const fail = (message: string) =>
      write({
        phase: "Failed",
        conditions: mergeConditions(status.conditions, [
          condition("Progressing", false, message),
          condition("Ready", false, message),
        ]),
      });

    const source = spec.source as { kind?: string; name?: string } | undefined;
    if (source?.kind !== "VirtualMachineSnapshot") {
      return void (await fail(
        `the playground simulates clones from a VirtualMachineSnapshot only (source kind ${source?.kind ?? "none"})`,
      ));
    }
    const targetName =
      (status.targetName as string | undefined) ??
      (spec.target as { name?: string } | undefined)?.name ??
      `clone-${source.name}-${randomBytes(3).toString("hex").slice(0, 5)}`;
    const snap = inf.snapshots.get(source.name!, ns);
    if (!snap) return void (await fail(`VirtualMachineSnapshot ${source.name} not found`));
    const snapStatus = asObj(snap).status ?? {};
    if (snapStatus.readyToUse !== true) {
      return void (await write({
        phase: "SnapshotInProgress",
        snapshotName: source.name,
        targetName,
        conditions: mergeConditions(status.conditions, [
          condition("Progressing", true, "Waiting for the snapshot"),
          condition("Ready", false, "Not ready"),
        ]),
      }));
    }
    const content = inf.contents.get(snapStatus.virtualMachineSnapshotContentName as string, ns);
    if (!content) return;
    const stored = asObj(content).spec.source?.virtualMachine as KubeObject | undefined;
    const backedUp = new Set(
      ((asObj(content).spec.volumeBackups ?? []) as { volumeName: string }[]).map(
        (b) => b.volumeName,
      ),
    );
    for (const v of stored ? vmVolumes(stored) : []) {
      if (v.claimName && !backedUp.has(v.name))
        return void (await fail(`volume ${v.name} is not backed up in snapshot ${source.name}`));
    }

    const restoreName = `tmp-restore-${clone.metadata.uid}`;
    const restore = inf.restores.get(restoreName, ns);
    const targetVm = inf.vms.get(targetName, ns);
    // The target was made by our restore when it carries that restore's lastRestoreUID.
    const ours =
      targetVm !== undefined &&
      (annotation(targetVm, "restore.kubevirt.io/lastRestoreUID") ?? "").startsWith(
        `${restoreName}-`,
      );
    if (!restore && !ours) {
      if (targetVm) return void (await fail(`target VM ${targetName} already exists`));
      await c
        .create(KubeVirt.restores, {
          apiVersion: apiVersionOf(KubeVirt.restores),
          kind: "VirtualMachineRestore",
          metadata: {
            name: restoreName,
            namespace: ns,
            ownerReferences: [
              {
                apiVersion: apiVersionOf(KubeVirt.clones),
                kind: "VirtualMachineClone",
                name: clone.metadata.name,
                uid: clone.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: targetName },
            virtualMachineSnapshotName: source.name,
            patches: clonePatches(stored, spec),
          },
        })
        .catch(ignoreConflict);
      return void (await write({
        phase: "RestoreInProgress",
        snapshotName: source.name,
        restoreName,
        targetName,
        conditions: mergeConditions(status.conditions, [
          condition("Progressing", true, "Restore in progress"),
          condition("Ready", false, "Not ready"),
        ]),
      }));
    }
    if (restore && asObj(restore).status?.complete !== true) {
      const failed = ((asObj(restore).status?.conditions ?? []) as Json[]).find(
        (x) => x.type === "Failure" && x.status === "True",
      );
      if (failed) return void (await fail(`restore failed: ${String(failed.reason)}`));
      return;
    }
    if (restore) {
      await write({
        phase: "CreatingTargetVM",
        snapshotName: source.name,
        restoreName,
        targetName,
      });
      await c.delete(KubeVirt.restores, restoreName, ns).catch(ignoreNotFound);
    }
    if (!ours) return;
    await write({
      phase: "Succeeded",
      creationTime: nowIso(),
      snapshotName: source.name,
      restoreName,
      targetName,
      conditions: mergeConditions(status.conditions, [
        condition("Progressing", false, "Operation complete"),
        condition("Ready", true, "Operation complete"),
      ]),
    });
  });
}

/** JSON patches for the new VM: new MACs (stripped unless given), new SMBIOS serial, user patches. */
function clonePatches(stored: KubeObject | undefined, spec: Json): string[] {
  const patches: string[] = [];
  const interfaces = (asObj(stored ?? { metadata: { name: "" } }).spec?.template?.spec?.domain
    ?.devices?.interfaces ?? []) as Json[];
  const newMacs = (spec.newMacAddresses ?? {}) as Record<string, string>;
  interfaces.forEach((iface, i) => {
    const mac = newMacs[iface.name as string];
    if (mac)
      patches.push(
        JSON.stringify({
          op: "replace",
          path: `/spec/template/spec/domain/devices/interfaces/${i}/macAddress`,
          value: mac,
        }),
      );
    else if (iface.macAddress)
      patches.push(
        JSON.stringify({
          op: "remove",
          path: `/spec/template/spec/domain/devices/interfaces/${i}/macAddress`,
        }),
      );
  });
  const firmware = asObj(stored ?? { metadata: { name: "" } }).spec?.template?.spec?.domain
    ?.firmware as Json | undefined;
  if (firmware?.uuid)
    patches.push(
      JSON.stringify({ op: "remove", path: "/spec/template/spec/domain/firmware/uuid" }),
    );
  if (spec.newSMBiosSerial)
    patches.push(
      JSON.stringify({
        op: "add",
        path: "/spec/template/spec/domain/firmware/serial",
        value: spec.newSMBiosSerial,
      }),
    );
  return [...patches, ...((spec.patches ?? []) as string[])];
}
