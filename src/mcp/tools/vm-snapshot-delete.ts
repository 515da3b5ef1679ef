// vm_snapshot_delete: delete a snapshot after the human types its name (destructive)
import { planDelete } from "../../workflows/delete.js";
import { Inputs, Outputs } from "../schemas.js";
import type { WriteTool } from "../tool.js";

export const vmSnapshotDelete: WriteTool<typeof Inputs.delete> = {
  name: "vm_snapshot_delete",
  title: "Delete a VM snapshot",
  description:
    "Delete a VM snapshot. DESTRUCTIVE. The human types the snapshot name; a warning is shown when it is the VM's only usable snapshot.",
  kind: "destructive",
  idempotent: true,
  input: Inputs.delete,
  output: Outputs.delete,
  names: (a) => [["snapshot", a.snapshot]],
  plan: (session, a, pins) => planDelete(session, { snapshot: a.snapshot }, pins),
};
