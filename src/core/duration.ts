// Go-style durations ("90s", "5m", "1m30s", "500ms"), as used by failureDeadline and CLI flags.
import { invalidInput } from "./errors.js";

/** Milliseconds, or undefined when the text is not a duration. "0" is 0. */
export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (text === "0") return 0;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    const n = Number(m[1]);
    total += m[2] === "h" ? n * 3_600_000 : m[2] === "m" ? n * 60_000 : m[2] === "s" ? n * 1000 : n;
    consumed += m[0].length;
  }
  return consumed === text.length ? total : undefined;
}

/** Go duration text for milliseconds, whole seconds: 90000 → "1m30s". */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${sec || (!h && !m) ? `${sec}s` : ""}`;
}

/** VM Operator documents a quiesce timeout of 5 to 240 minutes. */
export function validateQuiesceTimeout(text: string | undefined): void {
  if (text === undefined) return;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 5 * 60_000 || ms > 240 * 60_000) {
    throw invalidInput(
      `invalid quiesce timeout ${JSON.stringify(text)}: VM Operator accepts 5 to 240 minutes`,
      "use a duration such as 10m or 1h",
    );
  }
}
