// Bulk create's input rules (pure): the label selector and the concurrency bound, checked before
// any request is sent.
import { invalidInput } from "./errors.js";

/** VMs worked on at once (dry runs, creates, stops); the rate limit bounds the request rate. */
export const DEFAULT_PARALLEL = 16;
export const MAX_PARALLEL = 256;
// A label selector as kubectl accepts it: keys, values, operators, sets; no control characters.
const SELECTOR_PATTERN = /^[A-Za-z0-9_./\-=!,() ]+$/;

export function validateSelector(selector: string): string {
  const s = selector.trim();
  if (!s || s.length > 256 || !SELECTOR_PATTERN.test(s))
    throw invalidInput(
      `invalid label selector ${JSON.stringify(selector)}`,
      "use a label selector such as app=web or 'tier in (db,cache)'",
    );
  return s;
}

export function validateParallel(value: number | undefined): number {
  const n = value ?? DEFAULT_PARALLEL;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARALLEL)
    throw invalidInput(
      `invalid --parallel ${value}`,
      `use a whole number from 1 to ${MAX_PARALLEL}`,
    );
  return n;
}
