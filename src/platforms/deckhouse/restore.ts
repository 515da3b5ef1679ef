// Deckhouse restores and clones: VirtualMachineOperation Restore (or the legacy
// VirtualMachineRestore where only that is served), checked first by Deckhouse's own DryRun
// operation; clone is a VirtualMachineSnapshotOperation CreateVirtualMachine; start and stop are
// VirtualMachineOperations too.
import { explainRefusal } from "./admission.js";
import { advice, option, phrase } from "../../core/advice.js";
import { formatDiffLine, jsonDiff } from "../../core/diff.js";
import {
  ErrorCode,
  VmsnapError,
  invalidInput,
  notFound,
  operationFailed,
} from "../../core/errors.js";
import { fitName } from "../../core/names.js";
import type { Snapshot } from "../../core/schema.js";
import { KubeApiError } from "../../kube/client.js";
import { Core, Deckhouse, type KubeObject } from "../../kube/resources.js";
import { DeadlineExceededError, waitForObject } from "../../kube/watch.js";
import { arr, condition, conditionText, obj, str } from "../json.js";
import type {
  Manifest,
  RestoreAction,
  RestorePreview,
  RunStateChange,
  VmState,
  WaitOptions,
} from "../types.js";
import { OperationInProgressError, OperationSupersededError } from "../errors.js";
import type { DeckhouseApi } from "./api.js";
import {
  diskPhase,
  disksOf,
  imagesOf,
  manifest,
  operationState,
  vmNameOf,
  vmPhase,
} from "./model.js";

/** Deckhouse limits each nameReplacement `to` and prefix/suffix to 59 characters (CRD rule). */
export const CLONE_NAME_MAX = 59;
const DRY_RUN_TIMEOUT_MS = 60_000;
/**
 * How long the preview waits for another operation of the VM before it reports it as the
 * conflict: well within an MCP client's request timeout (60 s in the TypeScript SDK), so an
 * agent gets the conflict naming the operation, not a timeout of its call.
 */
const PREVIEW_OPERATIONS_WAIT_MS = 20_000;

/** Restore/Clone operations (and legacy restores) that are not finished, in one namespace. */
export async function restoreOperations(
  api: DeckhouseApi,
  namespace: string,
): Promise<KubeObject[]> {
  if ((await api.restoreApi()) === "operation") {
    const ops = await api.kube.list(Deckhouse.vmops, namespace);
    return ops.items.filter((o) => {
      const spec = obj(o.spec);
      const type = str(spec.type);
      const mode = str(obj(type === "Restore" ? spec.restore : spec.clone).mode);
      return (
        (type === "Restore" || type === "Clone") && mode !== "DryRun" && !operationState(o).done
      );
    });
  }
  const [restores, snaps] = await Promise.all([
    api.kube.list(Deckhouse.vmRestores, namespace),
    api.kube.list(Deckhouse.vmSnapshots, namespace),
  ]);
  // A legacy restore names only the snapshot; the snapshot names the VM.
  const vmOf = new Map(snaps.items.map((s) => [s.metadata.name, vmNameOf(s)]));
  return restores.items
    .filter((r) => !operationState(r, "VirtualMachineRestoreReady").done)
    .map((r) => ({
      ...r,
      spec: {
        ...obj(r.spec),
        type: "Restore",
        virtualMachineName: vmOf.get(str(obj(r.spec).virtualMachineSnapshotName) ?? ""),
      },
    }));
}

export async function restoreInProgress(
  api: DeckhouseApi,
  vm: VmState,
): Promise<string | undefined> {
  const ops = await restoreOperations(api, vm.namespace);
  return ops.find((o) => str(obj(o.spec).virtualMachineName) === vm.name)?.metadata.name;
}

export async function restoreAction(
  api: DeckhouseApi,
  namespace: string,
  name: string,
  vm: VmState,
  snapshot: string,
): Promise<RestoreAction> {
  const which = await api.restoreApi();
  // Strict: a missing image fails the restore instead of being dropped silently.
  const m =
    which === "operation"
      ? manifest(Deckhouse.vmops, namespace, name, {
          type: "Restore",
          virtualMachineName: vm.name,
          restore: { mode: "Strict", virtualMachineSnapshotName: snapshot },
        })
      : manifest(Deckhouse.vmRestores, namespace, name, {
          restoreMode: "Safe",
          virtualMachineSnapshotName: snapshot,
        });
  return { kind: "create", name, manifest: m };
}

