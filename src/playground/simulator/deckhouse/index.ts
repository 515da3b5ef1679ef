// The Deckhouse virtualization simulator (virtualization.deckhouse.io/v1alpha2): VirtualDisk,
// VirtualImage/ClusterVirtualImage, VirtualMachine, VirtualMachineSnapshot, VirtualDiskSnapshot,
// VirtualMachineOperation (Start/Stop/Restore/Clone), VirtualMachineSnapshotOperation and the
// legacy VirtualMachineRestore. Disks are simulated at this level (their fingerprint is the
// VirtualDisk's annotation); no PVCs or VolumeSnapshots are created. An API the cluster does not
// serve (another Deckhouse version, the optional VirtualMachineRestore) leaves its informer empty
// until it appears (the runtime keeps trying).
import { Core, Csi } from "../../../kube/resources.js";
import type { Runtime } from "../runtime.js";
import { Deckhouse, Fresh, type DhContext } from "./context.js";
import { registerDiskControllers } from "./disk.js";
import { registerVmController } from "./vm.js";
import { registerSnapshotControllers } from "./snapshot.js";
import { registerOperationControllers } from "./operations.js";
import { registerLegacyRestore } from "./legacy-restore.js";

export { Deckhouse } from "./context.js";

export function registerDeckhouse(rt: Runtime): DhContext {
  const ctx: DhContext = {
    rt,
    client: rt.client,
    inf: {
      vms: rt.informer(Deckhouse.vms),
      disks: rt.informer(Deckhouse.disks),
      vmSnapshots: rt.informer(Deckhouse.vmSnapshots),
      diskSnapshots: rt.informer(Deckhouse.diskSnapshots),
      vmops: rt.informer(Deckhouse.vmops),
      vmsops: rt.informer(Deckhouse.vmsops),
      images: rt.informer(Deckhouse.images),
      clusterImages: rt.informer(Deckhouse.clusterImages),
      vmRestores: rt.informer(Deckhouse.vmRestores),
      storageClasses: rt.informer(Core.storageClasses),
      volumeSnapshotClasses: rt.informer(Csi.volumeSnapshotClasses),
    },
    fresh: new Fresh(),
    since: new Map(),
  };
  registerDiskControllers(ctx);
  registerVmController(ctx);
  registerSnapshotControllers(ctx);
  registerOperationControllers(ctx);
  registerLegacyRestore(ctx);
  return ctx;
}
