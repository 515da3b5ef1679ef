// VM Operator: the snapshot a VM runs on (status.currentSnapshot) — deleting it consolidates the
// VM's disks into its parent — and the target of a revert still in progress
// (spec.currentSnapshotName, cleared by the controller on success).
import type { Discovery } from "../../kube/discovery.js";
import type { PlatformHolds, SnapshotHold } from "../holds.js";
import { obj, str } from "../json.js";
import { apiVersionFor, types } from "./model.js";

export function vmoperatorHolds(discovery: Discovery): PlatformHolds {
  return {
    platform: "vmoperator",
    vms: types(apiVersionFor(discovery)).vms,
    holders: [],
    vmHolds: (vm) => {
      const out: SnapshotHold[] = [];
      const current = str(obj(obj(vm.status).currentSnapshot).name);
      if (current)
        out.push({ snapshot: current, reason: `the current snapshot of VM ${vm.metadata.name}` });
      const reverting = str(obj(vm.spec).currentSnapshotName);
      if (reverting)
        out.push({
          snapshot: reverting,
          reason: `a revert of VM ${vm.metadata.name} to it is in progress`,
        });
      return out;
    },
  };
}
