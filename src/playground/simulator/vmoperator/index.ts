// The vSphere VM Operator simulator (vmoperator.vmware.com): VirtualMachine power state and guest
// info, VirtualMachineSnapshot creation one at a time per VM, the snapshot tree, revert through
// spec.currentSnapshotName, and deletion. It uses the storage simulator's informers (PVC data
// fingerprints, CSI VolumeSnapshots) and registers no storage controllers of its own.
import type { Runtime } from "../runtime.js";
import type { StorageInformers } from "../storage.js";
import { Fresh, VmOp, claimsOf, powerStateOf, POWER, type VmopContext } from "./context.js";
import { registerVmController } from "./vm.js";
import { registerSnapshotController } from "./snapshot.js";

export { VmOp } from "./context.js";

export function registerVmOperator(
  rt: Runtime,
  storage: Pick<StorageInformers, "pvcs" | "storageClasses" | "volumeSnapshots">,
): VmopContext {
  const ctx: VmopContext = {
    rt,
    client: rt.client,
    inf: {
      pvcs: storage.pvcs,
      storageClasses: storage.storageClasses,
      volumeSnapshots: storage.volumeSnapshots,
      vms: rt.informer(VmOp.vms),
      snapshots: rt.informer(VmOp.snapshots),
    },
    fresh: new Fresh(),
    seq: new Map(),
    ids: { vm: 0, snapshot: 0 },
  };
  registerVmController(ctx);
  registerSnapshotController(ctx);
  return ctx;
}

/**
 * For the storage hooks: a claim is in use while a VM Operator VM that is not powered off has it
 * in spec.volumes (binds WaitForFirstConsumer claims, holds pvc-protection).
 */
export function vmOperatorClaimInUse(ctx: VmopContext, namespace: string, claim: string): boolean {
  return ctx.inf.vms
    .list()
    .some(
      (vm) =>
        vm.metadata.namespace === namespace &&
        powerStateOf(vm) !== POWER.off &&
        claimsOf(vm).includes(claim),
    );
}
