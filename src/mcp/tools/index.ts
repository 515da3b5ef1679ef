// Every tool of SPEC §7; names are part of the interface.
import type { ToolDefinition } from "../tool.js";
import { vmCloneFromSnapshot } from "./vm-clone-from-snapshot.js";
import { vmList } from "./vm-list.js";
import { vmSnapshotCheck } from "./vm-snapshot-check.js";
import { vmSnapshotCreate } from "./vm-snapshot-create.js";
import { vmSnapshotDelete } from "./vm-snapshot-delete.js";
import { vmSnapshotGet } from "./vm-snapshot-get.js";
import { vmSnapshotList } from "./vm-snapshot-list.js";
import { vmSnapshotPolicyCreate } from "./vm-snapshot-policy-create.js";
import { vmSnapshotPolicyDelete } from "./vm-snapshot-policy-delete.js";
import { vmSnapshotPolicyList } from "./vm-snapshot-policy-list.js";
import { vmSnapshotPrune } from "./vm-snapshot-prune.js";
import { vmSnapshotRestore } from "./vm-snapshot-restore.js";

export const TOOLS = [
  vmList,
  vmSnapshotCheck,
  vmSnapshotList,
  vmSnapshotGet,
  vmSnapshotCreate,
  vmCloneFromSnapshot,
  vmSnapshotRestore,
  vmSnapshotDelete,
  vmSnapshotPolicyList,
  vmSnapshotPolicyCreate,
  vmSnapshotPolicyDelete,
  vmSnapshotPrune,
] as unknown as ToolDefinition[];
