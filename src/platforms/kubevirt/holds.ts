// KubeVirt: a VirtualMachineRestore holds its snapshot until it is complete or failed; a
// VirtualMachineClone from a snapshot holds it until Succeeded or Failed (the clone fails when
// its source snapshot disappears: kubevirt pkg/virt-controller/watch/clone/clone.go).
import { KubeVirt } from "../../kube/resources.js";
import type { PlatformHolds } from "../holds.js";
import { condition, obj, str } from "../json.js";

export function kubevirtHolds(): PlatformHolds {
  return {
    platform: "kubevirt",
    vms: KubeVirt.vms,
    holders: [
      {
        type: KubeVirt.restores,
        holds: (r) => {
          const snapshot = str(obj(r.spec).virtualMachineSnapshotName);
          const done =
            obj(r.status).complete === true || condition(r, "Failure")?.status === "True";
          return snapshot && !done
            ? [{ snapshot, reason: `VirtualMachineRestore ${r.metadata.name} in progress` }]
            : [];
        },
      },
      {
        type: KubeVirt.clones,
        holds: (c) => {
          const source = obj(obj(c.spec).source);
          const phase = str(obj(c.status).phase);
          const snapshot = str(source.name);
          return source.kind === "VirtualMachineSnapshot" &&
            snapshot &&
            phase !== "Succeeded" &&
            phase !== "Failed"
            ? [{ snapshot, reason: `VirtualMachineClone ${c.metadata.name} in progress` }]
            : [];
        },
      },
    ],
  };
}
