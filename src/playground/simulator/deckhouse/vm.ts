// VirtualMachine: power (runPolicy and Start/Stop operations), phases, block devices, guest agent
// and OS info, a stable simulated IP address, and changes awaiting a restart.
import { keyOf, type KubeObject } from "../../../kube/resources.js";
import { annotation, guestOs, hasGuestAgent, powerTransitionMs } from "../annotations.js";
import { asObj } from "../storage.js";
import {
  CTRL,
  DH_SIM,
  VM_PHASE,
  blockDeviceRefs,
  cond,
  ipAddressOf,
  jsonEqual,
  parseJson,
  patch,
  phaseOf,
  withConditions,
  writeStatus,
  type DhContext,
} from "./context.js";
import { DISK_PHASE } from "./disk.js";

/** Starting and Stopping last this long, unless the VM's sim.vmsnap.io/power-transition-duration says otherwise. */
export const POWER_TRANSITION_MS = 300;

export const RUN_POLICY = {
  alwaysOn: "AlwaysOn",
  alwaysOff: "AlwaysOff",
  manual: "Manual",
  alwaysOnUnlessStoppedManually: "AlwaysOnUnlessStoppedManually",
} as const;

export function runPolicyOf(vm: KubeObject): string {
  return (
    (asObj(vm).spec?.runPolicy as string | undefined) ?? RUN_POLICY.alwaysOnUnlessStoppedManually
  );
}

/**
 * Whether the VM should run: maintenance stops it; AlwaysOn/AlwaysOff decide alone; otherwise the
 * last Start/Stop (the power annotation), defaulting to the policy's start state.
 */
export function wantsPower(vm: KubeObject): boolean {
  if (annotation(vm, DH_SIM.maintenance)) return false;
  const policy = runPolicyOf(vm);
  if (policy === RUN_POLICY.alwaysOn) return true;
  if (policy === RUN_POLICY.alwaysOff) return false;
  const power = annotation(vm, DH_SIM.power);
  if (power === "on") return true;
  if (power === "off") return false;
  return policy !== RUN_POLICY.manual;
}

const LINUX_INFO = {
  id: "ubuntu",
  name: "Ubuntu",
  prettyName: "Ubuntu 24.04 LTS",
  version: "24.04 LTS (Noble Numbat)",
  versionId: "24.04",
  kernelRelease: "6.8.0-45-generic",
  kernelVersion: "#45-Ubuntu SMP PREEMPT_DYNAMIC",
  machine: "x86_64",
};
const WINDOWS_INFO = {
  id: "mswindows",
  name: "Microsoft Windows",
  prettyName: "Windows Server 2022 Datacenter",
  version: "2022",
  versionId: "2022",
  kernelRelease: "20348",
  kernelVersion: "10.0",
  machine: "x86_64",
};

/** The one simulated node. */
export const SIM_NODE = "sim-node-1";

function resourcesOf(spec: Record<string, unknown>): Record<string, unknown> {
  const cpu = (spec.cpu ?? {}) as { cores?: number; coreFraction?: string };
  const memory = (spec.memory ?? {}) as { size?: string };
  return {
    cpu: { cores: cpu.cores ?? 1, coreFraction: cpu.coreFraction ?? "100%" },
    memory: { size: memory.size ?? "1Gi" },
  };
}

