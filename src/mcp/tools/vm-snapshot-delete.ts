// vm_snapshot_delete: delete a snapshot after the human types its name (destructive)
import { deleteSnapshot } from "../../workflows/delete.js";
import { Inputs, Outputs } from "../schemas.js";
import type { ToolDefinition } from "../tool.js";

export const vmSnapshotDelete: ToolDefinition<typeof Inputs.delete> = {
  name: "vm_snapshot_delete",
  title: "Delete a VM snapshot",
  description:
    "Delete a VM snapshot. DESTRUCTIVE. The human types the snapshot name; a warning is shown when it is the VM's only usable snapshot.",
  kind: "destructive",
  idempotent: true,
  input: Inputs.delete,
  output: Outputs.delete,
  names: (a) => [["snapshot", a.snapshot]],
  run: async (session, a) => {
    const { deletion, preview } = await deleteSnapshot(session, {
      snapshot: a.snapshot,
      dryRun: a.dryRun,
    });
    return {
      structured: { status: a.dryRun ? "DryRun" : "Done", deletion },
      object: deletion,
      preface: a.dryRun
        ? `Dry run (validated by the API server, nothing deleted):\n${preview}`
        : undefined,
    };
  },
};
