// vm_list: VMs with state, snapshot count, last snapshot, snapshottable? (read-only)
import { listVms } from "../../workflows/read.js";
import { Inputs, Outputs } from "../schemas.js";
import type { ReadTool } from "../tool.js";

export const vmList: ReadTool<typeof Inputs.vmList> = {
  name: "vm_list",
  title: "List virtual machines",
  description:
    "List VMs with their status, guest agent, snapshot count, last snapshot and whether their disks can be snapshotted.",
  kind: "read",
  idempotent: true,
  input: Inputs.vmList,
  output: Outputs.vmList,
  names: (a) => [["VM", a.vm]],
  read: (session, a) =>
    listVms(session, a.vm, { allNamespaces: a.allNamespaces, labelSelector: a.labelSelector }),
};
