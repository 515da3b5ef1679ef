// The Deckhouse virtualization simulator (virtualization.deckhouse.io/v1alpha2): VirtualDisk,
// VirtualImage/ClusterVirtualImage, VirtualMachine, VirtualMachineSnapshot, VirtualDiskSnapshot,
// VirtualMachineOperation (Start/Stop/Restore/Clone), VirtualMachineSnapshotOperation and the
// legacy VirtualMachineRestore. Disks are simulated at this level (their fingerprint is the
// VirtualDisk's annotation); no PVCs or VolumeSnapshots are created.
//
// Every Deckhouse informer starts when its CRD is Established, not with the runtime: clusters
// emulating other Deckhouse versions lack some CRDs (the VirtualMachineRestore before v1.9 only,
// the snapshot operations after v1.2 only), and a CRD installed later is picked up.
import { Core, type KubeObject, type ResourceType } from "../../../kube/resources.js";
import type { Informer } from "../../../kube/watch.js";
import type { Runtime } from "../runtime.js";
import { asObj } from "../storage.js";
import { Deckhouse, Fresh, type DhContext } from "./context.js";
import { registerDiskControllers } from "./disk.js";
import { registerVmController } from "./vm.js";
import { registerSnapshotControllers } from "./snapshot.js";
import { registerOperationControllers } from "./operations.js";
import { registerLegacyRestore } from "./legacy-restore.js";

export { Deckhouse } from "./context.js";

export interface DeckhouseSimulator extends DhContext {
  /** Resolves when the informers of the CRDs served at start-up have their initial lists. */
  ready(): Promise<void>;
}

export function registerDeckhouse(rt: Runtime): DeckhouseSimulator {
  const lazy = (type: ResourceType) => rt.informer(type, { lazy: true });
  const ctx: DhContext = {
    rt,
    client: rt.client,
    inf: {
      vms: lazy(Deckhouse.vms),
      disks: lazy(Deckhouse.disks),
      vmSnapshots: lazy(Deckhouse.vmSnapshots),
      diskSnapshots: lazy(Deckhouse.diskSnapshots),
      vmops: lazy(Deckhouse.vmops),
      vmsops: lazy(Deckhouse.vmsops),
      images: lazy(Deckhouse.images),
      clusterImages: lazy(Deckhouse.clusterImages),
      vmRestores: lazy(Deckhouse.vmRestores),
      storageClasses: rt.informer(Core.storageClasses),
    },
    fresh: new Fresh(),
    since: new Map(),
  };
  registerDiskControllers(ctx);
  registerVmController(ctx);
  registerSnapshotControllers(ctx);
  registerOperationControllers(ctx);
  registerLegacyRestore(ctx);

  const byCrd = new Map<string, Informer>(
    Object.values(ctx.inf)
      .filter((i) => i.type.group === Deckhouse.vms.group)
      .map((i) => [`${i.type.plural}.${i.type.group}`, i]),
  );
  const starting = new Map<string, Promise<void>>();
  let initial: Promise<void>[] | undefined = [];
  rt.informer(Core.crds).on((_e, crd) => {
    const inf = byCrd.get(crd.metadata.name);
    if (!inf || starting.has(crd.metadata.name) || !established(crd)) return;
    const started = startWhenServed(rt, inf);
    starting.set(crd.metadata.name, started);
    initial?.push(started);
  });
  return {
    ...ctx,
    ready: async () => {
      // The CRD informer's initial list has run (runtime.start); later CRDs start on their own.
      const first = initial ?? [];
      initial = undefined;
      await Promise.all(first);
    },
  };
}

function established(crd: KubeObject): boolean {
  const conds = (asObj(crd).status?.conditions ?? []) as { type: string; status: string }[];
  return conds.some((c) => c.type === "Established" && c.status === "True");
}

async function startWhenServed(rt: Runtime, inf: Informer): Promise<void> {
  while (!rt.isStopped) {
    try {
      await inf.start();
      return;
    } catch (err) {
      // Established can precede the first successful list by a moment.
      rt.log(`watch ${inf.type.plural}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
