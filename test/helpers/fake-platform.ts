// A fake platform and a fake cluster for unit tests of the workflows (plans, refusals, consent):
// pure units, no API server. The workflows write through the real WriteGuard, whose client is an
// in-memory store that records every request; the platform answers from the same store, so a
// snapshot the workflow creates is one the platform then reports, ready (or failed, as set up).
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { plainWords, type Words } from "../../src/core/advice.js";
import { API_VERSION } from "../../src/core/api-version.js";
import { VmsnapError, notFound, operationFailed } from "../../src/core/errors.js";
import type { Preflight, Snapshot, VirtualMachine } from "../../src/core/schema.js";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeApiError } from "../../src/kube/client.js";
import {
  Deckhouse,
  KubeVirt,
  apiVersionOf,
  type KubeObject,
  type ResourceType,
} from "../../src/kube/resources.js";
import { WriteGuard } from "../../src/kube/write-guard.js";
import { ConcurrentRestoreError } from "../../src/platforms/errors.js";
import type {
  DiskSnapshotSupport,
  Manifest,
  PlatformContext,
  RestoreAction,
  RestorePreview,
  RunStateChange,
  SnapshotPlatform,
  VmState,
} from "../../src/platforms/types.js";
import type { ConfirmationPort } from "../../src/core/confirmation.js";
import { Session } from "../../src/workflows/session.js";

export const NS = "unit";

export interface Request {
  verb: "create" | "patch" | "delete";
  plural: string;
  name: string;
  dryRun: boolean;
  body?: unknown;
}

/** The cluster: objects by plural/namespace/name, and every write request in order. */
export class FakeKube {
  readonly objects = new Map<string, KubeObject>();
  readonly requests: Request[] = [];
  /** Makes the next real (not dry-run) write of this verb and plural fail with this error. */
  readonly failures: { verb: Request["verb"]; plural: string; error: Error }[] = [];
  readonly defaultNamespace = NS;
  readonly server = "https://fake.invalid";

  /** Open watches: each gets every later change of its resource as a watch event line. */
  private readonly streams: { plural: string; out: PassThrough }[] = [];
  /** Acts on a created object like a controller would (the platform sets it). */
  onCreate: (type: ResourceType, obj: KubeObject) => void = () => {};

  /** Delivers a change to the open watches of its resource. */
  changed(type: ResourceType, event: "ADDED" | "MODIFIED", obj: KubeObject): void {
    for (const s of this.streams)
      if (s.plural === type.plural)
        s.out.write(`${JSON.stringify({ type: event, object: obj })}\n`);
  }

  async list(type: ResourceType, namespace?: string) {
    return {
      items: this.all(type).filter((o) => !namespace || o.metadata.namespace === namespace),
      metadata: { resourceVersion: "1" },
    };
  }

  async stream(path: string, o: { signal?: AbortSignal } = {}) {
    const out = new PassThrough();
    this.streams.push({ plural: path.split("/").at(-1) ?? "", out });
    o.signal?.addEventListener("abort", () => out.end());
    return out;
  }

