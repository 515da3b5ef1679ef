// Typed errors, each mapped once to the exit codes of SPEC §6 (and to MCP error codes). What the
// user can do about an error is advice (src/core/advice.ts), phrased by the face that shows it.
import { phrase, plainWords, toAdvice, type Advice } from "./advice.js";

export const ErrorCode = {
  OperationFailed: "OperationFailed",
  PreflightBlocked: "PreflightBlocked",
  InvalidInput: "InvalidInput",
  Cancelled: "Cancelled",
  NotFound: "NotFound",
  Forbidden: "Forbidden",
  DeadlineExceeded: "DeadlineExceeded",
  Conflict: "Conflict",
  Unreachable: "Unreachable",
  NoPlatform: "NoPlatform",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const EXIT_CODES: Record<ErrorCode, number> = {
  OperationFailed: 1,
  PreflightBlocked: 1,
  InvalidInput: 2,
  Cancelled: 3,
  NotFound: 4,
  Forbidden: 5,
  DeadlineExceeded: 6,
  Conflict: 7,
  Unreachable: 8,
  NoPlatform: 8,
};

export type Hint = string | Advice;

export class VmsnapError extends Error {
  /** What the user can do about it, as data: each face phrases it. */
  readonly advice?: Advice;

  constructor(
    readonly code: ErrorCode,
    message: string,
    hint?: Hint,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = `VmsnapError(${code})`;
    this.advice = toAdvice(hint);
  }

  /** The advice in neutral words (faces use their own: src/report/words.ts). */
  get hint(): string | undefined {
    return phrase(this.advice, plainWords);
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export const invalidInput = (message: string, hint?: Hint) =>
  new VmsnapError(ErrorCode.InvalidInput, message, hint);
export const cancelled = (message: string, hint?: Hint) =>
  new VmsnapError(ErrorCode.Cancelled, message, hint);
export const notFound = (message: string, hint?: Hint) =>
  new VmsnapError(ErrorCode.NotFound, message, hint);
/** A VM or snapshot that was looked for by name (the faces add the close names: "did you mean"). */
export interface MissingName {
  kind: "VM" | "snapshot";
  namespace: string;
  name: string;
}

/** NotFound of a name the user gave: tagged, so that a face can look for what they meant. */
export const nameNotFound = (missing: MissingName, message: string, hint?: Hint) =>
  new VmsnapError(ErrorCode.NotFound, message, hint, { missing });

/** The name a NotFound error was about, when it was tagged by nameNotFound. */
export function missingNameOf(err: unknown): MissingName | undefined {
  if (!(err instanceof VmsnapError) || err.code !== ErrorCode.NotFound) return undefined;
  const m = err.details?.missing as MissingName | undefined;
  return m && typeof m.name === "string" ? m : undefined;
}

export const conflict = (message: string, hint?: Hint, details?: Record<string, unknown>) =>
  new VmsnapError(ErrorCode.Conflict, message, hint, details);
export const operationFailed = (message: string, hint?: Hint, details?: Record<string, unknown>) =>
  new VmsnapError(ErrorCode.OperationFailed, message, hint, details);
export const deadlineExceeded = (message: string, hint?: Hint, details?: Record<string, unknown>) =>
  new VmsnapError(ErrorCode.DeadlineExceeded, message, hint, details);
