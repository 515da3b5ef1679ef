// The package version, read without loading anything else (`vmsnap --version` is the fast path).
// The single executable (scripts/sea/build.ts) has no package.json beside it: its bundler defines
// VMSNAP_VERSION instead.
import { createRequire } from "node:module";

declare const VMSNAP_VERSION: string | undefined;

export function version(): string {
  if (typeof VMSNAP_VERSION === "string") return VMSNAP_VERSION;
  const require = createRequire(import.meta.url);
  return (require("../package.json") as { version: string }).version;
}