export async function cloneManifest(
  api: DeckhouseApi,
  namespace: string,
  name: string,
  snapshot: string,
  target: string,
): Promise<Manifest> {
  if (target.length > CLONE_NAME_MAX)
    throw invalidInput(
      `clone target name ${JSON.stringify(target)} is ${target.length} characters long: Deckhouse allows at most ${CLONE_NAME_MAX}`,
      advice`choose a shorter name (${option("target")})`,
    );
  if (!(await api.served()).has(Deckhouse.vmsops.plural))
    throw invalidInput(
      "this Deckhouse cluster has no VirtualMachineSnapshotOperation (added in v1.2): it cannot create a VM from a snapshot",
      "upgrade the virtualization module, or restore the snapshot onto its own VM",
    );
  const s = await api.readVmSnapshot(namespace, snapshot);
  if (!s)
    throw invalidInput(
      `${snapshot} is not a VM snapshot: a disk snapshot is restored as a new disk`,
      advice`restore it as a new disk: ${{ do: "restore-disk", namespace, snapshot }}`,
    );
  const vm = vmNameOf(s);
  const disks = arr(obj(s.status).resources)
    .filter((r) => r.kind === "VirtualDisk")
    .map((r) => str(r.name) ?? "")
    .filter(Boolean);
  // Every object of the clone gets a name of its own: the VM becomes the target, each disk
  // `<target>-<disk>`, so nothing collides with the source VM's objects.
  const nameReplacement = [
    { from: { kind: "VirtualMachine", name: vm }, to: target },
    ...disks.map((d) => ({
      from: { kind: "VirtualDisk", name: d },
      to: fitName(`${target}-${d}`, "", CLONE_NAME_MAX),
    })),
  ];
  return manifest(Deckhouse.vmsops, namespace, name, {
    type: "CreateVirtualMachine",
    virtualMachineSnapshotName: snapshot,
    createVirtualMachine: { mode: "Strict", nameReplacement },
  });
}

/**
 * Resolves once no VirtualMachineOperation of the VM is unfinished, watching each one to its end:
 * Deckhouse runs one operation per VM at a time and refuses the next one meanwhile
 * (deckhouse/virtualization v1.10, images/virtualization-artifact/pkg/controller/vmop/
 * vmop_webhook.go, activeVMOPValidator: "... should finish first").
 */
export async function waitOperationsIdle(
  api: DeckhouseApi,
  vm: VmState,
  options: WaitOptions,
): Promise<void> {
  if (!(await api.served()).has(Deckhouse.vmops.plural)) return;
  const deadline = Date.now() + options.timeoutMs;
  // A new operation may start while one is awaited: look again until none is left.
  for (;;) {
    const ops = await api.kube.list(Deckhouse.vmops, vm.namespace);
    const open = ops.items.filter(
      (o) => str(obj(o.spec).virtualMachineName) === vm.name && !operationState(o).done,
    );
    if (!open.length) return;
    for (const o of open) {
      options.onProgress?.(
        `waiting for VirtualMachineOperation ${o.metadata.name} (${str(obj(o.spec).type) ?? "?"}) on VM ${vm.name} to finish`,
      );
      const type = str(obj(o.spec).type) ?? "?";
      await waitForObject(
        api.kube,
        Deckhouse.vmops,
        o.metadata.name,
        vm.namespace,
        (x) => x === undefined || operationState(x).done,
        { timeoutMs: Math.max(1, deadline - Date.now()), signal: options.signal },
      ).catch((err: unknown) => {
        // Still unfinished at the deadline: the platform's admission would refuse ours ("should
        // finish first"), so it is the same conflict, naming the operation — not a timeout.
        if (!(err instanceof DeadlineExceededError)) throw err;
        throw new OperationInProgressError(
          o.metadata.name,
          `VirtualMachineOperation ${o.metadata.name} (${type}) of VM ${vm.name} has not finished after ${Math.round(options.timeoutMs / 1000)}s; Deckhouse accepts no other operation of the VM until it does`,
          `wait for it to finish (in namespace ${vm.namespace}: \`kubectl get virtualmachineoperation ${o.metadata.name}\`), then try again`,
        );
      });
    }
  }
}

/** "Superseded by <name> with type <type>" (service.go markSuperseded). */
const SUPERSEDED_BY = /^Superseded by (\S+) with type (\S+)/;

