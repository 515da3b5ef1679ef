// The documented, stable output objects (apiVersion vmsnap.io/v1), as zod schemas: the CLI's
// -o json/yaml, the MCP tools' structuredContent and the library's return values share them.
import { z } from "zod";

import { API_VERSION } from "./api-version.js";
import { PLATFORM_NAMES } from "./platform-names.js";

export { API_VERSION };
export const Platform = z.enum(PLATFORM_NAMES);
export type Platform = z.infer<typeof Platform>;

const apiVersion = z.literal(API_VERSION);

export const Condition = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
});

export const VirtualMachine = z.object({
  namespace: z.string(),
  name: z.string(),
  platform: Platform,
  status: z.string().describe("platform status, e.g. Running, Stopped, Paused"),
  running: z.boolean(),
  guestAgent: z.boolean(),
  snapshotCount: z.number().int(),
  lastSnapshot: z.object({ name: z.string(), creationTime: z.string().nullable() }).nullable(),
  snapshottable: z.boolean().nullable().describe("null when the platform has not reported it yet"),
  reasons: z.array(z.string()).describe("why volumes are not snapshottable"),
});
export type VirtualMachine = z.infer<typeof VirtualMachine>;

export const VirtualMachineList = z.object({
  apiVersion,
  kind: z.literal("VirtualMachineList"),
  items: z.array(VirtualMachine),
  warnings: z
    .array(z.string())
    .optional()
    .describe("platforms that could not be read (no permission): what they hold is missing here"),
});
export type VirtualMachineList = z.infer<typeof VirtualMachineList>;

export const Snapshot = z.object({
  apiVersion,
  kind: z.literal("Snapshot"),
  name: z.string(),
  namespace: z.string(),
  platform: Platform,
  vm: z.string(),
  disk: z
    .string()
    .optional()
    .describe("set for a snapshot of one disk (Deckhouse VirtualDiskSnapshot): the disk's name"),
  phase: z.string().describe("platform phase, e.g. InProgress, Succeeded, Failed"),
  readyToUse: z.boolean(),
  createdAt: z.string().nullable().describe("when the object was created"),
  creationTime: z.string().nullable().describe("when the data was cut"),
  consistency: z.string(),
  indications: z.array(z.string()),
  notes: z.array(z.string()),
  includedVolumes: z.array(z.string()),
  excludedVolumes: z.array(z.string()),
  contentName: z.string().nullable(),
  error: z.string().nullable(),
  conditions: z.array(Condition),
  diagnosis: z.array(z.string()).describe("causes of a failure or of a stall, with fixes"),
  tree: z
    .object({
      parent: z.string().nullable(),
      children: z.array(z.string()),
      current: z.boolean().describe("the VM runs on top of this snapshot"),
    })
    .optional()
    .describe("where the platform keeps snapshots as a tree (VM Operator)"),
});
export type Snapshot = z.infer<typeof Snapshot>;

export const SnapshotList = z.object({
  apiVersion,
  kind: z.literal("SnapshotList"),
  items: z.array(Snapshot),
  warnings: z
    .array(z.string())
    .optional()
    .describe("platforms that could not be read (no permission): what they hold is missing here"),
});
export type SnapshotList = z.infer<typeof SnapshotList>;

/** One VM's outcome in a bulk create (`create -l SELECTOR`). */
export const SnapshotBatchItem = z.object({
  namespace: z.string(),
  vm: z.string(),
  platform: Platform,
  snapshot: z.string().describe("the snapshot's name (planned name when not created)"),
  result: z
    .enum(["Ready", "Created", "DryRun", "Failed", "Skipped"])
    .describe(
      "Ready: snapshot ready; Created: created, not waited for; Skipped: blocked before any write (preflight, name, dry run); Failed: the snapshot failed or timed out",
    ),
  phase: z.string().nullable(),
  consistency: z.string(),
  message: z.string().nullable().describe("why a VM failed or was skipped, with the fix"),
});
export type SnapshotBatchItem = z.infer<typeof SnapshotBatchItem>;

