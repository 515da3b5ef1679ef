// vm_snapshot_get: one snapshot in detail, with a diagnosis of failures (read-only)
import { describeSnapshot } from "../../workflows/read.js";
import { Inputs, Outputs } from "../schemas.js";
import type { ReadTool } from "../tool.js";

export const vmSnapshotGet: ReadTool<typeof Inputs.snapshotGet> = {
  name: "vm_snapshot_get",
  title: "Describe a VM snapshot",
  description:
    "One snapshot in detail: phase, readiness, consistency and indications, included and excluded volumes, conditions, and the diagnosis of a failure.",
  kind: "read",
  idempotent: true,
  input: Inputs.snapshotGet,
  output: Outputs.snapshotGet,
  names: (a) => [["snapshot", a.snapshot]],
  read: (session, a) => describeSnapshot(session, a.snapshot),
};
