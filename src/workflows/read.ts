// Read-only workflows: inventory, preflight, list, describe. Nothing here writes.
import { advice } from "../core/advice.js";
import { missingNameOf, nameNotFound } from "../core/errors.js";
import { validateName } from "../core/names.js";
import { API_VERSION } from "../core/api-version.js";
import type { Preflight, Snapshot, SnapshotList, VirtualMachineList } from "../core/schema.js";
import { bySnapshotOrder, byVmOrder } from "../platforms/json.js";
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
  const items = (
    await step(() =>
      Promise.all(
        session.platforms.map((p) => p.listVms({ namespace, labelSelector: scope.labelSelector })),
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
      `VirtualMachine ${session.namespace}/${vm} not found`,
    );
  return { apiVersion: API_VERSION, kind: "VirtualMachineList", items: filtered };
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
  const items = (
    await step(() =>
      Promise.all(
        session.platforms.map((p) =>
          p.listSnapshots({ namespace, vm, labelSelector: scope.labelSelector }),
        ),
      ),
    )
  )
    .flat()
    .sort(bySnapshotOrder);
  // `list VM` of a VM that is not there is a not-found (exit 4), not an empty list — unless
  // snapshots of it remain (the VM was deleted): those are listed.
  if (vm !== undefined && items.length === 0 && !scope.allNamespaces)
    await step(async () =>
      (await session.platformForVm(session.namespace, vm)).getVm(session.namespace, vm),
    );
  return { apiVersion: API_VERSION, kind: "SnapshotList", items };
}

export async function describeSnapshot(session: Session, name: string): Promise<Snapshot> {
  validateName("snapshot", name);
  for (const p of session.platforms) {
    const s = await step(() => p.getSnapshot(session.namespace, name));
    if (s) return s;
  }
  throw nameNotFound(
    { kind: "snapshot", namespace: session.namespace, name },
    `snapshot ${session.namespace}/${name} not found`,
    advice`list the snapshots with ${{ do: "list-snapshots", namespace: session.namespace }}`,
  );
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
