// vm_snapshot_restore: restore a VM in place, after the human types the snapshot name (destructive)
import { planRestore } from "../../workflows/restore.js";
import { Inputs, Outputs } from "../schemas.js";
import type { WriteTool } from "../tool.js";

export const vmSnapshotRestore: WriteTool<typeof Inputs.restore> = {
  name: "vm_snapshot_restore",
  title: "Restore a VM from a snapshot",
  description:
    "Restore a VM in place to one of its snapshots. DESTRUCTIVE: everything written since the snapshot is lost, except in the safety snapshot taken first. The human sees what will be lost, types the snapshot name, chooses whether to stop a running VM, and confirms. Refused for missing, failed, unready or foreign snapshots and while another restore runs.",
  kind: "destructive",
  idempotent: false,
  input: Inputs.restore,
  output: Outputs.restore,
  names: (a) => [
    ["VM", a.vm],
    ["snapshot", a.snapshot],
  ],
  plan: (session, a, pins) =>
    planRestore(
      session,
      { vm: a.vm, snapshot: a.snapshot, safetySnapshot: a.safetySnapshot },
      pins,
    ),
};
