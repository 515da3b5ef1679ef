// The simulators' test hooks: annotations, the same keys on every platform (SPEC §8).
import type { KubeObject } from "../../kube/resources.js";
import { parseDuration } from "../../core/duration.js";

export { parseDuration };

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
  /**
   * Extension: how long the VM stays Starting or Stopping (a Go duration; default a few hundred
   * ms). A long one ("1h") holds it there; changing or removing the annotation lets it go on.
   */
  powerTransition: "sim.vmsnap.io/power-transition-duration",
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

export function snapshotDelayMs(vm: KubeObject | undefined): number {
  return parseDuration(annotation(vm, SIM.snapshotDelay)) ?? DEFAULT_SNAPSHOT_DELAY_MS;
}

/** How long the VM stays Starting or Stopping: its hook, else `defaultMs`. */
export function powerTransitionMs(vm: KubeObject | undefined, defaultMs: number): number {
  return parseDuration(annotation(vm, SIM.powerTransition)) ?? defaultMs;
}