/** When the VM last reached Running (kept in status once set). */
function startedAt(vm: KubeObject): string {
  const prev = asObj(vm).status?.stats?.lastStartTime as string | undefined;
  return phaseOf(vm) === VM_PHASE.running && prev
    ? prev
    : new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** Top-level spec fields whose change takes effect only after a restart. */
function restartAwaiting(applied: Record<string, unknown>, spec: Record<string, unknown>) {
  const keys = [...new Set([...Object.keys(applied), ...Object.keys(spec)])]
    .filter((k) => k !== "runPolicy" && !jsonEqual(applied[k], spec[k]))
    .sort();
  return keys.map((k) => ({
    operation: k in applied ? (k in spec ? "replace" : "remove") : "add",
    path: k,
    ...(k in applied ? { currentValue: applied[k] } : {}),
    ...(k in spec ? { desiredValue: spec[k] } : {}),
  }));
}

export function registerVmController(ctx: DhContext): void {
  const { rt, inf } = ctx;
  inf.vms.on((_e, vm) => {
    rt.enqueue(CTRL.vm, keyOf(vm));
    // Disks show which VMs they are attached to.
    for (const d of inf.disks.list())
      if (d.metadata.namespace === vm.metadata.namespace) rt.enqueue(CTRL.disk, keyOf(d));
  });
  rt.register(CTRL.vm, (key) => reconcileVm(ctx, key));
}

async function reconcileVm(ctx: DhContext, key: string) {
  const { inf } = ctx;
  let vm = ctx.fresh.get(inf.vms, key);
  if (!vm || vm.metadata.deletionTimestamp) return;
  const ns = vm.metadata.namespace!;
  const uid = vm.metadata.uid!;
  const spec = (asObj(vm).spec ?? {}) as Record<string, unknown>;

  // Block devices: every referenced disk must exist and be provisioned.
  const missing: string[] = [];
  const devices = blockDeviceRefs(vm).map((ref) => {
    const obj =
      ref.kind === "VirtualDisk"
        ? ctx.fresh.get(inf.disks, `${ns}/${ref.name}`)
        : ref.kind === "VirtualImage"
          ? ctx.fresh.get(inf.images, `${ns}/${ref.name}`)
          : ctx.fresh.get(inf.clusterImages, ref.name);
    const p = phaseOf(obj);
    const ok =
      ref.kind === "VirtualDisk"
        ? p === DISK_PHASE.ready || p === DISK_PHASE.resizing
        : p === "Ready";
    if (!ok) missing.push(`${ref.kind} "${ref.name}"`);
    const size =
      ref.kind === "VirtualDisk"
        ? ((obj && (asObj(obj).status?.capacity as string | undefined)) ?? "0")
        : ((obj && (asObj(obj).status?.size?.unpacked as string | undefined)) ?? "0");
    return { ref, size, ok };
  });

  // Migrating is Running on the move: the power logic treats it as Running.
  const current = phaseOf(vm) === VM_PHASE.migrating ? VM_PHASE.running : phaseOf(vm);
  const want = wantsPower(vm);
  const sinceKey = `${uid}/power`;
  let next: string;
  let requeueAfterMs: number | undefined;
  const transitionMs = powerTransitionMs(vm, POWER_TRANSITION_MS);
  const transition = (target: string, done: string) => {
    if (current !== target) {
      ctx.since.set(sinceKey, Date.now());
      requeueAfterMs = transitionMs;
      return target;
    }
    const remaining = (ctx.since.get(sinceKey) ?? 0) + transitionMs - Date.now();
    if (remaining > 0) {
      requeueAfterMs = remaining;
      return target;
    }
    ctx.since.delete(sinceKey);
    return done;
  };
  if (missing.length && current !== VM_PHASE.running) next = VM_PHASE.pending;
  else if (want)
    next =
      current === VM_PHASE.running
        ? VM_PHASE.running
        : transition(VM_PHASE.starting, VM_PHASE.running);
  else
    next =
      current === VM_PHASE.running || current === VM_PHASE.starting || current === VM_PHASE.stopping
        ? transition(VM_PHASE.stopping, VM_PHASE.stopped)
        : VM_PHASE.stopped;

  // The spec the guest runs with: recorded at start, cleared at stop.
  const applied = parseJson<Record<string, unknown>>(annotation(vm, DH_SIM.appliedSpec));
  if (next === VM_PHASE.running && current !== VM_PHASE.running) {
    vm = await patch(ctx, inf.vms, vm, {
      metadata: { annotations: { [DH_SIM.appliedSpec]: JSON.stringify(spec) } },
    });
  } else if (next === VM_PHASE.stopped && applied) {
    vm = await patch(ctx, inf.vms, vm, {
      metadata: { annotations: { [DH_SIM.appliedSpec]: null } },
    });
  }
  const running = next === VM_PHASE.running;
  const awaiting = running && applied ? restartAwaiting(applied, spec) : [];
  const agent = running && hasGuestAgent(vm);

  const conditions = [
    missing.length
      ? cond(
          "BlockDevicesReady",
          false,
          "BlockDevicesNotReady",
          `Waiting for ${missing.join(", ")} to be ready.`,
        )
      : cond("BlockDevicesReady", true, "BlockDevicesReady"),
    agent
      ? cond("AgentReady", true, "AgentReady")
      : cond(
          "AgentReady",
          false,
          "AgentNotReady",
          running ? "The guest agent is not connected." : "The virtual machine is not running.",
        ),
  ];
  if (awaiting.length)
    conditions.push(
      cond(
        "AwaitingRestartToApplyConfiguration",
        true,
        "RestartAwaitingChangesExist",
        `Changes to ${awaiting.map((a) => a.path).join(", ")} take effect after a restart.`,
      ),
    );
  const maintenance = annotation(vm, DH_SIM.maintenance);
  if (maintenance)
    conditions.push(
      cond(
        "Maintenance",
        true,
        "MaintenanceRestore",
        `In maintenance for VirtualMachineOperation "${maintenance}".`,
      ),
    );
  const drop = [
    ...(awaiting.length ? [] : ["AwaitingRestartToApplyConfiguration"]),
    ...(maintenance ? [] : ["Maintenance"]),
  ];
  // A running VM that a Migrate/Evict operation moves is Migrating until it finishes.
  const migration = annotation(vm, DH_SIM.migrating);
  const migrating =
    running &&
    migration !== undefined &&
    phaseOf(ctx.fresh.get(inf.vmops, `${ns}/${migration}`)) === "InProgress";
  await writeStatus(ctx, inf.vms, vm, {
    phase: migrating ? VM_PHASE.migrating : next,
    ipAddress: ipAddressOf(vm),
    virtualMachineIPAddressName:
      (spec.virtualMachineIPAddressName as string | undefined) ?? vm.metadata.name,
    blockDeviceRefs: devices.map((d) => ({
      kind: d.ref.kind,
      name: d.ref.name,
      size: d.size,
      attached: running && d.ok,
    })),
    // What the guest runs with: the applied spec while running, else the spec.
    resources: resourcesOf(running && applied ? applied : spec),
    nodeName: running ? SIM_NODE : undefined,
    stats: running ? { lastStartTime: startedAt(vm) } : undefined,
    guestOSInfo: agent ? (guestOs(vm) === "windows" ? WINDOWS_INFO : LINUX_INFO) : undefined,
    restartAwaitingChanges: awaiting.length ? awaiting : undefined,
    conditions: withConditions(vm, conditions, drop),
    observedGeneration: vm.metadata.generation,
  });
  return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
}
