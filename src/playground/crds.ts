// Installing CustomResourceDefinitions from a directory: the project's own (crds/) or the upstream
// manifests (VMSNAP_CRDS_DIR). Large CRDs are POSTed directly (client-side apply cannot carry them)
// and documentation-only `x-doc-*` keys (Deckhouse) are stripped first.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { KubeApiError, type KubeClient } from "../kube/client.js";
import { Core, type KubeObject } from "../kube/resources.js";
import { Informer } from "../kube/watch.js";

/** The project's crds/ directory (works from src/ under tsx and from dist/). */
export function projectCrdsDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "crds");
}

/** vmsnap's own CRDs (crds/vmsnap: SnapshotPolicy), installed whichever set the platforms' come from. */
export function vmsnapCrdsDir(): string {
  return path.join(projectCrdsDir(), "vmsnap");
}

/** The directory to install from: VMSNAP_CRDS_DIR if set, else the project's crds/. */
export function crdsDirFromEnv(): string {
  return process.env.VMSNAP_CRDS_DIR ? path.resolve(process.env.VMSNAP_CRDS_DIR) : projectCrdsDir();
}

async function yamlFiles(dir: string, skip: Set<string>): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip.has(entry.name)) out.push(...(await yamlFiles(full, skip)));
    } else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

export function stripDocKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDocKeys);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      if (!k.startsWith("x-doc-")) out[k] = stripDocKeys(v);
    return out;
  }
  return value;
}

export async function loadCrds(
  dir: string,
  options: { includeOptional?: boolean } = {},
): Promise<KubeObject[]> {
  const skip = new Set(options.includeOptional ? [] : ["optional"]);
  const crds: KubeObject[] = [];
  for (const file of await yamlFiles(dir, skip)) {
    for (const doc of parseAllDocuments(await readFile(file, "utf8"))) {
      const obj = stripDocKeys(doc.toJS()) as KubeObject | null;
      if (obj?.kind !== "CustomResourceDefinition") continue;
      // Leftover generated stanzas (status, creationTimestamp: null) are not ours to send.
      delete obj.status;
      obj.metadata = {
        name: obj.metadata.name,
        labels: obj.metadata.labels,
        annotations: obj.metadata.annotations,
      };
      crds.push(obj);
    }
  }
  return crds;
}

/** What an environment installs: the platforms' CRDs from `dir`, and vmsnap's own in any case. */
export async function loadEnvironmentCrds(dir: string): Promise<KubeObject[]> {
  const crds = await loadCrds(dir);
  const names = new Set(crds.map((c) => c.metadata.name));
  return [...crds, ...(await loadCrds(vmsnapCrdsDir())).filter((c) => !names.has(c.metadata.name))];
}

/** Creates (or replaces) each CRD and waits until all are Established. */
export async function installCrds(
  client: KubeClient,
  crds: KubeObject[],
  timeoutMs = 60_000,
): Promise<void> {
  const names = new Set(crds.map((c) => c.metadata.name));
  const informer = new Informer(client, Core.crds);
  const established = () =>
    [...names].every((n) => {
      const conds = (informer.get(n)?.status?.conditions ?? []) as {
        type: string;
        status: string;
      }[];
      return conds.some((c) => c.type === "Established" && c.status === "True");
    });
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  informer.on(() => established() && resolveDone());
  await informer.start();
  try {
    await Promise.all(
      crds.map(async (crd) => {
        try {
          await client.create(Core.crds, crd);
        } catch (err) {
          if (!(err instanceof KubeApiError && err.code === 409)) {
            throw new Error(`installing CRD ${crd.metadata.name}: ${(err as Error).message}`);
          }
          const existing = await client.get(Core.crds, crd.metadata.name);
          await client.replace(Core.crds, {
            ...crd,
            metadata: { ...crd.metadata, resourceVersion: existing.metadata.resourceVersion },
          });
        }
      }),
    );
    if (!established()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        done,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`CRDs not Established within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    }
  } finally {
    await informer.stop();
  }
}