/**
 * Waits until the VM is Stopped. vmsnap's own Stop operation (`stopOp`) is followed meanwhile: a
 * Stop superseded by another client's operation (a forced Stop or Restart; deckhouse/virtualization
 * v1.10 line, images/virtualization-artifact/pkg/controller/vmop/supersede/supersede.go and
 * .../vmop/service/service.go markSuperseded) is a conflict naming that operation, and a failed
 * Stop is the failure; the VM deleted meanwhile is not found. None of them waits to the timeout.
 */
export async function waitVmStopped(
  api: DeckhouseApi,
  vm: VmState,
  stopOp: string | undefined,
  options: WaitOptions,
): Promise<void> {
  const ns = vm.namespace;
  const done = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal;
  // Tagged: the VM is gone, so there is nothing to start again either.
  const gone = () =>
    new VmsnapError(
      ErrorCode.NotFound,
      `VM ${ns}/${vm.name} was deleted while vmsnap waited for it to stop; nothing else was done`,
      undefined,
      { vmGone: true },
    );
  const stopped = waitForObject(
    api.kube,
    Deckhouse.vms,
    vm.name,
    ns,
    (v) => {
      if (!v) throw gone();
      return vmPhase(v) === "Stopped";
    },
    { ...options, signal },
  );
  const ended = stopOp
    ? waitForObject(
        api.kube,
        Deckhouse.vmops,
        stopOp,
        ns,
        (o) => o !== undefined && ["Superseded", "Failed"].includes(operationState(o).phase),
        { ...options, signal },
      ).then(async (o) => {
        const st = operationState(o!);
        // The Stop fails when its VM is deleted: that is the VM gone, not a failed stop.
        if (st.phase === "Failed" && !(await api.kube.getIfExists(Deckhouse.vms, vm.name, ns)))
          throw gone();
        if (st.phase === "Failed")
          throw operationFailed(
            `VirtualMachineOperation ${stopOp} (Stop) of VM ${vm.name} failed${st.message ? `: ${st.message}` : ""}`,
            `look at the operation (kubectl -n ${ns} get virtualmachineoperation ${stopOp} -o yaml)`,
          );
        const by = SUPERSEDED_BY.exec(str(condition(o!, "Completed")?.message) ?? "");
        throw new OperationSupersededError(
          stopOp,
          by?.[1],
          `VirtualMachineOperation ${stopOp} (Stop) that vmsnap sent for VM ${vm.name} was superseded by ${
            by ? `VirtualMachineOperation ${by[1]} (${by[2]})` : "another operation"
          }: that operation now decides the VM's power state, so vmsnap did not go on and does not start the VM again`,
          `see what the other operation does (kubectl -n ${ns} get virtualmachineoperations), then try again once it has finished`,
        );
      })
    : new Promise<never>(() => {});
  // The loser is cut off once the first one settles; its rejection is not a failure.
  stopped.catch(() => {});
  ended.catch(() => {});
  try {
    await Promise.race([stopped, ended]);
  } finally {
    done.abort();
  }
}

export function runStateChange(api: DeckhouseApi, vm: VmState, running: boolean): RunStateChange {
  const type = running ? "Start" : "Stop";
  return {
    kind: "create",
    manifest: manifest(
      Deckhouse.vmops,
      vm.namespace,
      api.operationName(vm.name, type.toLowerCase()),
      { type, virtualMachineName: vm.name },
    ),
  };
}

