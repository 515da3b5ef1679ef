// Interrupts (Ctrl-C, SIGTERM, a caller's abort): the face only turns them into two signals; what
// an interrupt means is decided here, once. The first stops the operation at the next safe point:
// nothing more is written except the cleanup (a VM vmsnap stopped is started again when no restore
// is under way), and the error reports where things stand. The second abandons that cleanup: the
// report then says what is left to do by hand, instead of leaving a stopped VM behind silently.
import { ErrorCode, VmsnapError, type Hint } from "../core/errors.js";

export interface Interrupt {
  /** Stop at the next safe point, clean up, report. */
  signal?: AbortSignal;
  /** Stop cleaning up, report now (a second Ctrl-C). */
  abandon?: AbortSignal;
}

/** What was interrupted, e.g. "SIGINT" (the signal's reason when it is a string). */
export function interruptName(signal: AbortSignal): string {
  return typeof signal.reason === "string" ? signal.reason : "an abort";
}

/** The error of an interrupted operation: Cancelled (exit 3), with what was interrupted. */
export function interrupted(
  signal: AbortSignal,
  message: string,
  hint?: Hint,
  details: Record<string, unknown> = {},
): VmsnapError {
  return new VmsnapError(
    ErrorCode.Cancelled,
    `interrupted (${interruptName(signal)}): ${message}`,
    hint,
    { ...details, interrupted: interruptName(signal) },
  );
}

/** Throws the interruption when the signal has fired (a safe point between two steps). */
export function checkpoint(signal: AbortSignal | undefined, message: string): void {
  if (signal?.aborted) throw interrupted(signal, message);
}

/**
 * Settles with the promise, or rejects as soon as the signal fires (with what onAbort makes).
 * The promise itself goes on (a request in flight cannot be called back); only the wait ends.
 */
export function unlessAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => unknown,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      promise.catch(() => undefined);
      reject(onAbort());
    };
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", abort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(err);
      },
    );
  });
}

/** Reads and plans, interruptible: nothing has been written yet. */
export function beforeAnyWrite<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  return unlessAborted(promise, signal, () =>
    interrupted(signal!, "nothing was changed", undefined, { changed: false }),
  );
}
