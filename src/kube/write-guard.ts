// The write guard (SPEC §3.2): the only path by which vmsnap writes to a cluster. It allows
// exactly the kinds of SPEC §2, with the verbs each operation needs, plus the VM run-state change
// when the user chose to stop (or restart) a VM, and the SnapshotPolicy objects a user creates or
// deletes. The policy controller has its own, narrower set (CONTROLLER_ALLOWED_WRITES). Anything
// else is refused before it is sent.
import { VmsnapError, ErrorCode } from "../core/errors.js";
import { POLICY_LABEL, SCHEDULED_TIME_ANNOTATION } from "../core/policy-marks.js";
import type { KubeClient, PatchType } from "./client.js";
import { apiVersionOf, type KubeObject, type ResourceType } from "./resources.js";

type Verb = "create" | "delete" | "patch" | "update";

export interface AllowedWrite {
  group: string;
  plural: string;
  /** A subresource (e.g. status); unset: the object itself. */
  subresource?: string;
  verbs: Verb[];
  /** Extra check of the body (create) or patch; returns why it is refused, if it is. */
  check?: (verb: Verb, body: unknown) => string | undefined;
}

const RUN_STRATEGIES = new Set(["Always", "Halted", "Manual", "RerunOnFailure", "Once"]);

/** A VM patch may change the run state and nothing else. */
function onlyRunStrategy(verb: Verb, body: unknown): string | undefined {
  if (verb !== "patch") return undefined;
  const b = body as { spec?: Record<string, unknown> } & Record<string, unknown>;
  const keys = Object.keys(b ?? {});
  const specKeys = Object.keys(b?.spec ?? {});
  const ok =
    keys.length === 1 &&
    keys[0] === "spec" &&
    specKeys.every((k) => k === "runStrategy" || k === "running") &&
    RUN_STRATEGIES.has(String(b.spec?.runStrategy)) &&
    (b.spec?.running === undefined || b.spec.running === null);
  return ok ? undefined : "a VirtualMachine may only have its spec.runStrategy changed";
}

function vmopTypes(types: string[]) {
  return (verb: Verb, body: unknown): string | undefined => {
    const type = (body as { spec?: { type?: string } })?.spec?.type;
    return verb === "create" && !types.includes(String(type))
      ? `VirtualMachineOperation type ${String(type)} is not allowed`
      : undefined;
  };
}

function vmOperatorVmPatch(verb: Verb, body: unknown): string | undefined {
  if (verb !== "patch") return undefined;
  const b = body as { spec?: Record<string, unknown> } & Record<string, unknown>;
  const ok =
    Object.keys(b ?? {}).every((k) => k === "spec") &&
    Object.keys(b?.spec ?? {}).every((k) => k === "currentSnapshotName" || k === "powerState");
  return ok
    ? undefined
    : "a VM Operator VirtualMachine may only have spec.currentSnapshotName or spec.powerState changed";
}

function diskFromSnapshot(verb: Verb, body: unknown): string | undefined {
  const ds = (body as { spec?: { dataSource?: { type?: string; objectRef?: { kind?: string } } } })
    ?.spec?.dataSource;
  return verb === "create" &&
    !(ds?.type === "ObjectRef" && ds.objectRef?.kind === "VirtualDiskSnapshot")
    ? "a VirtualDisk may only be created from a VirtualDiskSnapshot"
    : undefined;
}

/** SPEC §2, as data. */
export const ALLOWED_WRITES: AllowedWrite[] = [
  // KubeVirt / OpenShift Virtualization
  { group: "snapshot.kubevirt.io", plural: "virtualmachinesnapshots", verbs: ["create", "delete"] },
  { group: "snapshot.kubevirt.io", plural: "virtualmachinerestores", verbs: ["create"] },
  { group: "clone.kubevirt.io", plural: "virtualmachineclones", verbs: ["create"] },
  { group: "kubevirt.io", plural: "virtualmachines", verbs: ["patch"], check: onlyRunStrategy },
  // Deckhouse
  {
    group: "virtualization.deckhouse.io",
    plural: "virtualmachinesnapshots",
    verbs: ["create", "delete"],
  },
  {
    group: "virtualization.deckhouse.io",
    plural: "virtualdisksnapshots",
    verbs: ["create", "delete"],
  },
  {
    group: "virtualization.deckhouse.io",
    plural: "virtualmachineoperations",
    verbs: ["create"],
    check: vmopTypes(["Restore", "Clone", "Stop", "Start"]),
  },
  {
    group: "virtualization.deckhouse.io",
    plural: "virtualmachinesnapshotoperations",
    verbs: ["create"],
  },
  { group: "virtualization.deckhouse.io", plural: "virtualmachinerestores", verbs: ["create"] },
  {
    group: "virtualization.deckhouse.io",
    plural: "virtualdisks",
    verbs: ["create"],
    check: diskFromSnapshot,
  },
  // VM Operator
  {
    group: "vmoperator.vmware.com",
    plural: "virtualmachinesnapshots",
    verbs: ["create", "delete"],
  },
  {
    group: "vmoperator.vmware.com",
    plural: "virtualmachines",
    verbs: ["patch"],
    check: vmOperatorVmPatch,
  },
  // Snapshot policies (a human's standing consent to scheduled snapshots and their retention).
  { group: "vmsnap.io", plural: "snapshotpolicies", verbs: ["create", "delete"] },
];

/** A snapshot the controller creates carries its policy's label and scheduled time. */
function madeByPolicy(verb: Verb, body: unknown): string | undefined {
  if (verb !== "create") return undefined;
  const meta = (body as KubeObject | undefined)?.metadata;
  return meta?.labels?.[POLICY_LABEL] && meta.annotations?.[SCHEDULED_TIME_ANNOTATION]
    ? undefined
    : `a snapshot the controller creates must carry the ${POLICY_LABEL} label and the ${SCHEDULED_TIME_ANNOTATION} annotation`;
}

