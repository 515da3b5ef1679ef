// VM Operator snapshots as the neutral Snapshot (a tree per VM: parent, children, the current
// one), their manifests (quiesce whenever VMware Tools can), and the wait until one is ready.
import { API_VERSION } from "../../core/api-version.js";
import { notFound } from "../../core/errors.js";
import { conditionsOf, bySnapshotOrder } from "../json.js";
import type { Snapshot } from "../../core/schema.js";
import { keyOf, type KubeObject } from "../../kube/resources.js";
import { waitForObject } from "../../kube/watch.js";
import type { CreateOptions, Manifest, VmState, WaitOptions } from "../types.js";
import type { VmopApi } from "./api.js";
import {
  VM_NAME_LABEL,
  arr,
  condition,
  obj,
  powerState,
  snapshotState,
  str,
  toolsRunning,
} from "./model.js";

const DEFAULT_QUIESCE_TIMEOUT = "5m";

export function toSnapshot(s: KubeObject, all: KubeObject[], vm?: KubeObject): Snapshot {
  const st = snapshotState(s);
  const spec = obj(s.spec);
  const status = obj(s.status);
  const children = arr(status.children)
    .map((c) => str(c.name) ?? "")
    .filter(Boolean);
  const parent =
    all.find((p) => arr(obj(p.status).children).some((c) => c.name === s.metadata.name))?.metadata
      .name ?? null;
  const current = str(obj(obj(vm?.status).currentSnapshot).name) === s.metadata.name;
  const memory = spec.memory === true;
  const quiesced = status.quiesced === true;
  // Without memory or quiesce nothing froze the guest; VM Operator does not record whether the
  // VM was running, so the honest floor is crash-consistent.
  const consistency = !st.ready
    ? "unknown"
    : memory
      ? "consistent (memory included)"
      : quiesced
        ? "application-consistent"
        : "crash-consistent";
  const notes = [
    ...(memory
      ? ["includes the VM's memory: a revert resumes the running state"]
      : ["no memory: a revert leaves the VM powered off"]),
    ...(quiesced ? ["the guest file systems were quiesced by VMware Tools"] : []),
    ...(str(spec.description) ? [`description: ${String(spec.description)}`] : []),
  ];
  const diagnosis: string[] = [];
  if (st.phase === "Failed") diagnosis.push(`vSphere could not create the snapshot: ${st.error}`);
  const waiting = condition(s, "VirtualMachineSnapshotReady");
  if (st.phase === "InProgress" && str(waiting?.reason))
    diagnosis.push(
      `waiting: ${String(waiting?.reason)}${str(waiting?.message) ? ` (${String(waiting?.message)})` : ""}`,
    );
  return {
    apiVersion: API_VERSION,
    kind: "Snapshot",
    name: s.metadata.name,
    namespace: s.metadata.namespace ?? "",
    platform: "vmoperator",
    vm: str(spec.vmName) ?? "",
    phase: st.phase,
    readyToUse: st.ready,
    createdAt: s.metadata.creationTimestamp ?? null,
    creationTime: st.ready
      ? (str(condition(s, "VirtualMachineSnapshotCreated")?.lastTransitionTime) ??
        s.metadata.creationTimestamp ??
        null)
      : null,
    consistency,
    indications: [...(memory ? ["Memory"] : []), ...(quiesced ? ["Quiesced"] : [])],
    notes,
    includedVolumes: [],
    excludedVolumes: [],
    contentName: str(status.uniqueID) ?? null,
    error: st.error,
    conditions: conditionsOf(status),
    diagnosis,
    tree: { parent, children, current },
  };
}

