// The one interface every platform implements. Platforms read, build fixed manifests, wait, and
// own their failures (typed errors: ./errors.ts); the safety rules (names, refusals, dry runs,
// confirmation, safety snapshots) live in workflows/.
import type { Words } from "../core/advice.js";
import type { VmsnapError } from "../core/errors.js";
import type { Finding, Preflight, Snapshot, VirtualMachine } from "../core/schema.js";
import type { KubeReader } from "../kube/client.js";
import type { Discovery, PlatformName } from "../kube/discovery.js";
import type { KubeObject, ResourceType } from "../kube/resources.js";
import type { WriteGuard } from "../kube/write-guard.js";

export interface PlatformContext {
  kube: KubeReader;
  guard: WriteGuard;
  discovery: Discovery;
  now: () => Date;
  /** The words of the face that shows what platforms write (findings, diagnoses). */
  words: Words;
}

/** A manifest ready to be sent through the write guard. */
export interface Manifest {
  type: ResourceType;
  body: KubeObject;
}

export interface VmState {
  namespace: string;
  name: string;
  uid: string;
  running: boolean;
  status: string;
  /** The run setting to put back after a stop chosen by the user. */
  runStrategy: string;
  /** The platform's VM object as read. */
  raw: KubeObject;
  /**
   * The platform's restore stops and starts the VM itself, and a stop or start by vmsnap does not
   * apply to it (Deckhouse runPolicy AlwaysOn): a restore sends neither.
   */
  restoreCyclesPower?: boolean;
}

export interface CreateOptions {
  /** Snapshot failure deadline (KubeVirt failureDeadline). */
  deadlineMs?: number;
  memory?: boolean;
  quiesceTimeout?: string;
  description?: string;
  consistency?: "required" | "best-effort";
  keepIp?: "always" | "never";
}

export interface RestorePreview {
  /** Seconds between the data cut and now. */
  snapshotAgeSeconds: number | null;
  /** Platform facts the human must weigh (e.g. "the VM comes back powered off"). */
  notes: string[];
  /** Reasons the restore cannot work now; the workflow refuses before writing anything. */
  blockers: { message: string; fix?: string }[];
  /** VM configuration lines that the restore changes back (current → snapshot). */
  specChanges: string[];
  /** Volumes the VM has now whose data the snapshot does not contain. */
  volumesNotInSnapshot: string[];
}

export type RestoreAction =
  | { kind: "create"; name: string; manifest: Manifest }
  | {
      kind: "patch";
      name: string;
      type: ResourceType;
      vm: string;
      patch: unknown;
      snapshot: string;
    };

/** Stopping or starting a VM: a change to the VM (KubeVirt, VM Operator) or an operation object (Deckhouse). */
export type RunStateChange =
  { kind: "patch"; type: ResourceType; patch: unknown } | { kind: "create"; manifest: Manifest };

/** What is left of a restore request vmsnap withdrew. */
export type WithdrawOutcome =
  | { state: "withdrawn" }
  | { state: "not-requested" }
  | { state: "still-requested"; why: string; clear: string };

/** What the preflight may weigh besides the VM itself (the choices of the create to come). */
export interface PreflightOptions {
  consistency?: CreateOptions["consistency"];
  /** The user chose to stop a running VM for the snapshot. */
  stop?: boolean;
}

export type ProgressFn = (message: string) => void;

