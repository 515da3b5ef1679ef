// The workflows every face calls: plan → consent → execute, the one-call operations over it, and
// the reads.
export { Session, type SessionOptions, type SessionParts } from "./session.js";
export { listVms, check, listSnapshots, describeSnapshot, type Scope } from "./read.js";
export { planCreate, type CreatePlan, type CreateRequest, type CreateResult } from "./create.js";
export {
  planCreateMany,
  batchFailed,
  type CreateManyPlan,
  type BulkCreateRequest,
  type BulkCreateResult,
} from "./bulk-create.js";
export {
  planDiskSnapshot,
  planDiskRestore,
  type DiskSnapshotPlan,
  type DiskRestorePlan,
  type DiskSnapshotRequest,
  type DiskRestoreRequest,
} from "./disk.js";
export {
  planRestore,
  type RestorePlan,
  type RestoreRequest,
  type RestoreResult,
} from "./restore.js";
export {
  planDelete,
  planDeleteMany,
  type DeletePlan,
  type DeleteRequest,
  type DeleteManyPlan,
  type DeleteManyRequest,
} from "./delete.js";
export { planClone, type ClonePlan, type CloneRequest } from "./clone.js";
export {
  listPolicies,
  describePolicy,
  planPolicyCreate,
  planPolicyDelete,
  type PolicyCreatePlan,
  type PolicyDeletePlan,
  type PolicyCreateRequest,
  type PolicyDeleteRequest,
} from "./policy.js";
export { planPrune, type PrunePlan, type PruneRequest } from "./prune.js";
export {
  confirmPlan,
  execute,
  settle,
  type ExecuteOptions,
  type Plan,
  type ResultOf,
} from "./execute.js";
export {
  createSnapshot,
  createSnapshotsBySelector,
  createDiskSnapshot,
  restoreSnapshot,
  restoreDisk,
  cloneFromSnapshot,
  deleteSnapshot,
  deleteSnapshots,
  createPolicy,
  deletePolicy,
  prune,
} from "./operations.js";
