// The simulators' test hooks: annotations, the same keys on every platform (SPEC §8).
import type { KubeObject } from "../../kube/resources.js";

export const SIM = {
  guestAgent: "sim.vmsnap.io/guest-agent",
  guestOs: "sim.vmsnap.io/guest-os",
  fail: "sim.vmsnap.io/fail",
  snapshotDelay: "sim.vmsnap.io/snapshot-delay",
  data: "sim.vmsnap.io/data",
  /** Extension: the VM is paused (KubeVirt's pause subresource does not exist in the playground). */
  paused: "sim.vmsnap.io/paused",
  /** Extension: comma-separated PVC names hot-plugged into the running VMI only (not persisted). */
  hotplugVolumes: "sim.vmsnap.io/hotplug-volumes",
} as const;

export type FailureMode = "freeze" | "volume-snapshot" | "stuck";

export const DEFAULT_SNAPSHOT_DELAY_MS = 300;

export function annotation(obj: KubeObject | undefined, key: string): string | undefined {
  return obj?.metadata.annotations?.[key];
}

export function hasGuestAgent(vm: KubeObject): boolean {
  return annotation(vm, SIM.guestAgent) === "true";
}

export function guestOs(vm: KubeObject): "linux" | "windows" {
  return annotation(vm, SIM.guestOs) === "windows" ? "windows" : "linux";
}

export function failures(vm: KubeObject | undefined): Set<FailureMode> {
  const raw = annotation(vm, SIM.fail) ?? "";
  return new Set(
    raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean) as FailureMode[],
  );
}

export function isPaused(vm: KubeObject): boolean {
  return annotation(vm, SIM.paused) === "true";
}

/** Parses Go-style durations as used in annotations and failureDeadline ("2s", "1m30s", "500ms"). */
export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === "h" ? n * 3_600_000 : m[2] === "m" ? n * 60_000 : m[2] === "s" ? n * 1000 : n;
    consumed += m[0].length;
  }
  return consumed === text.length ? total : undefined;
}

export function snapshotDelayMs(vm: KubeObject | undefined): number {
  return parseDuration(annotation(vm, SIM.snapshotDelay)) ?? DEFAULT_SNAPSHOT_DELAY_MS;
}