export interface WaitOptions {
  timeoutMs: number;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface SnapshotPlatform {
  readonly name: PlatformName;
  /** The resource type of this platform's VM snapshots (for the write guard and waits). */
  readonly snapshotType: ResourceType;

  listVms(scope: { namespace?: string; labelSelector?: string }): Promise<VirtualMachine[]>;
  /** Throws NotFound when the VM does not exist. */
  /** `fresh`: read it again from the API server (the state changed since this invocation read it). */
  getVm(namespace: string, name: string, read?: { fresh?: boolean }): Promise<VmState>;
  preflight(namespace: string, vm: string, options?: PreflightOptions): Promise<Preflight>;
  /**
   * Bulk preflight of every VM matching a selector with a constant number of requests (lists per
   * scope, not reads per VM). Platforms without it are analysed VM by VM.
   */
  preflightAll?(scope: {
    namespace?: string;
    labelSelector: string;
  }): Promise<{ vm: VmState; preflight: Preflight }[]>;

  listSnapshots(scope: {
    namespace?: string;
    vm?: string;
    labelSelector?: string;
  }): Promise<Snapshot[]>;
  /** With diagnosis of failures (reads the snapshot's content and volume snapshots). */
  getSnapshot(namespace: string, name: string): Promise<Snapshot | undefined>;
  /**
   * The claims (or disks) the VM's volumes use, volume by volume: compared before and after a
   * restore, they tell the user which volumes now use a new claim.
   */
  volumeClaims?(vm: VmState): { volume: string; claim: string }[];
  /** The name of a restore of this VM that is in progress, if any. */
  restoreInProgress(vm: VmState): Promise<string | undefined>;
  /**
   * A restore object of this VM that keeps the platform from accepting another one: unfinished,
   * or failed (KubeVirt refuses a new restore while any of the VM's is not complete), or else
   * the VM's own restore lock. A platform with it is not asked restoreInProgress before a restore.
   */
  unfinishedRestore?(vm: VmState): Promise<UnfinishedRestore | undefined>;
  /**
   * Why putting the VM's run setting back after a stop vmsnap made does not start it (KubeVirt
   * runStrategy Manual), or undefined when it does.
   */
  startNotByRunSetting?(vm: VmState): string | undefined;
  /**
   * Waits until no snapshot or restore holds the VM's run state (KubeVirt releases a snapshot's
   * lock one reconcile after the snapshot is ready, and its admission refuses a start until then).
   */
  waitVmUnlocked?(vm: VmState, options: WaitOptions): Promise<void>;

  /** `state` is the VM as read for this operation (platform defaults may depend on it). */
  snapshotManifest(
    namespace: string,
    name: string,
    vm: string,
    options: CreateOptions,
    state?: VmState,
  ): Promise<Manifest>;
  /** A restore is a new object (KubeVirt VirtualMachineRestore) or a change to the VM (VM Operator revert). */
  restoreAction(
    namespace: string,
    name: string,
    vm: VmState,
    snapshot: string,
  ): Promise<RestoreAction>;
  /** What a clone from a snapshot does besides copying (shown in the clone preview). */
  readonly cloneNotes: string[];
  /** Rejects (before any write) where the platform cannot clone from a snapshot. */
  cloneManifest(
    namespace: string,
    name: string,
    snapshot: string,
    target: string,
  ): Promise<Manifest>;
  /** Facts to show before deleting a snapshot (e.g. what happens to its children). */
  deleteNotes(namespace: string, snapshot: Snapshot): Promise<string[]>;
  /** The run-state change that stops (running=false) or restarts a VM. */
  runStateChange(vm: VmState, running: boolean): RunStateChange;
  /** The resource type of this snapshot (Deckhouse has VM and disk snapshots). */
  snapshotTypeOf(snapshot: Snapshot): ResourceType;

  restorePreview(vm: VmState, snapshot: Snapshot): Promise<RestorePreview>;

  /** Resolves with the snapshot once ready or failed; DeadlineExceededError at the deadline. */
  waitSnapshot(namespace: string, name: string, options: WaitOptions): Promise<Snapshot>;
  /**
   * Resolves once the restore is complete. Rejects with ConcurrentRestoreError when another
   * restore of the VM holds it, with an OperationFailed error when the restore failed.
   */
  waitRestore(namespace: string, action: RestoreAction, options: WaitOptions): Promise<void>;
  /** Rejects with an OperationFailed error when the clone failed. */
  waitClone(
    namespace: string,
    name: string,
    options: WaitOptions,
  ): Promise<{ phase: string; target: string }>;
  waitVmStopped(vm: VmState, options: WaitOptions): Promise<void>;
  waitSnapshotGone(namespace: string, name: string, options: WaitOptions): Promise<void>;
  /** A snapshot object as read (no further reads: no diagnosis of content or volumes). */
  snapshotOf(raw: KubeObject): Snapshot;
  /** Seconds of the snapshot's own failure deadline, when it has one. */
  snapshotDeadlineMs(snapshot: KubeObject): number | undefined;
  /** The snapshot failed because it ran past its own deadline. */
  failedByDeadline(snapshot: Snapshot): boolean;
  /**
   * Resolves once no operation of the VM is unfinished (Deckhouse runs one operation per VM at a
   * time and refuses the next one meanwhile); absent where a platform has no such operations.
   */
  waitOperationsIdle?(vm: VmState, options: WaitOptions): Promise<void>;
  /**
   * Takes back a restore vmsnap requested and then gave up on (timeout, interrupt, failure), where
   * the platform would otherwise keep trying it (VM Operator retries a revert while
   * spec.currentSnapshotName names it). Resolves with what remains requested, if anything.
   */
  withdrawRestore?(vm: VmState, action: RestoreAction): Promise<WithdrawOutcome>;
  /** The command that takes such a restore request back by hand (with withdrawRestore). */
  withdrawCommand?(vm: VmState): string;
  /** How a user starts the VM by hand, when vmsnap could not put it back. */
  manualStart(vm: VmState): string;
  /**
   * A write refused by the platform itself (an admission webhook), as the platform's typed error
   * (e.g. ConcurrentRestoreError); undefined when the error is not one of the platform's own.
   */
  explainRefusal(err: unknown): VmsnapError | undefined;
  /** Snapshots of single disks (Deckhouse VirtualDiskSnapshot); absent where the platform has none. */
  readonly disks?: DiskSnapshotSupport;
}

export interface DiskSnapshotSupport {
  /** The resource type of disks (for the advice to look at one). */
  readonly diskType: ResourceType;
  getDisk(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** The VM the disk is attached to, if any. */
  vmOfDisk(namespace: string, disk: string): Promise<KubeObject | undefined>;
  diskProblems(
    disk: KubeObject,
    vm: KubeObject | undefined,
    options: PreflightOptions,
  ): { problems: Finding[]; warnings: Finding[]; consistency: string };
  snapshotManifest(
    namespace: string,
    name: string,
    disk: string,
    options: Pick<CreateOptions, "consistency">,
  ): Promise<Manifest>;
  /** A new disk with the snapshot's data; `source` is the snapshotted disk when it still exists. */
  restoreManifest(
    namespace: string,
    name: string,
    snapshot: string,
    source: KubeObject | undefined,
    size: string,
  ): Manifest;
  waitSnapshot(namespace: string, name: string, options: WaitOptions): Promise<Snapshot>;
  /** Resolves with the disk's phase once it is Ready, Failed or waits for its first consumer. */
  waitDisk(namespace: string, name: string, options: WaitOptions): Promise<string>;
}

export type PlatformFactory = (ctx: PlatformContext) => SnapshotPlatform;

/** A restore object that blocks the next restore of its VM. */
export interface UnfinishedRestore {
  name: string;
  /** True when it failed (it stays until deleted); false while it is in progress. */
  failed: boolean;
  /** Its last reason, as the platform reports it. */
  reason?: string;
  /** The kubectl resource name of the object (for the commands in the advice). */
  resource: string;
}
