// Typed errors, each mapped once to the exit codes of SPEC §6 (and to MCP error codes).

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

export class VmsnapError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** What the user can do about it. */
    readonly hint?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = `VmsnapError(${code})`;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export const invalidInput = (message: string, hint?: string) =>
  new VmsnapError(ErrorCode.InvalidInput, message, hint);
export const cancelled = (message: string, hint?: string) =>
  new VmsnapError(ErrorCode.Cancelled, message, hint);
export const notFound = (message: string, hint?: string) =>
  new VmsnapError(ErrorCode.NotFound, message, hint);
export const conflict = (message: string, hint?: string) =>
  new VmsnapError(ErrorCode.Conflict, message, hint);
export const operationFailed = (
  message: string,
  hint?: string,
  details?: Record<string, unknown>,
) => new VmsnapError(ErrorCode.OperationFailed, message, hint, details);
