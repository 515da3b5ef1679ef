// What the controller watches, while it leads: its policies, and per served platform the VM
// snapshots, the VMs and what holds snapshots (restores, clones, operations). One list+watch per
// kind (cluster-wide, or one namespace with --watch-namespace); the reconciler reads these
// caches only, never the API server. Every change is mapped to the policies of its namespace.
import type { KubeClient } from "../kube/client.js";
import { discover, type Discovery, type PlatformName } from "../kube/discovery.js";
import { Vmsnap, type KubeObject, type ResourceType } from "../kube/resources.js";
import { Informer } from "../kube/watch.js";
import { WriteGuard, CONTROLLER_ALLOWED_WRITES } from "../kube/write-guard.js";
import {
  holdsFrom,
  platformHolds,
  type PlatformHolds,
  type SnapshotHold,
} from "../platforms/holds.js";
import { platformsFor } from "../platforms/index.js";
import type { PlatformContext, SnapshotPlatform } from "../platforms/types.js";
import { plainWords } from "../core/advice.js";
import type { Snapshot } from "../core/schema.js";

/** An informer's cache, also indexed by namespace (reconciles read one namespace at a time). */
export class Watched {
  private readonly byNamespace = new Map<string, Map<string, KubeObject>>();

  constructor(readonly informer: Informer) {
    informer.on((event, obj) => {
      const ns = obj.metadata.namespace ?? "";
      let objs = this.byNamespace.get(ns);
      if (event === "delete") {
        objs?.delete(obj.metadata.name);
        if (objs?.size === 0) this.byNamespace.delete(ns);
        return;
      }
      if (!objs) this.byNamespace.set(ns, (objs = new Map()));
      objs.set(obj.metadata.name, obj);
    });
  }

  in(namespace: string): KubeObject[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  get size(): number {
    return this.informer.cache.size;
  }
}

export interface PlatformSources {
  name: PlatformName;
  /** Reads snapshot objects (snapshotOf: no requests). */
  platform: SnapshotPlatform;
  holds: PlatformHolds;
  snapshots: Watched;
  vms: Watched;
  holders: { watched: Watched; holds: (obj: KubeObject) => SnapshotHold[] }[];
}

export interface Sources {
  policies: Watched;
  platforms: PlatformSources[];
  stop(): Promise<void>;
}

/** Which resources of a group/version the API server serves (for optional kinds). */
async function served(client: KubeClient, type: ResourceType): Promise<boolean> {
  try {
    const list = await client.getPath<{ resources?: { name: string }[] }>(
      `/apis/${type.group}/${type.version}`,
    );
    return (list.resources ?? []).some((r) => r.name === type.plural);
  } catch {
    return false;
  }
}

export async function startSources(
  client: KubeClient,
  options: {
    namespace?: string;
    now: () => Date;
    onChange: (namespace: string | undefined, what: "policy" | "other", obj: KubeObject) => void;
    onError: (err: unknown) => void;
  },
): Promise<Sources> {
  const discovery: Discovery = await discover(client);
  const ctx: PlatformContext = {
    kube: client,
    guard: new WriteGuard(client, CONTROLLER_ALLOWED_WRITES),
    discovery,
    now: options.now,
    // The controller's messages (status, Events) are read by people: neutral words.
    words: plainWords,
  };
  const scope = { namespace: options.namespace };
  const informers: Informer[] = [];
  const watch = (type: ResourceType, what: "policy" | "other"): Watched => {
    const informer = new Informer(client, type, scope);
    informer.onError = options.onError;
    // The index first: handlers run in order, so a reconcile triggered by a change reads it.
    const watched = new Watched(informer);
    informer.on((_event, obj) => options.onChange(obj.metadata.namespace, what, obj));
    informers.push(informer);
    return watched;
  };
  const policies = watch(Vmsnap.snapshotPolicies, "policy");
  const platforms: PlatformSources[] = [];
  // No platform served is a valid state for the controller (policies then report no VMs).
  const served_ = discovery.platforms.length ? platformsFor(ctx, "auto") : [];
  for (const platform of served_) {
    const holds = platformHolds(platform.name, discovery);
    const holders = [];
    for (const h of holds.holders) {
      if (h.optional && !(await served(client, h.type))) continue;
      holders.push({ watched: watch(h.type, "other"), holds: h.holds });
    }
    platforms.push({
      name: platform.name,
      platform,
      holds,
      snapshots: watch(platform.snapshotType, "other"),
      vms: watch(holds.vms, "other"),
      holders,
    });
  }
  try {
    await Promise.all(informers.map((i) => i.start()));
  } catch (err) {
    await Promise.all(informers.map((i) => i.stop()));
    throw err;
  }
  return {
    policies,
    platforms,
    stop: async () => {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

/** A VM snapshot as the reconciler sees it. */
export interface CachedSnapshot {
  platform: PlatformName;
  raw: KubeObject;
  snapshot: Snapshot;
}

/** The snapshots of one namespace, on every platform. */
export function snapshotsIn(sources: Sources, namespace: string): CachedSnapshot[] {
  return sources.platforms.flatMap((p) =>
    p.snapshots.in(namespace).map((raw) => ({
      platform: p.name,
      raw,
      snapshot: p.platform.snapshotOf(raw),
    })),
  );
}

/** The VMs of one namespace, on every platform. */
export function vmsIn(
  sources: Sources,
  namespace: string,
): { platform: PlatformName; vm: KubeObject }[] {
  return sources.platforms.flatMap((p) =>
    p.vms.in(namespace).map((vm) => ({ platform: p.name, vm })),
  );
}

/**
 * Why each snapshot of a namespace is held, keyed `platform/name`: by a restore or clone at work,
 * by its VM (VM Operator's current snapshot), or through one of its parts (Deckhouse disk
 * snapshots).
 */
export function holdsIn(sources: Sources, namespace: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of sources.platforms) {
    const held = holdsFrom(p.holds, {
      snapshots: p.snapshots.in(namespace),
      vms: p.vms.in(namespace),
      holders: p.holders.map((h) => ({ holds: h.holds, objects: h.watched.in(namespace) })),
    });
    for (const [snapshot, reasons] of held) out.set(`${p.name}/${snapshot}`, reasons);
  }
  return out;
}