export async function restorePreview(
  api: DeckhouseApi,
  vm: VmState,
  snapshot: Snapshot,
): Promise<RestorePreview> {
  const raw = await api.readVmSnapshot(vm.namespace, snapshot.name);
  const cut = Date.parse(snapshot.creationTime ?? snapshot.createdAt ?? "");
  const notes: string[] = [];
  const blockers: RestorePreview["blockers"] = [];
  const stored = await storedVm(api, vm.namespace, snapshot.contentName).catch((err: unknown) => {
    if (err instanceof KubeApiError && err.code === 403) {
      notes.push(
        `the stored VM configuration (Secret ${snapshot.contentName}) is not readable with these credentials (get secrets): the configuration diff cannot be shown`,
      );
      return undefined;
    }
    throw err;
  });
  const specChanges = stored
    ? jsonDiff(obj(vm.raw.spec), obj(stored.spec), "spec").map(formatDiffLine)
    : [];
  if (stored?.metadata?.uid && vm.uid && stored.metadata.uid !== vm.uid)
    blockers.push({
      message: `the snapshot was taken of another VM ${vm.name} (uid ${stored.metadata.uid}; this one is ${vm.uid}): Deckhouse restores only onto the same VM`,
      fix: phrase(
        advice`create a new VM from it instead: ${{ do: "clone", namespace: vm.namespace, snapshot: snapshot.name }}`,
        api.ctx.words,
      ),
    });
  const inSnapshot = new Set(snapshot.includedVolumes);
  const volumesNotInSnapshot = disksOf(vm.raw).filter((d) => !inSnapshot.has(d));
  // Images are not in the snapshot: the restore re-attaches them, so they must still exist
  // (a Strict restore fails otherwise).
  const images = imagesOf(stored ? (stored as KubeObject) : vm.raw);
  const present = await Promise.all(
    images.map((i) =>
      i.kind === "ClusterVirtualImage"
        ? api.kube.getIfExists(Deckhouse.clusterImages, i.name)
        : api.kube.getIfExists(Deckhouse.images, i.name, vm.namespace),
    ),
  );
  images.forEach((i, n) => {
    if (!present[n])
      blockers.push({
        message: `${i.kind} ${i.name}, attached to the VM in the snapshot, no longer exists (images are not saved in snapshots)`,
        fix: `recreate ${i.kind} ${i.name}`,
      });
  });
  if (images.length)
    notes.push(
      `images are not in the snapshot; they are re-attached: ${images.map((i) => `${i.kind} ${i.name}`).join(", ")}`,
    );
  notes.push(
    `IP address: ${str(obj(raw?.spec).keepIPAddress) === "Never" ? "not kept by the snapshot (keepIPAddress Never)" : "the snapshot keeps the VM's IP address (keepIPAddress Always)"}`,
  );
  if ((await api.restoreApi()) === "operation" && api.ctx.guard.sendsNothing)
    notes.push(
      "Deckhouse's own dry run of the restore (a VirtualMachineOperation in mode DryRun) was not made: a client-side dry run sends no write (--dry-run=server makes it)",
    );
  else if ((await api.restoreApi()) === "operation") {
    const check = await dryRunRestore(api, vm, snapshot.name);
    for (const r of check.resources)
      if (r.status === "Failed")
        blockers.push({ message: `${r.kind} ${r.name}: ${r.message ?? "conflict"}` });
    if (check.failed && !check.resources.some((r) => r.status === "Failed"))
      blockers.push({ message: check.message ?? "Deckhouse's dry run of the restore failed" });
    if (!check.failed)
      notes.push(
        `Deckhouse's dry run (VirtualMachineOperation Restore, mode DryRun) found no conflict; it restores: ${
          check.resources.map((r) => `${r.kind} ${r.name}`).join(", ") || "the VM"
        }`,
      );
  } else
    notes.push(
      "this cluster serves the legacy VirtualMachineRestore (Deckhouse before v1.9): restoreMode Safe, no dry run",
    );
  return {
    snapshotAgeSeconds: Number.isFinite(cut)
      ? Math.max(0, Math.round((api.ctx.now().getTime() - cut) / 1000))
      : null,
    notes,
    blockers,
    specChanges,
    volumesNotInSnapshot,
  };
}

/** The VM as stored in the snapshot's Secret (data.vm, base64 JSON). */
async function storedVm(
  api: DeckhouseApi,

  namespace: string,
  secret: string | null,
): Promise<KubeObject | undefined> {
  if (!secret) return undefined;
  const s = await api.kube.getIfExists(Core.secrets, secret, namespace);
  const data = str(obj(s?.data).vm);
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data, "base64").toString("utf8")) as KubeObject;
  } catch {
    return undefined;
  }
}

