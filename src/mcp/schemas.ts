// Input and output schemas of the MCP tools (SPEC §7), in one module. Inputs are strict: an
// argument the schema does not name is refused before anything runs.
import { z } from "zod";
import { NAME_MAX_LENGTH, NAME_PATTERN } from "../core/names.js";
import * as S from "../core/schema.js";

const name = (what: string) =>
  z
    .string()
    .regex(NAME_PATTERN)
    .max(NAME_MAX_LENGTH)
    .describe(`${what} (lowercase DNS label: ${NAME_PATTERN.source}, ≤ ${NAME_MAX_LENGTH})`);

/** Token mode: the token the first call returned. */
const ConfirmationToken = z
  .string()
  .max(200)
  .optional()
  .describe("token mode: the token returned by the first call");
/** Token mode: what the human typed to confirm (`what`: the snapshot name, the policy name, …). */
const typedName = (what: string) =>
  z.string().max(253).optional().describe(`token mode: ${what}, typed by the human`);

export const Namespace = name("namespace; default: the kubeconfig context's namespace").optional();

export const Inputs = {
  vmList: z.strictObject({
    namespace: Namespace,
    allNamespaces: z.boolean().optional(),
    vm: name("only this VM").optional(),
    labelSelector: z.string().max(256).optional(),
  }),
  check: z.strictObject({ namespace: Namespace, vm: name("VM to analyse") }),
  snapshotList: z.strictObject({
    namespace: Namespace,
    allNamespaces: z.boolean().optional(),
    vm: name("only this VM's snapshots").optional(),
  }),
  snapshotGet: z.strictObject({ namespace: Namespace, snapshot: name("snapshot") }),
  create: z.strictObject({
    namespace: Namespace,
    vm: name("VM to snapshot; or give selector (many VMs) or disk (Deckhouse) instead").optional(),
    disk: name(
      "Deckhouse: snapshot this one disk instead of a VM (VirtualDiskSnapshot)",
    ).optional(),
    selector: z
      .string()
      .max(256)
      .optional()
      .describe(
        "snapshot every VM matching this label selector (instead of vm): one confirmation for all, per-VM results",
      ),
    allNamespaces: z.boolean().optional().describe("with selector: match VMs in every namespace"),
    name: name("snapshot name; default <vm>-snapshot-<YYYYMMDD-HHMMSS>").optional(),
    stopVm: z
      .boolean()
      .optional()
      .describe("stop a running VM for an offline snapshot (started again afterwards)"),
    deadlineSeconds: z
      .number()
      .int()
      .min(10)
      .max(3600)
      .optional()
      .describe("fail if not ready within this time"),
    dryRun: z
      .boolean()
      .optional()
      .describe("validate with the API server and return the plan; change nothing"),
    wait: z.boolean().optional().describe("wait until ready (default true)"),
    memory: z.boolean().optional().describe("VM Operator: include the VM's memory"),
    quiesceTimeout: z
      .string()
      .regex(/^(\d+(h|m|s))+$/)
      .optional()
      .describe("VM Operator: guest quiesce timeout, e.g. 10m"),
    description: z.string().max(512).optional().describe("VM Operator: snapshot description"),
    consistency: z
      .enum(["required", "best-effort"])
      .optional()
      .describe(
        "Deckhouse requiredConsistency: required (default) fails rather than take a crash-consistent snapshot of a running VM without guest agent",
      ),
    keepIp: z
      .enum(["always", "never"])
      .optional()
      .describe("Deckhouse keepIPAddress (default always)"),
    confirmationToken: ConfirmationToken,
  }),
  clone: z.strictObject({
    namespace: Namespace,
    snapshot: name("snapshot to clone from"),
    target: name("name of the new VM (of the new disk, for a Deckhouse disk snapshot)"),
    size: z
      .string()
      .regex(/^[0-9]+(\.[0-9]+)?([KMGTPE]i?)?$/)
      .max(32)
      .optional()
      .describe("disk snapshots only: size of the new disk (default: the original's)"),
    dryRun: z.boolean().optional(),
    confirmationToken: ConfirmationToken,
  }),
  restore: z.strictObject({
    namespace: Namespace,
    vm: name("VM to restore in place"),
    snapshot: name("snapshot of that VM"),
    safetySnapshot: z
      .boolean()
      .optional()
      .describe("snapshot the current state first (default true)"),
    dryRun: z.boolean().optional().describe("return what would be lost; change nothing"),
    confirmationToken: ConfirmationToken,
    confirmSnapshotName: typedName("the snapshot name"),
    stopVm: z.boolean().optional().describe("token mode: the human chose to stop the running VM"),
  }),
  delete: z.strictObject({
    namespace: Namespace,
    snapshot: name("snapshot to delete"),
    dryRun: z.boolean().optional(),
    confirmationToken: ConfirmationToken,
    confirmSnapshotName: typedName("the snapshot name"),
  }),
};

