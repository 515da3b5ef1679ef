// The KubeVirt / CDI simulator: wires the VM, snapshot, restore and clone controllers onto the
// shared runtime and the storage simulator.
import { KubeVirt } from "../../../kube/resources.js";
import type { Runtime } from "../runtime.js";
import { registerStorage } from "../storage.js";
import type { KvContext } from "./context.js";
import { claimInUse, registerVmController } from "./vm.js";
import { registerSnapshotController } from "./snapshot.js";
import { registerRestoreController } from "./restore.js";
import { registerCloneController } from "./clone.js";

/** Other platforms' VMs also consume claims (binding WaitForFirstConsumer, deletion protection). */
export type ClaimUser = (namespace: string, claim: string) => boolean;

export function registerKubeVirt(rt: Runtime, otherClaimUsers: ClaimUser[] = []): KvContext {
  const ctx = {} as KvContext;
  const storage = registerStorage(rt, {
    claimInUse: (ns, claim) =>
      claimInUse(ctx, ns, claim) || otherClaimUsers.some((use) => use(ns, claim)),
    vmForVolumeSnapshot: (vs) => {
      const vmName = vs.metadata.labels?.["snapshot.kubevirt.io/source-vm-name"];
      return vmName ? ctx.inf.vms.get(vmName, vs.metadata.namespace) : undefined;
    },
  });
  Object.assign(ctx, {
    rt,
    client: rt.client,
    inf: {
      ...storage,
      vms: rt.informer(KubeVirt.vms),
      vmis: rt.informer(KubeVirt.vmis),
      snapshots: rt.informer(KubeVirt.snapshots),
      contents: rt.informer(KubeVirt.snapshotContents),
      restores: rt.informer(KubeVirt.restores),
      clones: rt.informer(KubeVirt.clones),
    },
  });
  registerVmController(ctx);
  registerSnapshotController(ctx);
  registerRestoreController(ctx);
  registerCloneController(ctx);
  return ctx;
}
