// guard: a change (an upgrade) under a snapshot. Snapshot the VM (plan → the human's yes →
// create → ready), run the change, and when it fails offer the restore of that snapshot with the
// restore's own plan and confirmation (typed name, final yes, and the running-VM choice). The
// restore is never made without that confirmation; when no one can give it, the result says how
// to restore. An interrupt (Ctrl-C, SIGTERM) while the change runs is the user stopping: nothing
// is restored, not even with a script's confirmation given ahead for a failure; the error (exit 3)
// states where the VM stands and how to restore the snapshot taken before the change.
import { advice, phrase } from "../core/advice.js";
import type { ConfirmationPort } from "../core/confirmation.js";
import { ErrorCode, VmsnapError } from "../core/errors.js";
import { API_VERSION } from "../core/api-version.js";
import type { Guard } from "../core/schema.js";
import { planCreate } from "./create.js";
import { settle } from "./execute.js";
import { checkpoint, interrupted, unlessAborted } from "./interrupt.js";
import { planRestore } from "./restore.js";
import type { Session } from "./session.js";

export interface GuardRequest {
  vm: string;
  /** The snapshot's name (scripts that confirm the restore ahead need to know it). */
  name?: string;
  /** What the change is, for the report (e.g. the command line). */
  change: string;
  /** When the change fails: ask for the restore (false: only report how to restore). */
  offerRestore: boolean;
}

export interface ChangeOutcome {
  succeeded: boolean;
  exitCode: number | null;
  signal: string | null;
}

export async function guard(
  session: Session,
  req: GuardRequest,
  /** Runs the change; the signal fires on an interrupt (the face passes it on to the change). */
  runChange: (interrupt: AbortSignal | undefined) => Promise<ChangeOutcome>,
  port?: ConfirmationPort,
): Promise<Guard> {
  const ns = session.namespace;
  const plan = await planCreate(session, { vm: req.vm, name: req.name });
  const snapshot = await settle(session, plan, { port });
  if (!snapshot.readyToUse)
    throw new VmsnapError(
      ErrorCode.OperationFailed,
      `snapshot ${snapshot.name} of VM ${ns}/${req.vm} is not ready (${snapshot.phase}): the change was not run`,
    );
  const { signal, abandon } = session.interrupt;
  checkpoint(
    signal,
    `snapshot ${ns}/${snapshot.name} of VM ${req.vm} is ready; the change was not run`,
  );
  session.progress(`snapshot ${snapshot.name} ready; running the change`);
  const outcome = await runChange(signal);
  if (signal?.aborted) {
    // Where the VM stands now, as the interrupted change left it (a second interrupt: not waited for).
    const vm = await unlessAborted(
      plan.platform.getVm(ns, req.vm, { fresh: true }),
      abandon,
      () => new Error("not read: interrupted again"),
    ).then(
      (v) => `${v.status}${v.running ? " (running)" : ""}`,
      (err: unknown) => `unknown (${(err as Error).message})`,
    );
    const ended =
      outcome.signal !== null
        ? `ended by signal ${outcome.signal}`
        : outcome.exitCode !== null
          ? `exited with code ${outcome.exitCode}`
          : "could not be run";
    const state = [
      `change \`${req.change}\`: interrupted, ${ended}`,
      `VM ${ns}/${req.vm}: ${vm} — as the change left it; nothing was restored`,
      `snapshot ${ns}/${snapshot.name}: ready, taken before the change`,
    ];
    throw interrupted(
      signal,
      `the guarded change of VM ${ns}/${req.vm} was stopped\nstate now:\n${state.map((l) => `  - ${l}`).join("\n")}`,
      advice`to go back to before the change, restore it with ${{ do: "restore", namespace: ns, vm: req.vm, snapshot: snapshot.name }}`,
      {
        state,
        vm: req.vm,
        snapshot: snapshot.name,
        exitCode: outcome.exitCode,
        signal: outcome.signal,
      },
    );
  }
  const result: Guard = {
    apiVersion: API_VERSION,
    kind: "Guard",
    namespace: ns,
    vm: req.vm,
    snapshot: snapshot.name,
    change: req.change,
    succeeded: outcome.succeeded,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    restore: null,
    restoreNote: null,
  };
  if (outcome.succeeded) return result;
  const howTo = phrase(
    advice`restore it with ${{ do: "restore", namespace: ns, vm: req.vm, snapshot: snapshot.name }}`,
    session.words,
  );
  if (!req.offerRestore)
    return { ...result, restoreNote: `the change failed; nothing was restored: ${howTo}` };
  try {
    const plan = await planRestore(session, { vm: req.vm, snapshot: snapshot.name });
    const restore = await settle(session, plan, { port });
    return { ...result, restore };
  } catch (err) {
    if (err instanceof VmsnapError && err.code === ErrorCode.Cancelled)
      return {
        ...result,
        restoreNote: `the change failed; the restore was not confirmed (${err.message}): ${howTo}`,
      };
    throw err;
  }
}
