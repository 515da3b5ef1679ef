// Read-only workflows: inventory, preflight, list, describe. Nothing here writes.
import { advice } from "../core/advice.js";
import { notFound } from "../core/errors.js";
import { validateName } from "../core/names.js";
import { API_VERSION } from "../core/api-version.js";
import type { Preflight, Snapshot, SnapshotList, VirtualMachineList } from "../core/schema.js";
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
  ).flat();
  const filtered = vm ? items.filter((i) => i.name === vm) : items;
  if (vm && filtered.length === 0)
    throw notFound(`VirtualMachine ${session.namespace}/${vm} not found`);
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
  ).flat();
  return { apiVersion: API_VERSION, kind: "SnapshotList", items };
}

export async function describeSnapshot(session: Session, name: string): Promise<Snapshot> {
  validateName("snapshot", name);
  for (const p of session.platforms) {
    const s = await step(() => p.getSnapshot(session.namespace, name));
    if (s) return s;
  }
  throw notFound(
    `snapshot ${session.namespace}/${name} not found`,
    advice`list the snapshots with ${{ do: "list-snapshots", namespace: session.namespace }}`,
  );
}
