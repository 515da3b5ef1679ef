// vm_snapshot_policy_list: snapshot policies with their state, last and next run (read-only)
import { listPolicies } from "../../workflows/policy.js";
import { Outputs, PolicyInputs } from "../schemas.js";
import type { ReadTool } from "../tool.js";

export const vmSnapshotPolicyList: ReadTool<typeof PolicyInputs.list> = {
  name: "vm_snapshot_policy_list",
  title: "List snapshot policies",
  description:
    "List SnapshotPolicy objects (scheduled VM snapshots with retention): selector, schedule, retention, state, last and next run, snapshots kept, the last run's result per VM.",
  kind: "read",
  idempotent: true,
  input: PolicyInputs.list,
  output: Outputs.policyList,
  names: () => [],
  read: (session, a) => listPolicies(session, { allNamespaces: a.allNamespaces }),
};