/**
 * The policy controller's writes (deploy/controller/): VM snapshots of its policies (created with
 * the policy's marks, deleted by retention) — never restores, clones or VM changes — the status
 * of its policies, Events about them, and its leader-election Lease.
 */
export const CONTROLLER_ALLOWED_WRITES: AllowedWrite[] = [
  {
    group: "snapshot.kubevirt.io",
    plural: "virtualmachinesnapshots",
    verbs: ["create", "delete"],
    check: madeByPolicy,
  },
  {
    group: "virtualization.deckhouse.io",
    plural: "virtualmachinesnapshots",
    verbs: ["create", "delete"],
    check: madeByPolicy,
  },
  {
    group: "vmoperator.vmware.com",
    plural: "virtualmachinesnapshots",
    verbs: ["create", "delete"],
    check: madeByPolicy,
  },
  { group: "vmsnap.io", plural: "snapshotpolicies", subresource: "status", verbs: ["patch"] },
  { group: "", plural: "events", verbs: ["create"] },
  { group: "coordination.k8s.io", plural: "leases", verbs: ["create", "update"] },
];

/** Whether an audited write (group, resource, subresource, verb) is one of the allowed set. */
export function isAllowedWrite(
  allowed: AllowedWrite[],
  write: { group: string; plural: string; subresource?: string; verb: string },
): boolean {
  return allowed.some(
    (a) =>
      a.group === write.group &&
      a.plural === write.plural &&
      (a.subresource ?? "") === (write.subresource ?? "") &&
      (a.verbs as string[]).includes(write.verb),
  );
}

export class WriteRefusedError extends VmsnapError {
  constructor(reason: string) {
    super(
      ErrorCode.OperationFailed,
      `write refused by the write guard: ${reason}`,
      "this is a bug in vmsnap: nothing was sent",
    );
  }
}

export interface GuardedWriteOptions {
  dryRun?: boolean;
  subresource?: string;
}

export interface WriteGuardOptions {
  /**
   * A client-side dry run (kubectl's --dry-run=client): the guard still checks every write, but
   * sends none — a dry-run write answers with what was asked, any other write is refused.
   */
  sendNothing?: boolean;
}

export class WriteGuard {
  constructor(
    private readonly client: KubeClient,
    private readonly allowed: AllowedWrite[] = ALLOWED_WRITES,
    private readonly options: WriteGuardOptions = {},
  ) {}

  /** A client-side dry run: no write is sent (previews that need a real object leave it out). */
  get sendsNothing(): boolean {
    return this.options.sendNothing === true;
  }

  /** Under a client-side dry run: true for a dry-run write (not sent); throws for a real one. */
  private unsent(options: GuardedWriteOptions): boolean {
    if (!this.options.sendNothing) return false;
    if (!options.dryRun)
      throw new WriteRefusedError("a client-side dry run sends no write (--dry-run=client)");
    return true;
  }

  /** Throws WriteRefusedError unless this write is allowed. */
  check(type: ResourceType, verb: Verb, body?: unknown, subresource?: string): void {
    const rule = this.allowed.find(
      (a) =>
        a.group === type.group &&
        a.plural === type.plural &&
        (a.subresource ?? "") === (subresource ?? ""),
    );
    if (!rule || !rule.verbs.includes(verb)) {
      throw new WriteRefusedError(
        `${verb} ${type.plural}${type.group ? "." + type.group : ""}${subresource ? `/${subresource}` : ""} is not an allowed write`,
      );
    }
    if (verb === "create" || verb === "update") {
      const obj = body as KubeObject;
      if (obj.apiVersion !== apiVersionOf(type) || obj.kind !== type.kind) {
        throw new WriteRefusedError(
          `manifest ${String(obj.apiVersion)}/${String(obj.kind)} does not match ${apiVersionOf(type)}/${type.kind}`,
        );
      }
    }
    const why = rule.check?.(verb, body);
    if (why) throw new WriteRefusedError(why);
  }

  async create<T extends KubeObject = KubeObject>(
    type: ResourceType,
    body: KubeObject,
    options: GuardedWriteOptions = {},
  ): Promise<T> {
    this.check(type, "create", body);
    if (this.unsent(options)) return body as T;
    return this.client.create<T>(type, body, { dryRun: options.dryRun });
  }

  async delete(
    type: ResourceType,
    name: string,
    namespace: string,
    options: GuardedWriteOptions = {},
  ): Promise<unknown> {
    this.check(type, "delete");
    if (this.unsent(options)) return undefined;
    return this.client.delete(type, name, namespace, { dryRun: options.dryRun });
  }

  async patch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string,
    patch: unknown,
    options: GuardedWriteOptions & { patchType?: PatchType } = {},
  ): Promise<T> {
    this.check(type, "patch", patch, options.subresource);
    if (this.unsent(options)) return patch as T;
    return this.client.patch<T>(type, name, namespace, patch, {
      dryRun: options.dryRun,
      patchType: options.patchType ?? "merge",
      subresource: options.subresource,
    });
  }

  /** A replace (PUT) with the object's resourceVersion: a conflict if it changed meanwhile. */
  async update<T extends KubeObject = KubeObject>(
    type: ResourceType,
    body: KubeObject,
    options: GuardedWriteOptions = {},
  ): Promise<T> {
    this.check(type, "update", body, options.subresource);
    if (this.unsent(options)) return body as T;
    return this.client.replace<T>(type, body, {
      dryRun: options.dryRun,
      subresource: options.subresource,
    });
  }
}
