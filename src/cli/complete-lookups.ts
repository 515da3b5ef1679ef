// The cluster side of shell completion: names read with the user's kubeconfig, context and
// namespace, through the same session and read workflows as `vmsnap vms` and `vmsnap list`.
// Nothing is written; any failure (unreachable, forbidden) is left to the caller as "no candidates".
import { presetConfirmation } from "../core/confirmation.js";
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
          import("../core/platform-names.js"),
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
      const { namespaceNames } = await import("../workflows/lookups.js");
      return (await namespaceNames(await open(t))).map((value) => ({ value }));
    },
    async contexts(t) {
      const { kubeconfigContexts } = await import("../workflows/lookups.js");
      return (await kubeconfigContexts(t.kubeconfig)).map((c) => ({
        value: c.name,
        description: c.where.join(", ") || undefined,
      }));
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
      const { diskNames } = await import("../workflows/lookups.js");
      return (await diskNames(await open(t))).map((value) => ({ value }));
    },
    close() {
      for (const s of sessions.values()) void s.then((x) => x.close()).catch(() => {});
    },
  };
}
