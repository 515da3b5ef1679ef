// vm_snapshot_prune: delete a VM's old snapshots by retention after the human types how many
// (destructive; the same plan, protections and confirmation as `vmsnap prune`)
import { planPrune } from "../../workflows/prune.js";
import { Outputs, PruneInputs } from "../schemas.js";
import type { WriteTool } from "../tool.js";

export const vmSnapshotPrune: WriteTool<typeof PruneInputs> = {
  name: "vm_snapshot_prune",
  title: "Prune old snapshots",
  description:
    "Delete the old snapshots of a VM (or of every VM matching a selector; give one of vm and selector): keep the newest keepLast of each VM, with olderThan only what is older. Never deleted: a VM's newest ready snapshot, one a restore or clone uses, VM Operator's current one, one in progress, or one a snapshot policy made (its retention manages it). DESTRUCTIVE. The preview lists every snapshot with delete or keep and why; the human types the number of snapshots to delete.",
  kind: "destructive",
  idempotent: false,
  input: PruneInputs,
  output: Outputs.prune,
  names: (a) => [["VM", a.vm]],
  plan: (session, a, pins) =>
    planPrune(
      session,
      { vm: a.vm, selector: a.selector, keepLast: a.keepLast, olderThan: a.olderThan },
      pins,
    ),
};
