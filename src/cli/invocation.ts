// The name the CLI was started as: `vmsnap`, `kubectl-vmsnap` (kubectl runs it as a plugin) or
// `kubectl_complete-vmsnap` (kubectl ≥ 1.26 asks it to complete a plugin's arguments).
import path from "node:path";
import { isSea } from "node:sea";

export const KUBECTL_PLUGIN = "kubectl-vmsnap";
export const KUBECTL_COMPLETION = "kubectl_complete-vmsnap";

export function invokedName(): string {
  // Under node, argv[1] is the script as started (a symlink keeps its own name). A single
  // executable's argv[1] is its own resolved path: the name it was started by is argv0.
  const started = isSea() ? process.argv0 : (process.argv[1] ?? "vmsnap");
  return path.basename(started);
}
