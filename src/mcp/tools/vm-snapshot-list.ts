// vm_snapshot_list: snapshots with phase, readiness and consistency (read-only)
import { listSnapshots } from "../../workflows/read.js";
import { Inputs, Outputs } from "../schemas.js";
import type { ReadTool } from "../tool.js";

export const vmSnapshotList: ReadTool<typeof Inputs.snapshotList> = {
  name: "vm_snapshot_list",
  title: "List VM snapshots",
  description:
    "List VM snapshots (of one VM, of a namespace, or of all namespaces) with phase, readiness and consistency.",
  kind: "read",
  idempotent: true,
  input: Inputs.snapshotList,
  output: Outputs.snapshotList,
  names: (a) => [["VM", a.vm]],
  read: (session, a) => listSnapshots(session, a.vm, { allNamespaces: a.allNamespaces }),
};
