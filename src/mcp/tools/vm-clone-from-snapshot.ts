// vm_clone_from_snapshot: a new VM from a snapshot, after the human's yes (additive)
import { planClone } from "../../workflows/clone.js";
import { Inputs, Outputs } from "../schemas.js";
import type { WriteTool } from "../tool.js";

export const vmCloneFromSnapshot: WriteTool<typeof Inputs.clone> = {
  name: "vm_clone_from_snapshot",
  title: "Create a VM from a snapshot",
  description:
    "Create a new VM from a ready VM snapshot (KubeVirt: stopped, new MAC addresses; Deckhouse: new disks <target>-<disk>, new IP). From a Deckhouse disk snapshot, create a new disk named target instead. The target name must be free. Asks the human to confirm.",
  kind: "additive",
  idempotent: false,
  input: Inputs.clone,
  output: Outputs.clone,
  names: (a) => [
    ["snapshot", a.snapshot],
    ["clone target", a.target],
  ],
  plan: (session, a, pins) =>
    planClone(session, { snapshot: a.snapshot, target: a.target, size: a.size }, pins),
};