/** Deckhouse's own preview of a restore: a VirtualMachineOperation in DryRun mode. */
async function dryRunRestore(api: DeckhouseApi, vm: VmState, snapshot: string) {
  const m = manifest(Deckhouse.vmops, vm.namespace, api.operationName(vm.name, "restore-check"), {
    type: "Restore",
    virtualMachineName: vm.name,
    restore: { mode: "DryRun", virtualMachineSnapshotName: snapshot },
  });
  // One operation per VM at a time: the dry run too waits for the VM's open operations.
  await waitOperationsIdle(api, vm, { timeoutMs: PREVIEW_OPERATIONS_WAIT_MS });
  // Validated by the API server first, like every manifest (and a missing permission is
  // reported before anything is created).
  try {
    await api.ctx.guard.create(m.type, m.body, { dryRun: true });
    await api.ctx.guard.create(m.type, m.body);
  } catch (err) {
    throw explainRefusal(err) ?? err;
  }
  const op = await waitForObject(
    api.kube,
    Deckhouse.vmops,
    m.body.metadata.name,
    vm.namespace,
    (o) => o !== undefined && operationState(o).done,
    { timeoutMs: DRY_RUN_TIMEOUT_MS },
  );
  return operationState(op!);
}

export async function waitRestore(
  api: DeckhouseApi,
  namespace: string,
  action: RestoreAction,
  options: WaitOptions,
): Promise<void> {
  if (action.kind !== "create") throw new Error("a Deckhouse restore is an operation object");
  const type = action.manifest.type;
  const doneCondition = type === Deckhouse.vmRestores ? "VirtualMachineRestoreReady" : "Completed";
  const op = await waitForObject(
    api.kube,
    type,
    action.name,
    namespace,
    (o) => {
      if (!o) throw notFound(`${type.kind} ${namespace}/${action.name} disappeared`);
      return operationState(o, doneCondition).done;
    },
    {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onChange: (o) =>
        o && options.onProgress?.(`restore ${action.name}: ${operationState(o).phase}`),
    },
  );
  const st = operationState(op!, doneCondition);
  if (st.failed || st.phase === "Superseded") {
    const failedParts = st.resources
      .filter((r) => r.status === "Failed")
      .map((r) => `${r.kind} ${r.name}: ${r.message ?? "failed"}`);
    throw operationFailed(
      `restore ${action.name} ${st.phase.toLowerCase()}${st.message ? `: ${st.message}` : ""}${failedParts.length ? ` (${failedParts.join("; ")})` : ""}`,
    );
  }
}

export async function waitClone(
  api: DeckhouseApi,
  namespace: string,
  name: string,
  options: WaitOptions,
): Promise<{ phase: string; target: string }> {
  const op = await waitForObject(
    api.kube,
    Deckhouse.vmsops,
    name,
    namespace,
    (o) => {
      if (!o) throw notFound(`VirtualMachineSnapshotOperation ${namespace}/${name} disappeared`);
      return operationState(o).done;
    },
    {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onChange: (o) => o && options.onProgress?.(`clone ${name}: ${operationState(o).phase}`),
    },
  );
  const st = operationState(op!);
  const target =
    str(
      arr(obj(obj(op!.spec).createVirtualMachine).nameReplacement).find(
        (r) => obj(r.from).kind === "VirtualMachine",
      )?.to,
    ) ?? "";
  if (st.failed)
    throw operationFailed(
      `clone ${name} failed${st.message ? `: ${st.message}` : ""}${st.resources
        .filter((r) => r.status === "Failed")
        .map((r) => `; ${r.kind} ${r.name}: ${r.message ?? "failed"}`)
        .join("")}`,
    );
  // The operation completes once the objects exist, not when the disks hold their data
  // (deckhouse/virtualization v1.10, images/virtualization-artifact/pkg/controller/vmsop/internal/
  // handler/lifecycle.go): the clone is done when each new disk is provisioned.
  for (const r of st.resources.filter((x) => x.kind === "VirtualDisk")) {
    const disk = await waitForObject(
      api.kube,
      Deckhouse.disks,
      r.name,
      namespace,
      (o) => o !== undefined && ["Ready", "Failed", "WaitForFirstConsumer"].includes(diskPhase(o)),
      {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onChange: (o) => o && options.onProgress?.(`clone ${name}: disk ${r.name} ${diskPhase(o)}`),
      },
    );
    if (diskPhase(disk!) === "Failed")
      throw operationFailed(
        `clone ${name}: the VM ${target} was created, but its disk ${r.name} failed to be provisioned${conditionText(condition(disk!, "Ready")) ? `: ${conditionText(condition(disk!, "Ready"))}` : ""}`,
        `look at the disk (kubectl -n ${namespace} get virtualdisks.virtualization.deckhouse.io ${r.name} -o yaml); delete the new VM ${target} and its disks to try again`,
      );
  }
  return { phase: st.phase, target };
}
