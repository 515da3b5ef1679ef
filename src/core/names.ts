// Name validation (SPEC §3.1): every name that reaches a manifest or a URL passes through here,
// before any request is sent.
import { invalidInput } from "./errors.js";

export const NAME_PATTERN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 63;

export type NameKind =
  "VM" | "namespace" | "snapshot" | "restore" | "clone target" | "disk" | "policy";

/** Why a name is invalid, or undefined when it is valid. */
export function nameProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0) return "it is empty";
  if (value.length > NAME_MAX_LENGTH)
    return `it is ${value.length} characters long (at most ${NAME_MAX_LENGTH})`;
  if (!NAME_PATTERN.test(value)) {
    return "only lowercase letters, digits, '-' and '.' are allowed, starting and ending with a letter or digit";
  }
  return undefined;
}

export function validateName(kind: NameKind, value: unknown): string {
  const problem = nameProblem(value);
  if (problem) {
    throw invalidInput(
      `invalid ${kind} name ${JSON.stringify(value)}: ${problem}`,
      `a ${kind} name must match ${NAME_PATTERN.source}`,
    );
  }
  return value as string;
}

/** `<base><suffix>`, shortening base so the result is a valid name (generated names). */
export function fitName(base: string, suffix: string, max = NAME_MAX_LENGTH): string {
  const room = max - suffix.length;
  let head = base.slice(0, Math.max(1, room));
  head = head.replace(/[.-]+$/, "");
  return `${head}${suffix}`;
}

export function timestamp(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

/** Default snapshot name (SPEC §6): `<vm>-snapshot-<YYYYMMDD-HHMMSS>` (UTC). */
export function defaultSnapshotName(vm: string, now: Date): string {
  return fitName(vm, `-snapshot-${timestamp(now)}`);
}

/** Safety snapshot name (SPEC §3.6): `<vm>-pre-restore-<YYYYMMDD-HHMMSS>` (UTC). */
export function safetySnapshotName(vm: string, now: Date): string {
  return fitName(vm, `-pre-restore-${timestamp(now)}`);
}

/**
 * `name` for the first of its second, `name-<n>` (shortened to stay a valid name) for the n-th:
 * how a restore names its safety snapshot and restore object when the second's name is taken.
 */
export function numberedName(name: string, n: number): string {
  if (n === 1) return name;
  const suffix = `-${n}`;
  return `${name.slice(0, NAME_MAX_LENGTH - suffix.length).replace(/[.-]+$/, "")}${suffix}`;
}
