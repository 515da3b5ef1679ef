// Waiting for a snapshot to be ready: the platform's watch, its own deadline plus a short grace,
// and a failure reported with the platform's diagnosis (a failed snapshot is an error).
import { advice, type Advice } from "../core/advice.js";
import { ErrorCode, VmsnapError, deadlineExceeded, operationFailed } from "../core/errors.js";
import { goDuration } from "../core/duration.js";
import type { Snapshot } from "../core/schema.js";
import type { SnapshotPlatform, WaitOptions } from "../platforms/types.js";
import { step } from "./common.js";
import type { Session } from "./session.js";

export const DEFAULT_SNAPSHOT_TIMEOUT_MS = 5 * 60_000;
/** The platform enforces a snapshot's own deadline; the grace lets its verdict arrive first. */
export const DEADLINE_GRACE_MS = 5_000;

/** What a wait needs to know of one kind of snapshot. */
export interface SnapshotWaiter {
  wait(options: WaitOptions): Promise<Snapshot>;
  read(): Promise<Snapshot | undefined>;
  /** The snapshot failed at its own deadline (reported as DeadlineExceeded). */
  failedByDeadline(snapshot: Snapshot): boolean;
}

/** A VM snapshot of this platform. */
export function vmSnapshotWaiter(
  platform: SnapshotPlatform,
  namespace: string,
  name: string,
): SnapshotWaiter {
  return {
    wait: (options) => platform.waitSnapshot(namespace, name, options),
    read: () => platform.getSnapshot(namespace, name),
    failedByDeadline: (s) => platform.failedByDeadline(s),
  };
}

/** Waits for a VM snapshot to be ready; a failed one is an error carrying its diagnosis. */
export function waitForSnapshot(
  session: Session,
  platform: SnapshotPlatform,
  ns: string,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Snapshot> {
  return waitForSnapshotWith(
    session,
    vmSnapshotWaiter(platform, ns, name),
    ns,
    name,
    timeoutMs,
    signal,
  );
}

const lines = (items: readonly string[]) => items.map((d) => `  - ${d}`).join("\n");

/** waitForSnapshot with the platform's wait and read of this kind of snapshot. */
export async function waitForSnapshotWith(
  session: Session,
  waiter: SnapshotWaiter,
  ns: string,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Snapshot> {
  const causes: Advice = advice`see ${{ do: "describe", namespace: ns, snapshot: name }} for the causes`;
  const snapshot = await step(() =>
    waiter.wait({ timeoutMs: timeoutMs + DEADLINE_GRACE_MS, onProgress: session.progress, signal }),
  ).catch(async (err: unknown) => {
    if (!(err instanceof VmsnapError && err.code === ErrorCode.DeadlineExceeded)) throw err;
    const now = await step(waiter.read).catch(() => undefined);
    const diagnosis = now?.diagnosis ?? [];
    throw deadlineExceeded(
      `snapshot ${ns}/${name} (phase ${now?.phase ?? "unknown"}) did not complete within its failureDeadline (${goDuration(timeoutMs)})${
        diagnosis.length ? `\n${lines(diagnosis)}` : ""
      }`,
      causes,
      { snapshot: now },
    );
  });
  if (snapshot.phase === "Failed") {
    const why = snapshot.diagnosis.length ? `\n${lines(snapshot.diagnosis)}` : "";
    const message = `snapshot ${ns}/${name} failed${snapshot.error ? `: ${snapshot.error}` : ""}${why}`;
    if (waiter.failedByDeadline(snapshot)) throw deadlineExceeded(message, causes, { snapshot });
    throw operationFailed(message, causes, { snapshot });
  }
  return snapshot;
}
