// What every part of the Deckhouse platform reads once per invocation: the VMs and snapshots it
// works on, which kinds the cluster serves and what their schemas allow (the API changed across
// Deckhouse versions), and names for the operation objects vmsnap creates.
import { randomBytes } from "node:crypto";
import { ErrorCode, VmsnapError } from "../../core/errors.js";
import { fitName, timestamp } from "../../core/names.js";
import { ReadOnce } from "../../kube/read-once.js";
import { Core, Csi, Deckhouse, type KubeObject } from "../../kube/resources.js";
import { obj } from "../json.js";
import type { PlatformContext } from "../types.js";
import { GROUP } from "./model.js";

export type RestoreApi = "operation" | "legacy";

export class DeckhouseApi {
  constructor(readonly ctx: PlatformContext) {}

  get kube() {
    return this.ctx.kube;
  }

  private onceReads?: ReadOnce;
  get once(): ReadOnce {
    return (this.onceReads ??= new ReadOnce(this.ctx.kube));
  }
  /** The state changed (a wait saw it): read objects again. */
  forget(): void {
    this.onceReads = undefined;
  }

  readVm(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.once.get(Deckhouse.vms, namespace, name);
  }

  readVmSnapshot(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.once.get(Deckhouse.vmSnapshots, namespace, name);
  }

  // One read of the group's resource list per invocation: which kinds are served.
  private servedResources?: Promise<Set<string>>;
  served(): Promise<Set<string>> {
    return (this.servedResources ??= this.kube
      .getPath<{ resources?: { name: string }[] }>(`/apis/${GROUP}/v1alpha2`)
      .then((l) => new Set((l.resources ?? []).map((r) => r.name))));
  }

  // What the served schemas allow, read once from the group's OpenAPI v3 document: the
  // VirtualMachineOperation types (Restore came in v1.1) and the snapshot class fields (removed in
  // v0.24). Without the document (old API server, no access) the current API is assumed.
  private schemaProbe?: Promise<{ vmopTypes?: string[]; classFields: boolean }>;
  private schema(): Promise<{ vmopTypes?: string[]; classFields: boolean }> {
    return (this.schemaProbe ??= (async () => {
      const index = await this.kube.getPath<{
        paths?: Record<string, { serverRelativeURL?: string }>;
      }>("/openapi/v3");
      const url = index.paths?.[`apis/${GROUP}/v1alpha2`]?.serverRelativeURL;
      if (!url) return { classFields: false };
      const doc = await this.kube.getPath<{ components?: { schemas?: Record<string, unknown> } }>(
        url,
      );
      const kind = (k: string) =>
        obj(Object.entries(doc.components?.schemas ?? {}).find(([n]) => n.endsWith(`.${k}`))?.[1]);
      const specOf = (k: string) => obj(obj(obj(kind(k).properties).spec).properties);
      const types = obj(specOf("VirtualMachineOperation").type).enum;
      return {
        vmopTypes: Array.isArray(types) ? types.map(String) : undefined,
        classFields: "volumeSnapshotClassName" in specOf("VirtualDiskSnapshot"),
      };
    })().catch(() => ({ classFields: false })));
  }

  /** Deckhouse before v0.24 names the VolumeSnapshotClass in snapshots. */
  snapshotClassFields(): Promise<boolean> {
    return this.schema().then((s) => s.classFields);
  }

  /** VirtualMachineOperation Restore (v1.1+), else the legacy VirtualMachineRestore (before v1.9). */
  async restoreApi(): Promise<RestoreApi> {
    const served = await this.served();
    if (served.has(Deckhouse.vmops.plural)) {
      const types = (await this.schema()).vmopTypes;
      if (!types || types.includes("Restore")) return "operation";
    }
    if (served.has(Deckhouse.vmRestores.plural)) return "legacy";
    throw new VmsnapError(
      ErrorCode.NoPlatform,
      "this Deckhouse cluster serves neither VirtualMachineOperation Restore nor VirtualMachineRestore: it cannot restore snapshots",
      "upgrade the virtualization module (VirtualMachineOperation Restore needs v1.1 or later)",
    );
  }

  // Deckhouse before v0.24 names the VolumeSnapshotClass in the snapshot (VDSnapshot
  // volumeSnapshotClassName, VMSnapshot volumeSnapshotClasses); later versions removed the fields
  // and pick the class themselves. The storage lists are read once, when needed.
  private storageReads?: Promise<{ scs: KubeObject[]; vscs: KubeObject[] }>;
  storageClasses(): Promise<{ scs: KubeObject[]; vscs: KubeObject[] }> {
    return (this.storageReads ??= Promise.all([
      this.kube.list(Core.storageClasses),
      this.kube.list(Csi.volumeSnapshotClasses),
    ]).then(([a, b]) => ({ scs: a.items, vscs: b.items })));
  }

  /** A short unique name for an operation object vmsnap creates on the user's behalf. */
  operationName(vm: string, what: string): string {
    return fitName(vm, `-${what}-${timestamp(this.ctx.now())}-${randomBytes(2).toString("hex")}`);
  }
}
