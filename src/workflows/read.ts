// Read-only workflows: inventory, preflight, list, describe. Nothing here writes.
import { advice } from "../core/advice.js";
import { ErrorCode, VmsnapError, missingNameOf, nameNotFound } from "../core/errors.js";
import { validateName } from "../core/names.js";
import { API_VERSION } from "../core/api-version.js";
import { PLATFORM_NAMES } from "../core/platform-names.js";
import type { Preflight, Snapshot, SnapshotList, VirtualMachineList } from "../core/schema.js";
import { bySnapshotOrder, byVmOrder } from "../platforms/json.js";
import { KubeApiError } from "../kube/client.js";
import type { SnapshotPlatform } from "../platforms/types.js";
import { step } from "./common.js";
import type { Session } from "./session.js";

export interface Scope {
  allNamespaces?: boolean;
  labelSelector?: string;
}

export async function listVms(
  session: Session,
  vm: string | undefined,
  scope: Scope = {},
): Promise<VirtualMachineList> {
  if (vm !== undefined) validateName("VM", vm);
  const namespace = scope.allNamespaces ? undefined : session.namespace;
  const warnings: string[] = [];
  const items = (
    await step(() =>
      Promise.all(
        session.platforms.map((p) =>
          readable(
            p,
            warnings,
            "VMs",
            () => p.listVms({ namespace, labelSelector: scope.labelSelector }),
            [],
          ),
        ),
      ),
    )
  )
    .flat()
    // Each platform lists in this order; where several answer, their lists are merged into it.
    .sort(byVmOrder);
  const filtered = vm ? items.filter((i) => i.name === vm) : items;
  if (vm && filtered.length === 0)
    throw nameNotFound(
      { kind: "VM", namespace: session.namespace, name: vm },
      `VirtualMachine ${session.namespace}/${vm} not found${unread(warnings)}`,
    );
  return {
    apiVersion: API_VERSION,
    kind: "VirtualMachineList",
    items: filtered,
    ...(warnings.length ? { warnings } : {}),
  };
}

export async function check(session: Session, vm: string): Promise<Preflight> {
  validateName("VM", vm);
  const platform = await step(() => session.platformForVm(session.namespace, vm));
  return step(() => platform.preflight(session.namespace, vm));
}

export async function listSnapshots(
  session: Session,
  vm: string | undefined,
  scope: Scope = {},
): Promise<SnapshotList> {
  if (vm !== undefined) validateName("VM", vm);
  const namespace = scope.allNamespaces ? undefined : session.namespace;
  const warnings: string[] = [];
  const items = (
    await step(() =>
      Promise.all(
        session.platforms.map((p) =>
          readable(
            p,
            warnings,
            "snapshots",
            () => p.listSnapshots({ namespace, vm, labelSelector: scope.labelSelector }),
            [],
          ),
        ),
      ),
    )
  )
    .flat()
    .sort(bySnapshotOrder);
  // `list VM` of a VM that is not there is a not-found (exit 4), not an empty list — unless
  // snapshots of it remain (the VM was deleted): those are listed.
  if (vm !== undefined && items.length === 0 && !scope.allNamespaces && !warnings.length)
    await step(async () =>
      (await session.platformForVm(session.namespace, vm)).getVm(session.namespace, vm),
    );
  return {
    apiVersion: API_VERSION,
    kind: "SnapshotList",
    items,
    ...(warnings.length ? { warnings } : {}),
  };
}

export async function describeSnapshot(session: Session, name: string): Promise<Snapshot> {
  validateName("snapshot", name);
  const warnings: string[] = [];
  for (const p of session.platforms) {
    const s = await step(() =>
      readable(p, warnings, "snapshots", () => p.getSnapshot(session.namespace, name), undefined),
    );
    if (s) return s;
  }
  throw nameNotFound(
    { kind: "snapshot", namespace: session.namespace, name },
    `snapshot ${session.namespace}/${name} not found${unread(warnings)}`,
    advice`list the snapshots with ${{ do: "list-snapshots", namespace: session.namespace }}`,
  );
}

/**
 * One platform's part of a read across platforms. Without permission to read a platform (403),
 * the others' part is still the answer: the platform is named in a warning, its part is `none`.
 */
async function readable<T>(
  p: SnapshotPlatform,
  warnings: string[],
  what: string,
  read: () => Promise<T>,
  none: T,
): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const forbidden =
      (err instanceof KubeApiError && err.code === 403) ||
      (err instanceof VmsnapError && err.code === ErrorCode.Forbidden);
    if (!forbidden) throw err;
    warnings.push(
      `${p.name}: no permission to read its ${what}, so they are not included (${err.message})`,
    );
    // In the platforms' order, whichever answered first.
    const order = (w: string) =>
      (PLATFORM_NAMES as readonly string[]).indexOf(w.slice(0, w.indexOf(":")));
    warnings.sort((a, b) => order(a) - order(b));
    return none;
  }
}

/** The platforms a not-found may have missed. */
function unread(warnings: string[]): string {
  return warnings.length ? ` (not all platforms could be read: ${warnings.join("; ")})` : "";
}

/**
 * Several snapshots, in the order given: the ones found (as a SnapshotList), and the errors of the
 * names not found (each still NotFound, to be reported after the others, as kubectl does).
 */
export async function describeSnapshots(
  session: Session,
  names: readonly string[],
): Promise<{ list: SnapshotList; notFound: unknown[] }> {
  const items: Snapshot[] = [];
  const notFound: unknown[] = [];
  for (const name of names) {
    try {
      items.push(await describeSnapshot(session, name));
    } catch (err) {
      if (!missingNameOf(err)) throw err;
      notFound.push(err);
    }
  }
  return { list: { apiVersion: API_VERSION, kind: "SnapshotList", items }, notFound };
}
