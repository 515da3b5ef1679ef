// The one list of supported platform names. Everything else about a platform lives in
// src/platforms/<name>; other layers only carry the name.
import { invalidInput } from "./errors.js";

export const PLATFORM_NAMES = ["kubevirt", "deckhouse", "vmoperator"] as const;
export type PlatformName = (typeof PLATFORM_NAMES)[number];
export type PlatformChoice = "auto" | PlatformName;

export function isPlatformName(value: string): value is PlatformName {
  return (PLATFORM_NAMES as readonly string[]).includes(value);
}

/** `--platform` (CLI) or the server option: auto, or one of the names. */
export function parsePlatformChoice(value: string | undefined): PlatformChoice {
  const v = value ?? "auto";
  if (v === "auto" || isPlatformName(v)) return v;
  throw invalidInput(
    `invalid platform ${JSON.stringify(v)}`,
    `use auto, ${PLATFORM_NAMES.slice(0, -1).join(", ")} or ${PLATFORM_NAMES.at(-1)}`,
  );
}
