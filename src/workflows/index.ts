// The workflows every face calls.
export { Session, type SessionOptions } from "./session.js";
export { listVms, check, listSnapshots, describeSnapshot, type Scope } from "./read.js";
export { createSnapshot, type CreateRequest, type CreateResult } from "./create.js";
export {
  createSnapshotsBySelector,
  batchFailed,
  type BulkCreateRequest,
  type BulkCreateResult,
} from "./bulk-create.js";
export { restoreSnapshot, type RestoreRequest, type RestoreResult } from "./restore.js";
export { deleteSnapshot, type DeleteRequest } from "./delete.js";
export { cloneFromSnapshot, type CloneRequest } from "./clone.js";
