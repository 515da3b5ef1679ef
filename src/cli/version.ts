// The package version, read without loading anything else (`vmsnap --version` is the fast path).
import { createRequire } from "node:module";

export function version(): string {
  const require = createRequire(import.meta.url);
  return (require("../../package.json") as { version: string }).version;
}
