// Deckhouse: a Restore VirtualMachineOperation, a VirtualMachineSnapshotOperation (clone to a new
// VM) and the legacy VirtualMachineRestore hold their snapshot until they are done; a VirtualDisk
// being provisioned from a disk snapshot holds the VM snapshot that disk snapshot belongs to
// (status.virtualDiskSnapshotNames of the VM snapshot).
import { Deckhouse } from "../../kube/resources.js";
import type { KubeObject } from "../../kube/resources.js";
import type { PlatformHolds, SnapshotHold } from "../holds.js";
import { obj, str } from "../json.js";
import { operationState } from "./model.js";

const DISK_SETTLED = new Set(["Ready", "Failed", "PVCLost", "Terminating"]);

function operationHold(kind: string, op: KubeObject, snapshot: string | undefined): SnapshotHold[] {
  return snapshot && !operationState(op).done && !op.metadata.deletionTimestamp
    ? [{ snapshot, reason: `${kind} ${op.metadata.name} in progress` }]
    : [];
}

export function deckhouseHolds(): PlatformHolds {
  return {
    platform: "deckhouse",
    vms: Deckhouse.vms,
    holders: [
      {
        type: Deckhouse.vmops,
        holds: (op) =>
          str(obj(op.spec).type) === "Restore"
            ? operationHold(
                "VirtualMachineOperation",
                op,
                str(obj(obj(op.spec).restore).virtualMachineSnapshotName),
              )
            : [],
      },
      {
        type: Deckhouse.vmsops,
        holds: (op) =>
          operationHold(
            "VirtualMachineSnapshotOperation",
            op,
            str(obj(op.spec).virtualMachineSnapshotName),
          ),
      },
      {
        type: Deckhouse.vmRestores,
        optional: true,
        holds: (r) =>
          operationHold("VirtualMachineRestore", r, str(obj(r.spec).virtualMachineSnapshotName)),
      },
      {
        type: Deckhouse.disks,
        holds: (d) => {
          const ref = obj(obj(obj(d.spec).dataSource).objectRef);
          const part = str(ref.name);
          const phase = str(obj(d.status).phase) ?? "Pending";
          return ref.kind === "VirtualDiskSnapshot" && part && !DISK_SETTLED.has(phase)
            ? [{ part, reason: `VirtualDisk ${d.metadata.name} is being restored from it` }]
            : [];
        },
      },
    ],
    partsOf: (s) => {
      const names = obj(s.status).virtualDiskSnapshotNames;
      return Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : [];
    },
  };
}
