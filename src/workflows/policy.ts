// Snapshot policies as a user handles them: list, describe, and create or delete one through
// plan → consent → execute. Creating a policy is the human's standing consent to its scheduled
// snapshots and their retention (the controller acts on it), so the plan shows what it selects
// now, its next runs and its retention in words; deleting one keeps every snapshot it made.
import { advice } from "../core/advice.js";
import { ErrorCode, VmsnapError, invalidInput, notFound } from "../core/errors.js";
import { parseSelectorString, selectorString } from "../core/labels.js";
import { validateName } from "../core/names.js";
import { API_VERSION } from "../core/api-version.js";
import { makePlan, pinsAt, type PlanBase, type Pins } from "../core/plan.js";
import {
  POLICY_API_VERSION,
  POLICY_KIND,
  POLICY_LABEL,
  policySpecProblems,
  type SnapshotPolicySpec,
  type SnapshotPolicyStatus,
} from "../core/policy.js";
import { parseSchedule } from "../core/schedule.js";
import type { Policy, PolicyList } from "../core/schema.js";
import { Vmsnap, type KubeObject } from "../kube/resources.js";
import { dryRun, preview, step } from "./common.js";
import type { Session } from "./session.js";

export interface PolicyCreateRequest {
  name: string;
  /** Label selector string of the VMs (app=web, 'tier in (db,cache)'). */
  selector: string;
  schedule: string;
  timeZone?: string;
  startingDeadlineSeconds?: number;
  suspend?: boolean;
  retention?: SnapshotPolicySpec["retention"];
  snapshot?: SnapshotPolicySpec["snapshot"];
  dryRun?: boolean;
}

export interface PolicyCreatePlan extends PlanBase<Policy, "policy-create"> {
  readonly manifest: KubeObject;
}

export interface PolicyDeleteRequest {
  name: string;
  dryRun?: boolean;
}

export interface PolicyDeletePlan extends PlanBase<Policy, "policy-delete"> {
  readonly namespace: string;
  readonly name: string;
}

/** The retention rules in words: "keep-last 7, daily 7, max-age 90d". */
export function retentionText(r: SnapshotPolicySpec["retention"]): string {
  if (!r) return "keep everything (no rule)";
  const parts = [
    r.keepLast !== undefined ? `keep-last ${r.keepLast}` : "",
    ...(["hourly", "daily", "weekly", "monthly"] as const).map((k) =>
      r[k] !== undefined ? `${k} ${r[k]}` : "",
    ),
    r.maxAge ? `max-age ${r.maxAge}` : "",
    r.keepFailed !== undefined ? `keep-failed ${r.keepFailed}` : "",
    r.safetySnapshotMaxAge ? `safety snapshots expire after ${r.safetySnapshotMaxAge}` : "",
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "keep everything (no rule)";
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** A SnapshotPolicy object as vmsnap reports it. */
export function policyOf(obj: KubeObject, state?: string, notes: string[] = []): Policy {
  const spec = (obj.spec ?? {}) as unknown as SnapshotPolicySpec;
  const status = (obj.status ?? {}) as SnapshotPolicyStatus;
  const conditions = status.conditions ?? [];
  const ready = conditions.find((c) => c.type === "Ready");
  const derived = spec.suspend
    ? "Suspended"
    : ready?.reason === "InvalidSpec"
      ? "Invalid"
      : ready?.status === "True"
        ? "Ready"
        : ready
          ? (ready.reason ?? "NotReady")
          : "Waiting";
  return {
    apiVersion: API_VERSION,
    kind: "Policy",
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name,
    state: state ?? derived,
    selector: spec.selector ? selectorString(spec.selector) : "",
    schedule: spec.schedule ?? "",
    timeZone: spec.timeZone ?? "UTC",
    suspend: spec.suspend === true,
    retention: retentionText(spec.retention),
    createdAt: str(obj.metadata.creationTimestamp),
    lastScheduleTime: status.lastScheduleTime ?? null,
    lastSuccessfulTime: status.lastSuccessfulTime ?? null,
    nextScheduleTime: status.nextScheduleTime ?? null,
    snapshotsKept: status.snapshotsKept ?? null,
    vms: (status.vms ?? []).map((v) => ({
      name: v.name,
      platform: v.platform ?? null,
      lastSnapshot: v.lastSnapshot ?? null,
      result: v.result,
      message: v.message ?? null,
    })),
    conditions: conditions.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
    })),
    notes,
  };
}

