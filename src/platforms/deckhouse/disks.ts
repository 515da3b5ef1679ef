// Deckhouse disk snapshots (VirtualDiskSnapshot) and disk restores (a new VirtualDisk from one):
// what blocks a snapshot of one disk, the manifests, and the waits.
import { advice, option, phrase, type Words } from "../../core/advice.js";
import type { Finding } from "../../core/schema.js";
import { Deckhouse, type KubeObject } from "../../kube/resources.js";
import { waitForObject } from "../../kube/watch.js";
import { arr, obj, str } from "../json.js";
import type { DiskSnapshotSupport, PreflightOptions } from "../types.js";
import type { DeckhouseApi } from "./api.js";
import { agentReady, diskPhase, manifest, vmRunning } from "./model.js";
import { snapshotClassFor, waitSnapshotOf } from "./snapshots.js";

export function diskSupport(api: DeckhouseApi): DiskSnapshotSupport {
  return {
    diskType: Deckhouse.disks,
    getDisk: (namespace, name) => api.once.get(Deckhouse.disks, namespace, name),
    diskProblems: (disk, vm, options) => diskProblems(api.ctx.words, disk, vm, options),
    snapshotManifest: async (namespace, name, disk, options) => {
      const d = await api.once.get(Deckhouse.disks, namespace, disk);
      const cls = (await api.snapshotClassFields())
        ? await snapshotClassFor(api, str(obj(d?.status).storageClassName))
        : undefined;
      return manifest(Deckhouse.diskSnapshots, namespace, name, {
        virtualDiskName: disk,
        requiredConsistency: options.consistency !== "best-effort",
        ...(cls ? { volumeSnapshotClassName: cls } : {}),
      });
    },
    restoreManifest: (namespace, name, snapshot, source, size) =>
      manifest(Deckhouse.disks, namespace, name, {
        dataSource: {
          type: "ObjectRef",
          objectRef: { kind: "VirtualDiskSnapshot", name: snapshot },
        },
        persistentVolumeClaim: {
          size,
          ...(str(obj(source?.status).storageClassName)
            ? { storageClassName: str(obj(source?.status).storageClassName) }
            : {}),
        },
      }),
    waitSnapshot: (namespace, name, options) =>
      waitSnapshotOf(
        api,
        Deckhouse.diskSnapshots,
        "VirtualDiskSnapshotReady",
        namespace,
        name,
        options,
      ),
    waitDisk: async (namespace, name, options) => {
      const d = await waitForObject(
        api.kube,
        Deckhouse.disks,
        name,
        namespace,
        (o) =>
          o !== undefined && ["Ready", "Failed", "WaitForFirstConsumer"].includes(diskPhase(o)),
        {
          timeoutMs: options.timeoutMs,
          signal: options.signal,
          onChange: (o) => o && options.onProgress?.(`disk ${name}: ${diskPhase(o)}`),
        },
      );
      return diskPhase(d);
    },
    vmOfDisk: async (namespace, disk) => {
      const d = await api.once.get(Deckhouse.disks, namespace, disk);
      const name = str(arr(obj(d?.status).attachedToVirtualMachines)[0]?.name);
      return name ? api.readVm(namespace, name) : undefined;
    },
  };
}

/** What blocks a snapshot of one disk (with the VM it is attached to, if any). */
export function diskProblems(
  words: Words,
  disk: KubeObject,
  vm: KubeObject | undefined,
  options: PreflightOptions,
): { problems: Finding[]; warnings: Finding[]; consistency: string } {
  const problems: Finding[] = [];
  const warnings: Finding[] = [];
  const phase = diskPhase(disk);
  if (phase === "Resizing")
    problems.push({
      message: `VirtualDisk ${disk.metadata.name} is being resized: Deckhouse cannot snapshot it now`,
      fix: "wait until the disk is Ready again",
    });
  else if (phase !== "Ready")
    problems.push({ message: `VirtualDisk ${disk.metadata.name} is ${phase}, not Ready` });
  const running = vm !== undefined && vmRunning(vm);
  const agent = vm !== undefined && agentReady(vm);
  const required = options.consistency !== "best-effort";
  if (running && !agent) {
    if (required)
      problems.push({
        message: `the disk is attached to VM ${vm.metadata.name}, which runs without a ready guest agent: with requiredConsistency Deckhouse fails the snapshot (PotentiallyInconsistent)`,
        fix: phrase(
          advice`start the guest agent, stop the VM, or use ${option("consistency", "best-effort")}`,
          words,
        ),
      });
    else
      warnings.push({
        message: "the VM runs without a guest agent: the snapshot is crash-consistent",
      });
  }
  return {
    problems,
    warnings,
    consistency: !running
      ? "consistent (disk detached or VM stopped)"
      : agent
        ? "application-consistent (the guest agent freezes the file systems)"
        : "crash-consistent",
  };
}
