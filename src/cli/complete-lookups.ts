// The cluster side of shell completion: names read with the user's kubeconfig, context and
// namespace, through the same session and read workflows as `vmsnap vms` and `vmsnap list`.
// Nothing is written; any failure (unreachable, forbidden) is left to the caller as "no candidates".
import { presetConfirmation } from "../core/confirmation.js";
import { ErrorCode } from "../core/errors.js";
import { Core, Deckhouse } from "../kube/resources.js";
import type { Session } from "../workflows/session.js";
import type { Candidate, Lookups, Target } from "./complete.js";

export function clusterLookups(): Lookups & { close(): void } {
  const sessions = new Map<string, Promise<Session>>();
  const open = (t: Target): Promise<Session> => {
    const key = JSON.stringify(t);
    let s = sessions.get(key);
    if (!s) {
      s = (async () => {
        const [{ Session }, { parsePlatformChoice }] = await Promise.all([
          import("../workflows/session.js"),
          import("../platforms/index.js"),
        ]);
        return Session.open({
          kubeconfig: t.kubeconfig,
          context: t.context,
          namespace: t.namespace,
          platform: parsePlatformChoice(t.platform),
          // Read-only: nothing here ever asks for a confirmation; if anything did, it is refused.
          confirmation: presetConfirmation({ confirmed: false }),
        });
      })();
      sessions.set(key, s);
    }
    return s;
  };
  const now = new Date();
  const age = async (from: string | null) =>
    from ? `${(await import("./output.js")).humanAge(from, now)} ago` : undefined;

  return {
    async namespaces(t) {
      const session = await open(t);
      try {
        const list = await session.client.list(Core.namespaces);
        return list.items.map((n) => ({ value: n.metadata.name }));
      } catch (err) {
        // Least-privilege users may not list namespaces: offer those that hold VMs instead.
        const { toVmsnapError } = await import("../kube/errors.js");
        if (toVmsnapError(err).code !== ErrorCode.Forbidden) throw err;
        const { listVms } = await import("../workflows/read.js");
        const vms = await listVms(session, undefined, { allNamespaces: true });
        return [...new Set(vms.items.map((v) => v.namespace))].map((value) => ({ value }));
      }
    },
    async contexts(t) {
      // Only the names are needed: they are read from each kubeconfig file kubectl would merge
      // (the first file that names a context wins, as in kubectl), without client-node.
      const [{ readFile }, { parse }, { kubeconfigFiles }] = await Promise.all([
        import("node:fs/promises"),
        import("yaml"),
        import("../kube/kubeconfig-fast.js"),
      ]);
      const seen = new Map<string, Candidate>();
      for (const file of kubeconfigFiles(t.kubeconfig)) {
        const doc = parse(await readFile(file, "utf8").catch(() => "")) as {
          contexts?: { name?: unknown; context?: { cluster?: unknown; namespace?: unknown } }[];
        } | null;
        for (const c of doc?.contexts ?? []) {
          if (typeof c?.name !== "string" || seen.has(c.name)) continue;
          const where = [c.context?.cluster, c.context?.namespace].filter(
            (x): x is string => typeof x === "string",
          );
          seen.set(c.name, { value: c.name, description: where.join(", ") || undefined });
        }
      }
      return [...seen.values()];
    },
    async vms(t) {
      const session = await open(t);
      const { listVms } = await import("../workflows/read.js");
      const list = await listVms(session, undefined);
      const several = new Set(list.items.map((v) => v.platform)).size > 1;
      return list.items.map((v) => ({
        value: v.name,
        description: several ? `${v.status} (${v.platform})` : v.status,
      }));
    },
    async snapshots(t, filter) {
      const session = await open(t);
      const { listSnapshots } = await import("../workflows/read.js");
      const list = await listSnapshots(session, filter.vm);
      const out: Candidate[] = [];
      for (const s of list.items) {
        if (filter.disks && !s.disk) continue;
        const what = s.disk ? `disk ${s.disk}` : `VM ${s.vm}`;
        const when = await age(s.creationTime ?? s.createdAt);
        out.push({
          value: s.name,
          description: [filter.vm ? undefined : what, s.phase, when].filter(Boolean).join(", "),
        });
      }
      return out;
    },
    async disks(t) {
      const session = await open(t);
      if (!session.platforms.some((p) => p.name === "deckhouse")) return [];
      const list = await session.client.list(Deckhouse.disks, session.namespace);
      return list.items.map((d) => ({ value: d.metadata.name }));
    },
    close() {
      for (const s of sessions.values()) void s.then((x) => x.close()).catch(() => {});
    },
  };
}