export async function listPolicies(
  session: Session,
  scope: { allNamespaces?: boolean } = {},
): Promise<PolicyList> {
  const namespace = scope.allNamespaces ? undefined : session.namespace;
  const list = await step(() => session.client.list(Vmsnap.snapshotPolicies, namespace));
  const items = list.items
    .map((o) => policyOf(o))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { apiVersion: API_VERSION, kind: "PolicyList", items };
}

async function readPolicy(session: Session, name: string): Promise<KubeObject> {
  const ns = session.namespace;
  const obj = await step(() =>
    session.client.getIfExists(Vmsnap.snapshotPolicies, validateName("policy", name), ns),
  );
  if (!obj)
    throw notFound(
      `SnapshotPolicy ${ns}/${name} not found`,
      advice`list the policies with ${{ do: "list-policies", namespace: ns }}`,
    );
  return obj;
}

/** The next scheduled times of a valid schedule (none when invalid). */
function nextRuns(spec: SnapshotPolicySpec, after: Date, count = 3): string[] {
  try {
    const s = parseSchedule(spec.schedule, spec.timeZone ?? "UTC");
    const out: string[] = [];
    let t: Date | null = after;
    while (out.length < count && (t = s.next(t))) out.push(t.toISOString());
    return out;
  } catch {
    return [];
  }
}

export async function describePolicy(session: Session, name: string): Promise<Policy> {
  const obj = await readPolicy(session, name);
  const spec = (obj.spec ?? {}) as unknown as SnapshotPolicySpec;
  const problems = policySpecProblems(spec);
  const runs = spec.suspend || problems.length ? [] : nextRuns(spec, session.now());
  return policyOf(obj, undefined, [
    ...problems.map((p) => `invalid: ${p}`),
    ...(runs.length ? [`next runs: ${runs.join(", ")}`] : []),
  ]);
}

/** The VMs of the namespace a selector matches now, on every platform (one list each). */
async function selectedVms(session: Session, selector: string): Promise<string[]> {
  const lists = await step(() =>
    Promise.all(
      session.platforms.map((p) =>
        p.listVms({ namespace: session.namespace, labelSelector: selector }),
      ),
    ),
  );
  return lists
    .flat()
    .map((v) => v.name)
    .sort();
}

/** Snapshots in the namespace that carry this policy's label (a policy of the same name made them). */
async function labelledSnapshots(session: Session, policy: string): Promise<number> {
  const lists = await step(() =>
    Promise.all(
      session.platforms.map((p) =>
        p.listSnapshots({
          namespace: session.namespace,
          labelSelector: `${POLICY_LABEL}=${policy}`,
        }),
      ),
    ),
  );
  return lists.flat().length;
}

/** The object without its undefined fields; undefined when nothing is left. */
function defined<T extends object>(o: T | undefined): T | undefined {
  if (!o) return undefined;
  const kept = Object.entries(o).filter(([, v]) => v !== undefined);
  return kept.length ? (Object.fromEntries(kept) as T) : undefined;
}

const listed = (names: string[], max = 10) =>
  names.length <= max
    ? names.join(", ")
    : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;

