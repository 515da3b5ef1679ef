// Fixtures of the policy controller's end-to-end tests: the controller in-process as the
// controller identity (deploy/controller/'s RBAC), one Lease per test file, a clock the test
// moves; VMs of each platform; policies; and the audit-log proof of what the controller wrote.
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import {
  Core,
  Deckhouse,
  KubeVirt,
  Vmsnap,
  type KubeObject,
  type ResourceType,
} from "../../src/kube/resources.js";
import { Informer } from "../../src/kube/watch.js";
import { ManualClock } from "../../src/controller/clock.js";
import { PolicyController, type ControllerOptions } from "../../src/controller/controller.js";
import {
  ensureSimStorage,
  pvcManifest,
  vmManifest,
  vmoVmManifest,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { CONTROLLER, CONTROLLER_NAMESPACE } from "../../src/playground/identities.js";
import { WRITE_VERBS, isDryRun, type AuditEvent } from "../../src/playground/audit.js";
import type { SnapshotPolicySpec } from "../../src/core/policy.js";
import { kubeconfigOf } from "../helpers/env.js";
import { requestsSince } from "../helpers/audit.js";
import { makeDhVm } from "../helpers/deckhouse.js";
import { waitFor, type Json, waitClaimsBound } from "../helpers/kube.js";

export type PlatformName = "kubevirt" | "deckhouse" | "vmoperator";

export const SNAPSHOTS: Record<PlatformName, ResourceType> = {
  kubevirt: KubeVirt.snapshots,
  deckhouse: Deckhouse.vmSnapshots,
  vmoperator: VmOp.snapshots,
};

/**
 * A Monday 00:00 UTC at least two days from now: the tests' weekdays and ISO weeks are then
 * fixed, and the Sunday 02:00 before it is always after the policy's creation.
 */
export function nextMonday(): Date {
  const t = new Date(Date.now() + 2 * 86_400_000);
  t.setUTCHours(0, 0, 0, 0);
  t.setUTCDate(t.getUTCDate() + ((8 - t.getUTCDay()) % 7));
  return t;
}

export const DAY = 86_400_000;

/** RFC 3339 without milliseconds, as the controller writes times. */
export const iso = (t: Date) => t.toISOString().replace(/\.\d{3}Z$/, "Z");
/** YYYYMMDD-HHMMSS, as in snapshot names. */
export const stamp = (t: Date) => iso(t).replace(/[-:]/g, "").replace("T", "-").replace("Z", "");

/** A running VM with a guest agent (application-consistent on every platform), labelled. */
export async function makeVm(
  c: KubeClient,
  platform: PlatformName,
  ns: string,
  name: string,
  labels: Record<string, string>,
): Promise<void> {
  await ensureSimStorage(c);
  if (platform === "kubevirt") {
    await c.create(
      Core.pvcs,
      pvcManifest({ name: `${name}-root`, namespace: ns, data: `${name}-v1` }),
    );
    await waitClaimsBound(c, ns, [`${name}-root`]);
    await c.create(
      KubeVirt.vms,
      vmManifest({
        name,
        namespace: ns,
        runStrategy: "Always",
        labels,
        annotations: { [SIM.guestAgent]: "true", [SIM.snapshotDelay]: "50ms" },
        disks: [{ name: "rootdisk", claimName: `${name}-root` }],
      }),
    );
    await waitFor(c, KubeVirt.vms, name, ns, (v) => v.status?.printableStatus === "Running");
  } else if (platform === "vmoperator") {
    await c.create(
      VmOp.vms,
      vmoVmManifest({
        name,
        namespace: ns,
        labels,
        annotations: {
          [SIM.data]: `${name}-boot-v1`,
          [SIM.guestAgent]: "true",
          [SIM.snapshotDelay]: "50ms",
        },
      }),
    );
    await waitFor(c, VmOp.vms, name, ns, (v) => Boolean(v.status?.guest));
  } else {
    await makeDhVm(c, ns, name, { agent: true, snapshotDelay: "50ms", disks: ["root"] });
    await c.patch(Deckhouse.vms, name, ns, { metadata: { labels } });
  }
}

export function policyManifest(ns: string, name: string, spec: SnapshotPolicySpec): KubeObject {
  return {
    apiVersion: "vmsnap.io/v1alpha1",
    kind: "SnapshotPolicy",
    metadata: { name, namespace: ns },
    spec: spec as unknown as Record<string, unknown>,
  };
}

/** A controller replica of this test file: watches only `ns`, its own Lease in vmsnap-system. */
export function startController(
  ns: string,
  clock: ManualClock,
  options: Partial<ControllerOptions> = {},
): Promise<PolicyController> {
  return PolicyController.start({
    kubeconfig: kubeconfigOf(CONTROLLER.name),
    watchNamespace: ns,
    leaseNamespace: CONTROLLER_NAMESPACE,
    leaseName: `test-${ns}`,
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 500,
    clock,
    log: () => {},
    ...options,
  });
}

/** Waits until the controller leads and has nothing left to do. */
export async function settled(controller: PolicyController, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!controller.isLeader) {
    if (Date.now() > deadline) throw new Error("the controller did not become the leader");
    await new Promise((r) => setTimeout(r, 50));
  }
  await controller.idle();
}