export const SnapshotBatch = z.object({
  apiVersion,
  kind: z.literal("SnapshotBatch"),
  selector: z.string(),
  namespace: z.string().nullable().describe("null with allNamespaces"),
  summary: z.object({
    total: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    skipped: z.number().int(),
  }),
  items: z.array(SnapshotBatchItem),
});
export type SnapshotBatch = z.infer<typeof SnapshotBatch>;

export const Finding = z.object({ message: z.string(), fix: z.string().optional() });
export type Finding = z.infer<typeof Finding>;

export const PreflightVolume = z.object({
  name: z.string(),
  type: z
    .string()
    .describe("persistentVolumeClaim, dataVolume, containerDisk, cloudInitNoCloud, …"),
  claimName: z.string().nullable(),
  storageClass: z.string().nullable(),
  provisioner: z.string().nullable(),
  volumeSnapshotClass: z.string().nullable(),
  hotplug: z.enum(["none", "persisted", "vmi-only"]),
  included: z.boolean(),
  reason: z.string().nullable().describe("why it is excluded"),
  requestedBytes: z.number().nullable(),
});
export type PreflightVolume = z.infer<typeof PreflightVolume>;

export const Preflight = z.object({
  apiVersion,
  kind: z.literal("Preflight"),
  namespace: z.string(),
  vm: z.string(),
  platform: Platform,
  snapshottable: z.boolean(),
  mode: z.enum(["online", "offline"]),
  expectedConsistency: z.string(),
  volumes: z.array(PreflightVolume),
  problems: z.array(Finding).describe("what blocks a snapshot, each with its fix"),
  warnings: z.array(Finding),
  existingSnapshots: z.number().int(),
  estimatedBytes: z.number(),
});
export type Preflight = z.infer<typeof Preflight>;

export const Restore = z.object({
  apiVersion,
  kind: z.literal("Restore"),
  namespace: z.string(),
  vm: z.string(),
  snapshot: z.string(),
  phase: z.enum(["DryRun", "Succeeded"]),
  safetySnapshot: z
    .string()
    .nullable()
    .describe("the snapshot taken of the state before the restore"),
  stoppedVm: z.boolean(),
  restartedVm: z.boolean(),
  notRestarted: z
    .string()
    .optional()
    .describe("why vmsnap did not start again the VM it stopped, and how to start it"),
  restoreName: z.string(),
  snapshotAgeSeconds: z.number().nullable(),
  specChanges: z.array(z.string()).describe("VM configuration that the restore changes back"),
  volumesNotInSnapshot: z.array(z.string()),
  claimsReplaced: z
    .array(z.object({ volume: z.string(), before: z.string(), after: z.string() }))
    .optional()
    .describe(
      "after a restore: the volumes that now use a new claim (KubeVirt restores into new claims; the old ones are left as they were)",
    ),
  durationMs: z.number().nullable(),
});
export type Restore = z.infer<typeof Restore>;

export const Clone = z.object({
  apiVersion,
  kind: z.literal("Clone"),
  namespace: z.string(),
  snapshot: z.string(),
  target: z.string(),
  targetKind: z
    .enum(["VirtualMachine", "VirtualDisk"])
    .optional()
    .describe("VirtualDisk for a disk restored from a disk snapshot (Deckhouse)"),
  phase: z.string(),
  cloneName: z.string(),
  durationMs: z.number().nullable(),
});
export type Clone = z.infer<typeof Clone>;

export const Deletion = z.object({
  apiVersion,
  kind: z.literal("Deletion"),
  namespace: z.string(),
  snapshot: z.string(),
  vm: z.string(),
  phase: z.enum(["DryRun", "Deleted"]),
  wasOnlySnapshot: z.boolean(),
});
export type Deletion = z.infer<typeof Deletion>;