export async function planPolicyCreate(
  session: Session,
  req: PolicyCreateRequest,
  pins?: Pins,
): Promise<PolicyCreatePlan> {
  const name = validateName("policy", req.name);
  const ns = session.namespace;
  const at = pins ? new Date(pins.at) : session.now();
  const spec: SnapshotPolicySpec = {
    selector: parseSelectorString(req.selector),
    schedule: req.schedule.trim(),
    ...(req.timeZone !== undefined ? { timeZone: req.timeZone } : {}),
    ...(req.startingDeadlineSeconds !== undefined
      ? { startingDeadlineSeconds: req.startingDeadlineSeconds }
      : {}),
    ...(req.suspend ? { suspend: true } : {}),
    ...(defined(req.snapshot) ? { snapshot: defined(req.snapshot) } : {}),
    ...(defined(req.retention) ? { retention: defined(req.retention) } : {}),
  };
  const problems = policySpecProblems(spec);
  if (problems.length)
    throw invalidInput(`invalid snapshot policy: ${problems.join("; ")}`, "fix the flags above");
  const manifest: KubeObject = {
    apiVersion: POLICY_API_VERSION,
    kind: POLICY_KIND,
    metadata: { name, namespace: ns },
    spec: spec as unknown as Record<string, unknown>,
  };
  const selector = selectorString(spec.selector);
  const [vms, existing] = await Promise.all([
    selectedVms(session, selector),
    labelledSnapshots(session, name),
  ]);
  const runs = spec.suspend ? [] : nextRuns(spec, at);
  const facts = [
    vms.length
      ? `selects ${vms.length} VM${vms.length === 1 ? "" : "s"} in ${ns} now: ${listed(vms)}`
      : `selects no VM in ${ns} now (${selector}); runs report NoMatchingVMs until one matches`,
    spec.suspend
      ? "suspended: no run until it is resumed"
      : `next runs (${spec.timeZone ?? "UTC"} schedule ${spec.schedule}): ${runs.join(", ")}`,
    `retention: ${retentionText(spec.retention)}; only this policy's own snapshots are ever deleted, never a VM's newest ready one or one a restore or clone uses`,
    ...(existing
      ? [
          `warning: ${existing} snapshot${existing === 1 ? "" : "s"} in ${ns} already carry the label ${POLICY_LABEL}=${name}: this policy's retention applies to them`,
        ]
      : []),
  ];
  const text = preview([{ type: Vmsnap.snapshotPolicies, body: manifest }], facts);
  try {
    await dryRun(session, [{ type: Vmsnap.snapshotPolicies, body: manifest }]);
  } catch (err) {
    if (err instanceof VmsnapError && err.code === ErrorCode.Conflict)
      throw new VmsnapError(
        ErrorCode.Conflict,
        `SnapshotPolicy ${ns}/${name} already exists`,
        advice`describe it with ${{ do: "describe-policy", namespace: ns, policy: name }}, or choose another name`,
      );
    throw err;
  }
  return makePlan(
    {
      operation: "policy-create",
      title: `Create snapshot policy ${name} in ${ns}?`,
      preview: text,
      facts,
      needs: { kind: "yes-no", action: "create" },
      subject: { manifest, facts },
      pins: pinsAt(at),
      planned: policyOf(manifest, "DryRun", facts),
    },
    { manifest },
    [manifest],
  );
}

export async function executePolicyCreate(
  session: Session,
  plan: PolicyCreatePlan,
): Promise<Policy> {
  session.progress(`creating snapshot policy ${plan.manifest.metadata.name}`);
  const created = await step(() =>
    session.guard.create(Vmsnap.snapshotPolicies, structuredClone(plan.manifest)),
  );
  return policyOf(created, "Created", [...plan.facts]);
}

export async function planPolicyDelete(
  session: Session,
  req: PolicyDeleteRequest,
  pins?: Pins,
): Promise<PolicyDeletePlan> {
  const obj = await readPolicy(session, req.name);
  const ns = session.namespace;
  const name = obj.metadata.name;
  const at = pins ? new Date(pins.at) : session.now();
  const made = await labelledSnapshots(session, name);
  const facts = [
    `SnapshotPolicy ${ns}/${name}: ${selectorString((obj.spec as unknown as SnapshotPolicySpec).selector ?? {})}, schedule ${String((obj.spec as { schedule?: unknown }).schedule)}`,
    `its ${made} snapshot${made === 1 ? "" : "s"} (label ${POLICY_LABEL}=${name}) are kept: nothing deletes them once the policy is gone (vmsnap prune or vmsnap delete can)`,
    "no further scheduled snapshots are taken",
  ];
  await step(() => session.guard.delete(Vmsnap.snapshotPolicies, name, ns, { dryRun: true }));
  return makePlan(
    {
      operation: "policy-delete",
      title: `Delete snapshot policy ${ns}/${name}?`,
      preview: facts.join("\n"),
      facts,
      lost: [`scheduled snapshots of ${name} stop`],
      needs: { kind: "typed-name", action: "delete", expectedName: name, noun: "policy name" },
      subject: { policy: `${ns}/${name}`, uid: obj.metadata.uid, facts },
      pins: pinsAt(at),
      planned: policyOf(obj, "DryRun", facts),
    },
    { namespace: ns, name },
  );
}

export async function executePolicyDelete(
  session: Session,
  plan: PolicyDeletePlan,
): Promise<Policy> {
  session.progress(`deleting snapshot policy ${plan.name}`);
  await step(() => session.guard.delete(Vmsnap.snapshotPolicies, plan.name, plan.namespace));
  return { ...plan.planned, state: "Deleted" };
}
