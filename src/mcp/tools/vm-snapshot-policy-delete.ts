// vm_snapshot_policy_delete: delete a snapshot policy after the human types its name (destructive)
import { planPolicyDelete } from "../../workflows/policy.js";
import { Outputs, PolicyInputs } from "../schemas.js";
import type { WriteTool } from "../tool.js";

export const vmSnapshotPolicyDelete: WriteTool<typeof PolicyInputs.delete> = {
  name: "vm_snapshot_policy_delete",
  title: "Delete a snapshot policy",
  description:
    "Delete a SnapshotPolicy: its scheduled snapshots stop; the snapshots it made are kept. DESTRUCTIVE. The human types the policy name.",
  kind: "destructive",
  idempotent: true,
  input: PolicyInputs.delete,
  output: Outputs.policyWrite,
  names: (a) => [["policy", a.name]],
  plan: (session, a, pins) => planPolicyDelete(session, { name: a.name }, pins),
};