/** `vmsnap delete A B C`: the snapshots deleted (or, in a dry run, to be), and the names that were not. */
export const DeletionList = z.object({
  apiVersion,
  kind: z.literal("DeletionList"),
  namespace: z.string(),
  phase: z.enum(["DryRun", "Done"]),
  items: z.array(Deletion).describe("in the order given; phase Deleted (or DryRun)"),
  notFound: z.array(z.string()).describe("names given that no snapshot has: nothing deleted"),
  failed: z
    .array(z.object({ snapshot: z.string(), code: z.string(), message: z.string() }))
    .describe("snapshots whose delete (or the wait until gone) failed"),
});
export type DeletionList = z.infer<typeof DeletionList>;

/** A SnapshotPolicy (vmsnap.io/v1alpha1) as vmsnap reports it. */
export const Policy = z.object({
  apiVersion,
  kind: z.literal("Policy"),
  namespace: z.string(),
  name: z.string(),
  state: z
    .string()
    .describe(
      "Ready, Suspended, Invalid, Waiting (no status from the controller yet); DryRun, Created, Deleted for a write",
    ),
  selector: z.string().describe("label selector of the VMs"),
  schedule: z.string(),
  timeZone: z.string(),
  suspend: z.boolean(),
  retention: z.string().describe('the retention rules in words, e.g. "keep-last 7, daily 7"'),
  createdAt: z.string().nullable(),
  lastScheduleTime: z.string().nullable(),
  lastSuccessfulTime: z.string().nullable(),
  nextScheduleTime: z.string().nullable(),
  snapshotsKept: z.number().int().nullable(),
  vms: z.array(
    z.object({
      name: z.string(),
      platform: z.string().nullable(),
      lastSnapshot: z.string().nullable(),
      result: z.string(),
      message: z.string().nullable(),
    }),
  ),
  conditions: z.array(Condition),
  notes: z.array(z.string()).describe("facts of a write: VMs selected now, the next runs"),
});
export type Policy = z.infer<typeof Policy>;

export const PolicyList = z.object({
  apiVersion,
  kind: z.literal("PolicyList"),
  items: z.array(Policy),
});
export type PolicyList = z.infer<typeof PolicyList>;

export const PruneItem = z.object({
  namespace: z.string(),
  vm: z.string(),
  platform: Platform,
  snapshot: z.string(),
  action: z.enum(["keep", "delete"]),
  reason: z.string().describe("why retention keeps or deletes it"),
  result: z
    .enum(["Kept", "Planned", "Deleted", "Gone", "Failed"])
    .describe("Planned: would be deleted (dry run); Gone: deleted meanwhile by someone else"),
  message: z.string().nullable(),
});
export type PruneItem = z.infer<typeof PruneItem>;

export const Prune = z.object({
  apiVersion,
  kind: z.literal("Prune"),
  phase: z.enum(["DryRun", "Done"]),
  keepLast: z.number().int(),
  olderThan: z.string().nullable(),
  summary: z.object({
    kept: z.number().int(),
    deleted: z.number().int(),
    failed: z.number().int(),
  }),
  items: z.array(PruneItem),
});
export type Prune = z.infer<typeof Prune>;

/** `vmsnap guard VM -- COMMAND`: the snapshot, the change's outcome, and the restore if made. */
export const Guard = z.object({
  apiVersion,
  kind: z.literal("Guard"),
  namespace: z.string(),
  vm: z.string(),
  snapshot: z.string().describe("taken (and ready) before the change ran"),
  change: z.string(),
  succeeded: z.boolean(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  restore: Restore.nullable().describe("the restore, when the change failed and it was confirmed"),
  restoreNote: z.string().nullable().describe("why nothing was restored, and how to"),
});
export type Guard = z.infer<typeof Guard>;

export const ErrorObject = z.object({
  apiVersion,
  kind: z.literal("Error"),
  code: z.string(),
  exitCode: z.number().int(),
  message: z.string(),
  hint: z.string().optional(),
});
export type ErrorObject = z.infer<typeof ErrorObject>;
