// vm_snapshot_check: the preflight — can this VM be snapshotted safely, what will it contain? (read-only)
import { check } from "../../workflows/read.js";
import { Inputs, Outputs } from "../schemas.js";
import type { ReadTool } from "../tool.js";

export const vmSnapshotCheck: ReadTool<typeof Inputs.check> = {
  name: "vm_snapshot_check",
  title: "Check whether a VM can be snapshotted",
  description:
    "Preflight analysis before a snapshot: included and excluded volumes, storage and VolumeSnapshotClass per disk, online/offline, expected consistency, problems that block it (each with its fix) and warnings. Call it before vm_snapshot_create.",
  kind: "read",
  idempotent: true,
  input: Inputs.check,
  output: Outputs.check,
  names: (a) => [["VM", a.vm]],
  read: (session, a) => check(session, a.vm),
};
