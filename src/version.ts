// The package version, read without loading anything else (`vmsnap --version` is the fast path).
// The single executable (scripts/sea/build.ts) has no package.json beside it: its bundler defines
// VMSNAP_VERSION instead.
declare const VMSNAP_VERSION: string | undefined;

export function version(): string {
  if (typeof VMSNAP_VERSION === "string") return VMSNAP_VERSION;
  // node:module is taken when needed (not by the executable: loading it loads source-map support).
  const require = process.getBuiltinModule("node:module").createRequire(import.meta.url);
  return (require("../package.json") as { version: string }).version;
}
