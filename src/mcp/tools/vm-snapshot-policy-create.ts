// vm_snapshot_policy_create: create a snapshot policy after the human's yes (additive)
import { planPolicyCreate } from "../../workflows/policy.js";
import { Outputs, PolicyInputs } from "../schemas.js";
import type { WriteTool } from "../tool.js";

export const vmSnapshotPolicyCreate: WriteTool<typeof PolicyInputs.create> = {
  name: "vm_snapshot_policy_create",
  title: "Create a snapshot policy",
  description:
    "Create a SnapshotPolicy: the in-cluster controller then snapshots the VMs the selector matches on the cron schedule and deletes the policy's own old snapshots by its retention rules (never a VM's newest ready snapshot, one in use, or one it did not make). The human confirms the plan (VMs selected now, next runs, retention).",
  kind: "additive",
  idempotent: false,
  input: PolicyInputs.create,
  output: Outputs.policyWrite,
  names: (a) => [["policy", a.name]],
  plan: (session, a, pins) =>
    planPolicyCreate(
      session,
      {
        name: a.name,
        selector: a.selector,
        schedule: a.schedule,
        timeZone: a.timeZone,
        startingDeadlineSeconds: a.startingDeadlineSeconds,
        suspend: a.suspend,
        retention: {
          keepLast: a.keepLast,
          hourly: a.hourly,
          daily: a.daily,
          weekly: a.weekly,
          monthly: a.monthly,
          maxAge: a.maxAge,
          keepFailed: a.keepFailed,
          safetySnapshotMaxAge: a.expireSafetySnapshots,
        },
        snapshot: { consistency: a.consistency, memory: a.memory },
      },
      pins,
    ),
};