  private key(type: ResourceType, name: string, namespace?: string) {
    return `${type.plural}/${namespace ?? ""}/${name}`;
  }
  put(type: ResourceType, obj: KubeObject): void {
    this.objects.set(this.key(type, obj.metadata.name, obj.metadata.namespace), obj);
  }
  find(type: ResourceType, name: string, namespace = NS): KubeObject | undefined {
    return this.objects.get(this.key(type, name, namespace));
  }
  all(type: ResourceType): KubeObject[] {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${type.plural}/`))
      .map(([, v]) => v);
  }
  /** The real writes (dry runs left out), as "verb plural name". */
  writes(): string[] {
    return this.requests.filter((r) => !r.dryRun).map((r) => `${r.verb} ${r.plural} ${r.name}`);
  }
  private fail(verb: Request["verb"], plural: string, dryRun: boolean): void {
    if (dryRun) return;
    const i = this.failures.findIndex((f) => f.verb === verb && f.plural === plural);
    if (i >= 0) throw this.failures.splice(i, 1)[0]!.error;
  }

  async create<T extends KubeObject>(
    type: ResourceType,
    body: KubeObject,
    o: { dryRun?: boolean } = {},
  ): Promise<T> {
    const dryRun = Boolean(o.dryRun);
    this.requests.push({
      verb: "create",
      plural: type.plural,
      name: body.metadata.name,
      dryRun,
      body,
    });
    this.fail("create", type.plural, dryRun);
    if (this.find(type, body.metadata.name, body.metadata.namespace))
      throw new KubeApiError(
        409,
        { message: `${type.plural} "${body.metadata.name}" already exists` },
        "POST",
        type.plural,
      );
    const created = structuredClone({
      ...body,
      metadata: {
        ...body.metadata,
        uid: `uid-${body.metadata.name}`,
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
    });
    if (!dryRun) {
      this.put(type, created);
      this.changed(type, "ADDED", created);
      this.onCreate(type, created);
    }
    return created as T;
  }

  async patch<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    o: { dryRun?: boolean } = {},
  ): Promise<T> {
    const dryRun = Boolean(o.dryRun);
    this.requests.push({ verb: "patch", plural: type.plural, name, dryRun, body: patch });
    this.fail("patch", type.plural, dryRun);
    const obj = this.find(type, name, namespace);
    if (!obj) throw new KubeApiError(404, { message: `${name} not found` }, "PATCH", type.plural);
    return obj as T;
  }

  async delete(type: ResourceType, name: string, namespace: string, o: { dryRun?: boolean } = {}) {
    const dryRun = Boolean(o.dryRun);
    this.requests.push({ verb: "delete", plural: type.plural, name, dryRun });
    this.fail("delete", type.plural, dryRun);
    if (!this.find(type, name, namespace))
      throw new KubeApiError(404, { message: `${name} not found` }, "DELETE", type.plural);
    if (!dryRun) this.objects.delete(this.key(type, name, namespace));
    return {};
  }

  async getIfExists(type: ResourceType, name: string, namespace?: string) {
    return this.find(type, name, namespace);
  }
  close(): void {}
}

export interface FakeVm {
  name: string;
  running?: boolean;
  /** Preflight problems (blocks a snapshot). */
  problems?: string[];
}

export interface FakeOptions {
  vms?: FakeVm[];
  /** Snapshots present before the workflow runs: name → VM (ready unless listed in notReady/failed). */
  snapshots?: Record<string, string>;
  notReady?: string[];
  failed?: string[];
  /** Snapshots the workflow creates end Failed instead of ready. */
  snapshotsFail?: boolean;
  /** The restore wait: ok, refused because another restore holds the VM, or failed. */
  restoreOutcome?: "ok" | "concurrent" | "failed";
  /** Reasons a restore cannot work now (RestorePreview.blockers). */
  restoreBlockers?: { message: string; fix?: string }[];
  /** A restore of the VM in progress (by name). */
  restoreInProgress?: string;
  specChanges?: string[];
  /** Serve disk snapshots (Deckhouse-like): disks by name → size. */
  disks?: Record<string, string>;
}

/** A platform answering from the FakeKube store; KubeVirt's resource types (the guard allows them). */
export class FakePlatform implements SnapshotPlatform {
  readonly name = "kubevirt" as const;
  readonly snapshotType = KubeVirt.snapshots;
  readonly cloneNotes = ["fake clone note"];
  readonly disks?: DiskSnapshotSupport;

  constructor(
    readonly kube: FakeKube,
    readonly o: FakeOptions = {},
  ) {
    for (const vm of o.vms ?? [])
      kube.put(KubeVirt.vms, {
        apiVersion: apiVersionOf(KubeVirt.vms),
        kind: "VirtualMachine",
        metadata: { name: vm.name, namespace: NS, uid: `uid-${vm.name}` },
        spec: { runStrategy: vm.running ? "Always" : "Halted" },
      });
    for (const [name, vm] of Object.entries(o.snapshots ?? {}))
      kube.put(
        KubeVirt.snapshots,
        this.snapshotObject(name, vm, !o.notReady?.includes(name), o.failed?.includes(name)),
      );
    // Snapshots settle right after their creation, as a controller would make them.
    kube.onCreate = (type, obj) => {
      if (type === KubeVirt.snapshots)
        setImmediate(() => {
          this.settle(type, obj.metadata.namespace ?? NS, obj.metadata.name);
          kube.changed(type, "MODIFIED", obj);
        });
    };
    if (o.disks) {
      for (const [name, size] of Object.entries(o.disks))
        kube.put(Deckhouse.disks, {
          metadata: { name, namespace: NS },
          spec: { persistentVolumeClaim: { size } },
          status: { phase: "Ready", capacity: size },
        });
      this.disks = this.diskSupport();
    }
  }

  private vmOf(name: string): FakeVm | undefined {
    return this.o.vms?.find((v) => v.name === name);
  }

  snapshotObject(name: string, vm: string, ready: boolean, failed = false): KubeObject {
    return {
      apiVersion: apiVersionOf(KubeVirt.snapshots),
      kind: "VirtualMachineSnapshot",
      metadata: {
        name,
        namespace: NS,
        uid: `uid-${name}`,
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
      spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
      status: {
        phase: failed ? "Failed" : ready ? "Succeeded" : "InProgress",
        readyToUse: ready && !failed,
      },
    };
  }

  snapshotOf(raw: KubeObject): Snapshot {
    const st = (raw.status ?? {}) as { phase?: string; readyToUse?: boolean };
    const disk = (raw.spec as { virtualDiskName?: string } | undefined)?.virtualDiskName;
    return {
      apiVersion: API_VERSION,
      kind: "Snapshot",
      name: raw.metadata.name,
      namespace: raw.metadata.namespace ?? NS,
      platform: "kubevirt",
      vm:
        disk !== undefined ? "" : ((raw.spec as { source?: { name?: string } }).source?.name ?? ""),
      ...(disk !== undefined ? { disk } : {}),
      phase: st.phase ?? "Pending",
      readyToUse: st.readyToUse === true,
      createdAt: raw.metadata.creationTimestamp ?? null,
      creationTime: st.readyToUse ? "2026-01-01T00:00:01Z" : null,
      consistency: st.readyToUse ? "consistent (VM stopped)" : "unknown",
      indications: [],
      notes: [],
      includedVolumes: ["root"],
      excludedVolumes: [],
      contentName: null,
      error: st.phase === "Failed" ? "fake failure" : null,
      conditions: [],
      diagnosis: st.phase === "Failed" ? ["the fake storage failed"] : [],
    };
  }

  async listVms(): Promise<VirtualMachine[]> {
    return (this.o.vms ?? []).map((v) => ({
      namespace: NS,
      name: v.name,
      platform: "kubevirt",
      status: v.running ? "Running" : "Stopped",
      running: Boolean(v.running),
      guestAgent: false,
      snapshotCount: 0,
      lastSnapshot: null,
      snapshottable: !v.problems?.length,
      reasons: [],
    }));
  }

  async getVm(namespace: string, name: string): Promise<VmState> {
    const raw = this.kube.find(KubeVirt.vms, name, namespace);
    const vm = this.vmOf(name);
    if (!raw || !vm) throw notFound(`VirtualMachine ${namespace}/${name} not found`);
    return {
      namespace,
      name,
      uid: raw.metadata.uid ?? "",
      running: Boolean(vm.running),
      status: vm.running ? "Running" : "Stopped",
      runStrategy: vm.running ? "Always" : "Halted",
      raw,
    };
  }

  async preflight(namespace: string, name: string): Promise<Preflight> {
    const vm = this.vmOf(name);
    if (!vm) throw notFound(`VirtualMachine ${namespace}/${name} not found`);
    const problems = (vm.problems ?? []).map((message) => ({ message, fix: "fix it" }));
    return {
      apiVersion: API_VERSION,
      kind: "Preflight",
      namespace,
      vm: name,
      platform: "kubevirt",
      snapshottable: problems.length === 0,
      mode: vm.running ? "online" : "offline",
      expectedConsistency: vm.running ? "crash-consistent" : "consistent (VM stopped)",
      volumes: [
        {
          name: "root",
          type: "persistentVolumeClaim",
          claimName: `${name}-root`,
          storageClass: "fake",
          provisioner: "fake.csi",
          volumeSnapshotClass: "fake-snap",
          hotplug: "none",
          included: true,
          reason: null,
          requestedBytes: 1024,
        },
      ],
      problems,
      warnings: [],
      existingSnapshots: 0,
      estimatedBytes: 1024,
    };
  }

  async listSnapshots(scope: { vm?: string }): Promise<Snapshot[]> {
    return this.kube
      .all(KubeVirt.snapshots)
      .map((s) => this.snapshotOf(s))
      .filter((s) => !scope.vm || s.vm === scope.vm);
  }

  async getSnapshot(namespace: string, name: string): Promise<Snapshot | undefined> {
    const raw =
      this.kube.find(KubeVirt.snapshots, name, namespace) ??
      this.kube.find(Deckhouse.diskSnapshots, name, namespace);
    return raw ? this.snapshotOf(raw) : undefined;
  }

  async restoreInProgress(): Promise<string | undefined> {
    return this.o.restoreInProgress;
  }

  async snapshotManifest(namespace: string, name: string, vm: string): Promise<Manifest> {
    return {
      type: KubeVirt.snapshots,
      body: {
        apiVersion: apiVersionOf(KubeVirt.snapshots),
        kind: "VirtualMachineSnapshot",
        metadata: { name, namespace },
        spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
      },
    };
  }

  async restoreAction(
    namespace: string,
    name: string,
    vm: VmState,
    snapshot: string,
  ): Promise<RestoreAction> {
    return {
      kind: "create",
      name,
      manifest: {
        type: KubeVirt.restores,
        body: {
          apiVersion: apiVersionOf(KubeVirt.restores),
          kind: "VirtualMachineRestore",
          metadata: { name, namespace },
          spec: { target: { name: vm.name }, virtualMachineSnapshotName: snapshot },
        },
      },
    };
  }

  async cloneManifest(
    namespace: string,
    name: string,
    snapshot: string,
    target: string,
  ): Promise<Manifest> {
    return {
      type: KubeVirt.clones,
      body: {
        apiVersion: apiVersionOf(KubeVirt.clones),
        kind: "VirtualMachineClone",
        metadata: { name, namespace },
        spec: { source: { name: snapshot }, target: { name: target } },
      },
    };
  }

  async deleteNotes(): Promise<string[]> {
    return ["fake delete note"];
  }

  runStateChange(vm: VmState, running: boolean): RunStateChange {
    return {
      kind: "patch",
      type: KubeVirt.vms,
      patch: { spec: { runStrategy: running ? vm.runStrategy : "Halted", running: null } },
    };
  }

  snapshotTypeOf(s: Snapshot): ResourceType {
    return s.disk !== undefined ? Deckhouse.diskSnapshots : KubeVirt.snapshots;
  }

  async restorePreview(): Promise<RestorePreview> {
    return {
      snapshotAgeSeconds: 60,
      notes: [],
      blockers: this.o.restoreBlockers ?? [],
      specChanges: this.o.specChanges ?? [],
      volumesNotInSnapshot: [],
    };
  }

  /** A snapshot created through the fake cluster settles at once: ready, or failed as set up. */
  private settle(type: ResourceType, namespace: string, name: string): Snapshot {
    const raw = this.kube.find(type, name, namespace);
    if (!raw) throw notFound(`${type.kind} ${namespace}/${name} disappeared`);
    if (!raw.status || (raw.status as { phase?: string }).phase !== "Succeeded")
      raw.status = this.o.snapshotsFail
        ? { phase: "Failed", readyToUse: false }
        : { phase: "Succeeded", readyToUse: true };
    return this.snapshotOf(raw);
  }

  async waitSnapshot(namespace: string, name: string): Promise<Snapshot> {
    return this.settle(KubeVirt.snapshots, namespace, name);
  }

  async waitRestore(_namespace: string, action: RestoreAction): Promise<void> {
    if (this.o.restoreOutcome === "concurrent")
      throw new ConcurrentRestoreError(
        `another restore of the VM is in progress: ${action.name} refused`,
      );
    if (this.o.restoreOutcome === "failed") throw operationFailed(`restore ${action.name} failed`);
  }

  async waitClone(_namespace: string, name: string): Promise<{ phase: string; target: string }> {
    return { phase: "Succeeded", target: name };
  }
  async waitVmStopped(): Promise<void> {}
  async waitSnapshotGone(): Promise<void> {}
  snapshotDeadlineMs(): number | undefined {
    return undefined;
  }
  failedByDeadline(): boolean {
    return false;
  }
  manualStart(vm: VmState): string {
    return `the fake start of ${vm.name}`;
  }
  explainRefusal(): undefined {
    return undefined;
  }

  private diskSupport(): DiskSnapshotSupport {
    const manifest = (
      type: ResourceType,
      namespace: string,
      name: string,
      spec: object,
    ): Manifest => ({
      type,
      body: {
        apiVersion: apiVersionOf(type),
        kind: type.kind,
        metadata: { name, namespace },
        spec: spec as Record<string, unknown>,
      },
    });
    return {
      diskType: Deckhouse.disks,
      getDisk: async (namespace, name) => this.kube.find(Deckhouse.disks, name, namespace),
      vmOfDisk: async () => undefined,
      diskProblems: () => ({
        problems: [],
        warnings: [],
        consistency: "consistent (disk detached or VM stopped)",
      }),
      snapshotManifest: async (namespace, name, disk) =>
        manifest(Deckhouse.diskSnapshots, namespace, name, {
          virtualDiskName: disk,
          requiredConsistency: true,
        }),
      restoreManifest: (namespace, name, snapshot, _source, size) =>
        manifest(Deckhouse.disks, namespace, name, {
          dataSource: {
            type: "ObjectRef",
            objectRef: { kind: "VirtualDiskSnapshot", name: snapshot },
          },
          persistentVolumeClaim: { size },
        }),
      waitSnapshot: async (namespace, name) => {
        const raw = this.kube.find(Deckhouse.diskSnapshots, name, namespace)!;
        raw.status = { phase: "Succeeded", readyToUse: true };
        return this.snapshotOf(raw);
      },
      waitDisk: async () => "Ready",
    };
  }
}

/** A session over the fake cluster and platform. */
export function fakeSession(
  options: FakeOptions = {},
  more: { words?: Words; confirmation?: ConfirmationPort; now?: () => Date } = {},
): { session: Session; kube: FakeKube; platform: FakePlatform } {
  const kube = new FakeKube();
  const platform = new FakePlatform(kube, options);
  const client = kube as unknown as KubeClient;
  const ctx: PlatformContext = {
    kube: client,
    guard: new WriteGuard(client),
    discovery: { groups: new Map(), platforms: ["kubevirt"] },
    now: more.now ?? (() => new Date("2026-11-24T02:00:34Z")),
    words: more.words ?? plainWords,
  };
  const session = Session.assemble({
    client,
    ctx,
    platforms: [platform],
    namespace: NS,
    confirmation: more.confirmation,
  });
  return { session, kube, platform };
}

/** A disk snapshot object in the fake cluster (Deckhouse-like). */
export function putDiskSnapshot(kube: FakeKube, name: string, disk: string): void {
  kube.put(Deckhouse.diskSnapshots, {
    apiVersion: apiVersionOf(Deckhouse.diskSnapshots),
    kind: "VirtualDiskSnapshot",
    metadata: { name, namespace: NS, creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { virtualDiskName: disk },
    status: { phase: "Succeeded", readyToUse: true },
  });
}

/** The VmsnapError a promise rejects with (fails the test when it resolves). */
export async function errorOf(p: Promise<unknown>): Promise<VmsnapError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof VmsnapError, String(e));
    return e;
  }
  assert.fail("expected an error");
}