export async function listSnapshots(
  api: VmopApi,
  scope: {
    namespace?: string;
    vm?: string;
    labelSelector?: string;
  },
): Promise<Snapshot[]> {
  const selector = [scope.labelSelector, scope.vm ? `${VM_NAME_LABEL}=${scope.vm}` : undefined]
    .filter(Boolean)
    .join(",");
  const snaps = await api.kube.list(api.t.snapshots, scope.namespace, {
    labelSelector: selector || undefined,
  });
  // The VMs (each snapshot's current mark) only when there are snapshots: a namespace without
  // VM Operator snapshots costs one request.
  const vms = snaps.items.length
    ? await api.kube.list(api.t.vms, scope.namespace)
    : { items: [] as KubeObject[] };
  const vmByKey = new Map(vms.items.map((v) => [keyOf(v), v]));
  return snaps.items
    .filter((s) => !scope.vm || str(obj(s.spec).vmName) === scope.vm)
    .map((s) =>
      toSnapshot(
        s,
        snaps.items,
        vmByKey.get(`${s.metadata.namespace}/${String(obj(s.spec).vmName)}`),
      ),
    )
    .sort(bySnapshotOrder);
}

export async function getSnapshot(
  api: VmopApi,
  namespace: string,
  name: string,
): Promise<Snapshot | undefined> {
  const s = await api.kube.getIfExists(api.t.snapshots, name, namespace);
  if (!s) return undefined;
  const vmName = str(obj(s.spec).vmName) ?? "";
  const [siblings, vm] = await Promise.all([
    api.kube.list(api.t.snapshots, namespace, { labelSelector: `${VM_NAME_LABEL}=${vmName}` }),
    api.kube.getIfExists(api.t.vms, vmName, namespace),
  ]);
  return toSnapshot(s, siblings.items, vm);
}

export function snapshotManifest(
  api: VmopApi,
  namespace: string,
  name: string,
  vm: string,
  options: CreateOptions,
  state?: VmState,
): Manifest {
  // Quiesce whenever VMware Tools can do it, as the preflight promises; the timeout defaults
  // to the low end of VM Operator's documented 5–240 minutes.
  const canQuiesce =
    state !== undefined && powerState(state.raw) === "PoweredOn" && toolsRunning(state.raw);
  const quiesceTimeout =
    options.quiesceTimeout ?? (canQuiesce ? DEFAULT_QUIESCE_TIMEOUT : undefined);
  return {
    type: api.t.snapshots,
    body: {
      apiVersion: `${api.t.snapshots.group}/${api.t.snapshots.version}`,
      kind: "VirtualMachineSnapshot",
      metadata: { name, namespace, labels: { [VM_NAME_LABEL]: vm } },
      spec: {
        vmName: vm,
        ...(options.memory ? { memory: true } : {}),
        ...(quiesceTimeout ? { quiesce: { timeout: quiesceTimeout } } : {}),
        ...(options.description ? { description: options.description } : {}),
      },
    },
  };
}

export async function waitSnapshot(
  api: VmopApi,
  namespace: string,
  name: string,
  options: WaitOptions,
): Promise<Snapshot> {
  let last = "";
  await waitForObject(
    api.kube,
    api.t.snapshots,
    name,
    namespace,
    (s) => {
      if (!s)
        throw notFound(`VirtualMachineSnapshot ${namespace}/${name} disappeared while waiting`);
      return snapshotState(s).phase !== "InProgress";
    },
    {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onChange: (s) => {
        if (!s) return;
        const text = `snapshot ${name}: ${snapshotState(s).phase}`;
        if (text !== last) options.onProgress?.(text);
        last = text;
      },
    },
  );
  const snap = await getSnapshot(api, namespace, name);
  if (!snap) throw notFound(`VirtualMachineSnapshot ${namespace}/${name} disappeared`);
  return snap;
}

export function deleteNotes(namespace: string, snapshot: Snapshot): string[] {
  const children = snapshot.tree?.children ?? [];
  const parent = snapshot.tree?.parent;
  return [
    children.length
      ? `its children (${children.join(", ")}) are kept and attached to ${parent ?? "the root"}; their data stays restorable`
      : "it has no child snapshots",
    ...(snapshot.tree?.current
      ? [`it is the VM's current snapshot: the current snapshot becomes ${parent ?? "none"}`]
      : []),
    `vSphere consolidates the snapshot's disks into the VM (namespace ${namespace})`,
  ];
}
