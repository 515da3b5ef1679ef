// Platform detection from API discovery: one request (GET /apis) per invocation.
import type { PlatformName } from "../core/platform-names.js";
import type { KubeReader } from "./client.js";

export type { PlatformName };

export interface ApiGroup {
  name: string;
  versions: string[];
  preferredVersion: string;
}

export interface Discovery {
  groups: Map<string, ApiGroup>;
  platforms: PlatformName[];
}

const PLATFORM_GROUPS: Record<PlatformName, string[]> = {
  kubevirt: ["kubevirt.io", "snapshot.kubevirt.io"],
  deckhouse: ["virtualization.deckhouse.io"],
  vmoperator: ["vmoperator.vmware.com"],
};

export async function discover(kube: KubeReader): Promise<Discovery> {
  const list = await kube.getPath<{
    groups?: {
      name: string;
      versions: { version: string }[];
      preferredVersion?: { version: string };
    }[];
  }>("/apis");
  const raw = list.groups ?? [];
  const groups = new Map<string, ApiGroup>();
  for (const g of raw) {
    const versions = g.versions.map((v) => v.version);
    groups.set(g.name, {
      name: g.name,
      versions,
      preferredVersion: g.preferredVersion?.version ?? versions[0] ?? "",
    });
  }
  const platforms = (Object.keys(PLATFORM_GROUPS) as PlatformName[]).filter((p) =>
    PLATFORM_GROUPS[p].every((g) => groups.has(g)),
  );
  return { groups, platforms };
}