/** Waits (watching) until the namespace's snapshots satisfy the predicate; returns them. */
export async function waitSnapshots(
  c: KubeClient,
  type: ResourceType,
  ns: string,
  predicate: (snaps: Json[]) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<Json[]> {
  const informer = new Informer(c, type, { namespace: ns });
  const current = () => informer.list() as Json[];
  let done!: () => void;
  const reached = new Promise<void>((r) => (done = r));
  informer.on(() => predicate(current()) && done());
  await informer.start();
  let timer: NodeJS.Timeout | undefined;
  try {
    if (!predicate(current()))
      await Promise.race([
        reached,
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `${what}: not reached within ${timeoutMs} ms; snapshots: ${current()
                    .map(
                      (s) =>
                        `${s.metadata.name}${s.metadata.deletionTimestamp ? " (deleting)" : ""}`,
                    )
                    .sort()
                    .join(", ")}`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    return current();
  } finally {
    clearTimeout(timer);
    await informer.stop();
  }
}

export const isReady = (platform: PlatformName, s: Json): boolean =>
  platform === "kubevirt"
    ? s.status?.readyToUse === true
    : platform === "deckhouse"
      ? s.status?.phase === "Ready"
      : (s.status?.conditions ?? []).some(
          (c: Json) => c.type === "VirtualMachineSnapshotReady" && c.status === "True",
        );

/** Live (not being deleted) snapshot names. */
export const live = (snaps: Json[]) =>
  snaps
    .filter((s) => !s.metadata.deletionTimestamp)
    .map((s) => s.metadata.name as string)
    .sort();

/** Waits for the policy's status; a timeout shows the status it had (per VM, conditions). */
export async function waitPolicy(
  c: KubeClient,
  ns: string,
  name: string,
  predicate: (p: Json) => boolean,
  timeoutMs = 60_000,
): Promise<Json> {
  return waitFor(c, Vmsnap.snapshotPolicies, name, ns, predicate, timeoutMs).catch(
    async (err: Error) => {
      const p = (await c.getIfExists(Vmsnap.snapshotPolicies, name, ns)) as Json | undefined;
      throw new Error(`${err.message}; status: ${JSON.stringify(p?.status)}`);
    },
  );
}

export const condition = (p: Json, type: string): Json | undefined =>
  ((p.status?.conditions ?? []) as Json[]).find((c) => c.type === type);

/** Waits until the policy has run the time and its snapshots are ready, and the controller is idle. */
export async function waitRun(
  c: KubeClient,
  controller: PolicyController,
  ns: string,
  policy: string,
  at: Date,
): Promise<Json> {
  const p = await waitPolicy(
    c,
    ns,
    policy,
    (x) =>
      x.status?.lastScheduleTime === iso(at) && condition(x, "SnapshotsReady")?.status === "True",
  );
  await settled(controller);
  return p;
}

/** Every write request by the controller identity in the namespace (dry runs included). */
export async function controllerWrites(ns: string, since: Date): Promise<AuditEvent[]> {
  return (await requestsSince(since, CONTROLLER.name)).filter(
    (e) => WRITE_VERBS.has(e.verb) && e.objectRef?.namespace === ns,
  );
}

/**
 * The audit-log proof: in this namespace the controller wrote only snapshots (creates marked with
 * the policy's label), their policy's status and Events, and deleted only snapshots it had
 * created with a policy's label (plus the safety snapshots listed as allowed). Returns the
 * names it deleted.
 */
export async function assertOnlyOwnSnapshotsDeleted(
  ns: string,
  since: Date,
  snapshotPlural: string,
  allowedSafety: string[] = [],
): Promise<{ deleted: string[]; created: string[] }> {
  const writes = (await controllerWrites(ns, since)).filter((e) => !isDryRun(e));
  const created = writes
    .filter((e) => e.verb === "create" && e.objectRef?.resource === snapshotPlural)
    .filter((e) => (e.responseStatus?.code ?? 0) < 400)
    .map((e) => {
      const meta = (e.requestObject as Json).metadata as Json;
      assert.ok(meta.labels?.["vmsnap.io/policy"], `${meta.name} carries the policy label`);
      return meta.name as string;
    });
  const deleted = writes
    .filter((e) => e.verb === "delete")
    .map((e) => {
      assert.equal(
        e.objectRef?.resource,
        snapshotPlural,
        `only snapshots are deleted: ${e.requestURI}`,
      );
      return e.objectRef?.name ?? "";
    });
  for (const d of deleted)
    assert.ok(
      created.includes(d) || allowedSafety.includes(d),
      `the controller deleted ${d}, which no policy of it made`,
    );
  const other = writes.filter(
    (e) =>
      !(
        (e.objectRef?.resource === snapshotPlural && ["create", "delete"].includes(e.verb)) ||
        (e.objectRef?.resource === "snapshotpolicies" && e.objectRef.subresource === "status") ||
        e.objectRef?.resource === "events"
      ),
  );
  assert.deepEqual(
    other.map((e) => `${e.verb} ${e.requestURI}`),
    [],
    "nothing else is written",
  );
  return { deleted, created };
}

export { ManualClock, Vmsnap };