const count = (what: string) => z.number().int().min(0).max(10_000).optional().describe(what);
const age = (what: string) =>
  z
    .string()
    .regex(/^(\d+[wdhms])+$/)
    .max(32)
    .optional()
    .describe(`${what} (e.g. 90d, 2w, 36h)`);

export const PolicyInputs = {
  list: z.strictObject({ namespace: Namespace, allNamespaces: z.boolean().optional() }),
  create: z.strictObject({
    namespace: Namespace,
    name: name("policy name"),
    selector: z.string().min(1).max(256).describe("label selector of the VMs it snapshots"),
    schedule: z.string().min(1).max(100).describe("5-field cron expression, or @daily etc."),
    timeZone: z.string().max(64).optional().describe("IANA time zone (default UTC)"),
    keepLast: count("keep the newest N snapshots per VM"),
    hourly: count("keep one snapshot for each of the last N hours"),
    daily: count("keep one snapshot for each of the last N days"),
    weekly: count("keep one snapshot for each of the last N weeks"),
    monthly: count("keep one snapshot for each of the last N months"),
    maxAge: age("delete the policy's snapshots older than this"),
    keepFailed: count("failed snapshots kept per VM for diagnosis (default 1)"),
    expireSafetySnapshots: age("also delete the VMs' restore safety snapshots older than this"),
    startingDeadlineSeconds: count("skip a run started later than this after its time"),
    suspend: z.boolean().optional().describe("create it suspended"),
    consistency: z.enum(["required", "best-effort"]).optional().describe("Deckhouse"),
    memory: z.boolean().optional().describe("VM Operator: include memory"),
    dryRun: z.boolean().optional().describe("validate and return the plan; change nothing"),
    confirmationToken: ConfirmationToken,
  }),
  delete: z.strictObject({
    namespace: Namespace,
    name: name("policy to delete (the snapshots it made are kept)"),
    dryRun: z.boolean().optional(),
    confirmationToken: ConfirmationToken,
    confirmSnapshotName: typedName("the policy name"),
  }),
};

export const PruneInputs = z.strictObject({
  namespace: Namespace,
  vm: name("the VM whose old snapshots to delete").optional(),
  selector: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe("or: every VM of the namespace matching this label selector"),
  keepLast: z.number().int().min(1).max(10_000).describe("keep the newest N snapshots of each VM"),
  olderThan: age("delete only snapshots older than this"),
  dryRun: z.boolean().optional().describe("return what would be deleted and why; change nothing"),
  confirmationToken: ConfirmationToken,
  confirmSnapshotName: typedName("the number of snapshots the preview deletes"),
});

/** What a token-mode first call returns instead of acting. */
export const ConfirmationChallenge = z.object({
  token: z.string(),
  expiresAt: z.string(),
  title: z.string(),
  preview: z.string().describe("the exact manifests and what the operation changes or loses"),
  requires: z.array(z.string()).describe("what the second call must carry"),
});

const writeOutput = <T extends z.ZodTypeAny>(key: string, obj: T) =>
  z.object({
    status: z.enum(["Done", "DryRun", "ConfirmationRequired", "Error"]),
    [key]: obj.optional(),
    confirmation: ConfirmationChallenge.optional(),
    error: S.ErrorObject.optional(),
  });

export const Outputs = {
  vmList: S.VirtualMachineList,
  check: S.Preflight,
  snapshotList: S.SnapshotList,
  snapshotGet: S.Snapshot,
  create: writeOutput("snapshot", S.Snapshot).extend({
    batch: S.SnapshotBatch.optional().describe("with selector: one result per matching VM"),
  }),
  clone: writeOutput("clone", S.Clone),
  restore: writeOutput("restore", S.Restore),
  delete: writeOutput("deletion", S.Deletion),
  policyList: S.PolicyList,
  policyWrite: writeOutput("policy", S.Policy),
  prune: writeOutput("prune", S.Prune),
};
