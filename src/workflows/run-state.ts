// Stopping and starting a VM for an operation the user chose it for (create --stop, a restore of
// a running VM): a patch of the VM, or an operation object (Deckhouse), through the write guard.
import { OperationInProgressError } from "../platforms/errors.js";
import type { SnapshotPlatform, VmState } from "../platforms/types.js";
import { step } from "./common.js";
import type { Session } from "./session.js";

export const VM_STOP_TIMEOUT_MS = 5 * 60_000;
export const VM_UNLOCK_TIMEOUT_MS = 60_000;

/**
 * Sends a run-state change: a patch of the VM, or an operation object (Deckhouse). A platform's
 * refusal (its admission webhook: another operation of the VM holds it) becomes its typed error.
 */
export async function applyRunState(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
  running: boolean,
  dryRun = false,
): Promise<void> {
  const change = platform.runStateChange(vm, running);
  try {
    if (change.kind === "patch")
      await session.guard.patch(change.type, vm.name, vm.namespace, change.patch, { dryRun });
    else await session.guard.create(change.manifest.type, change.manifest.body, { dryRun });
  } catch (err) {
    throw platform.explainRefusal(err) ?? err;
  }
}

/** The API server validates the stop (dryRun=All) while planning. */
export async function dryRunStop(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
): Promise<void> {
  await step(() => applyRunState(session, platform, vm, false, true));
}

/**
 * Waits until no operation of the VM is unfinished, where the platform runs one at a time
 * (Deckhouse): the next operation is sent only after the last one finished.
 */
export async function waitOperationsIdle(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
  signal?: AbortSignal,
): Promise<void> {
  if (!platform.waitOperationsIdle) return;
  await step(() =>
    platform.waitOperationsIdle!(vm, {
      timeoutMs: VM_STOP_TIMEOUT_MS,
      onProgress: session.progress,
      signal,
    }),
  );
}

/** Sends the stop of a VM (the user chose it), without waiting for the VM. */
export async function sendStop(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
  signal?: AbortSignal,
): Promise<void> {
  await waitOperationsIdle(session, platform, vm, signal);
  session.progress(`stopping VM ${vm.name}`);
  await step(() => applyRunState(session, platform, vm, false));
}

/** Waits until a VM vmsnap stopped is stopped. */
export async function waitStopped(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
  signal?: AbortSignal,
): Promise<void> {
  await step(() =>
    platform.waitVmStopped(vm, {
      timeoutMs: VM_STOP_TIMEOUT_MS,
      onProgress: session.progress,
      signal,
    }),
  );
}

/** Puts the VM's run setting back after a stop vmsnap made. */
export async function startVm(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
): Promise<void> {
  await waitOperationsIdle(session, platform, vm);
  session.progress(
    platform.startNotByRunSetting?.(vm)
      ? `putting back the run setting of VM ${vm.name}`
      : `starting VM ${vm.name} again`,
  );
  await step(() => sendStartWhenUnlocked(session, platform, vm));
}

/**
 * Sends the start once no snapshot or restore holds the VM's run state. A snapshot's lock
 * outlives its readiness by a moment (KubeVirt releases it one reconcile later), and a lock may
 * appear between the look and the start: a start refused for a lock is sent again after the next
 * unlock, until `timeoutMs` or an interrupt (`signal`). A lock that stays is the refusal, which
 * names what holds the VM.
 */
export async function sendStartWhenUnlocked(
  session: Session,
  platform: SnapshotPlatform,
  vm: VmState,
  signal?: AbortSignal,
  timeoutMs = VM_UNLOCK_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = Math.max(1, deadline - Date.now());
    await platform.waitVmUnlocked?.(vm, { timeoutMs: left, signal }).catch(() => {});
    try {
      await applyRunState(session, platform, vm, true);
      return;
    } catch (err) {
      // An interrupt ends the waiting, not the start (the start is the cleanup): not sent again.
      // Only a lock the platform lets us watch for is waited out (KubeVirt's); any other
      // operation holding the VM is the refusal itself.
      if (
        !(err instanceof OperationInProgressError) ||
        !platform.waitVmUnlocked ||
        Date.now() >= deadline ||
        signal?.aborted
      )
        throw err;
      // The admission webhook's view of the VM may trail the one just read: a moment's pause
      // before looking again, so a refusal is not answered by a burst of starts.
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
