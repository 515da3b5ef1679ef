// Read-only name lookups for shell completion: namespaces, disks and kubeconfig contexts. Nothing
// here writes; the faces only offer what these return.
import { ErrorCode } from "../core/errors.js";
import { Core, Deckhouse } from "../kube/resources.js";
import { listVms } from "./read.js";
import type { Session } from "./session.js";

/** The namespaces, or, for a user who may not list them, the namespaces that hold VMs. */
export async function namespaceNames(session: Session): Promise<string[]> {
  try {
    const list = await session.client.list(Core.namespaces);
    return list.items.map((n) => n.metadata.name);
  } catch (err) {
    const { toVmsnapError } = await import("../kube/errors.js");
    if (toVmsnapError(err).code !== ErrorCode.Forbidden) throw err;
    const vms = await listVms(session, undefined, { allNamespaces: true });
    return [...new Set(vms.items.map((v) => v.namespace))];
  }
}

/** The Deckhouse VirtualDisks of the session's namespace (no other platform snapshots a disk). */
export async function diskNames(session: Session): Promise<string[]> {
  if (!session.platforms.some((p) => p.name === "deckhouse")) return [];
  const list = await session.client.list(Deckhouse.disks, session.namespace);
  return list.items.map((d) => d.metadata.name);
}

export interface ContextName {
  name: string;
  /** Its cluster and namespace, as far as the kubeconfig names them. */
  where: string[];
}

/**
 * The context names of every kubeconfig file kubectl would merge (the first file that names a
 * context wins, as in kubectl). Only names are needed, so client-node is not loaded.
 */
export async function kubeconfigContexts(kubeconfig: string | undefined): Promise<ContextName[]> {
  const [{ readFile }, { parse }, { kubeconfigFiles }] = await Promise.all([
    import("node:fs/promises"),
    import("yaml"),
    import("../kube/kubeconfig-fast.js"),
  ]);
  const seen = new Map<string, ContextName>();
  for (const file of kubeconfigFiles(kubeconfig)) {
    const doc = parse(await readFile(file, "utf8").catch(() => "")) as {
      contexts?: { name?: unknown; context?: { cluster?: unknown; namespace?: unknown } }[];
    } | null;
    for (const c of doc?.contexts ?? []) {
      if (typeof c?.name !== "string" || seen.has(c.name)) continue;
      const where = [c.context?.cluster, c.context?.namespace].filter(
        (x): x is string => typeof x === "string",
      );
      seen.set(c.name, { name: c.name, where });
    }
  }
  return [...seen.values()];
}
