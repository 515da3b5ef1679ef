// vm_snapshot_get: one snapshot in detail, with a diagnosis of failures (read-only)
import { describeSnapshot } from "../../workflows/read.js";
import { Inputs, Outputs } from "../schemas.js";
import type { ToolDefinition } from "../tool.js";

export const vmSnapshotGet: ToolDefinition<typeof Inputs.snapshotGet> = {
  name: "vm_snapshot_get",
  title: "Describe a VM snapshot",
  description:
    "One snapshot in detail: phase, readiness, consistency and indications, included and excluded volumes, conditions, and the diagnosis of a failure.",
  kind: "read",
  idempotent: true,
  input: Inputs.snapshotGet,
  output: Outputs.snapshotGet,
  names: (a) => [["snapshot", a.snapshot]],
  run: async (session, a) => {
    const snapshot = await describeSnapshot(session, a.snapshot);
    return { structured: snapshot, object: snapshot };
  },
};
