// krew, built once from its published Go module into ~/.cache/vmsnap (never into the repository),
// to install vmsnap's plugin archive the way a user does.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { cacheRoot } from "../../src/playground/binaries.js";

export const KREW_VERSION = "0.4.3";

export interface Krew {
  /** The krew binary; kubectl finds it on PATH as kubectl-krew. */
  krew: string;
  /** krew's manifest validator (the one its plugin index uses). */
  validateManifest: string;
}

function goBinary(): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, "go"))) return path.join(dir, "go");
  }
  if (existsSync("/usr/local/go/bin/go")) return "/usr/local/go/bin/go";
  throw new Error("Go is needed once to build krew (sigs.k8s.io/krew) and is not installed");
}

export async function ensureKrew(log: (line: string) => void = () => {}): Promise<Krew> {
  const bin = path.join(cacheRoot(), `krew-v${KREW_VERSION}`, "bin");
  const found: Krew = {
    krew: path.join(bin, "krew"),
    validateManifest: path.join(bin, "validate-krew-manifest"),
  };
  if (existsSync(found.krew) && existsSync(found.validateManifest)) return found;
  await mkdir(bin, { recursive: true });
  // Built into a fresh directory and moved into place: a concurrent build never sees half a file.
  const tmp = await mkdtemp(path.join(bin, ".build-"));
  const started = Date.now();
  log(`building krew v${KREW_VERSION} from its Go module into ${bin} (once)`);
  try {
    await promisify(execFile)(
      goBinary(),
      [
        "install",
        "-trimpath",
        `sigs.k8s.io/krew/cmd/krew@v${KREW_VERSION}`,
        `sigs.k8s.io/krew/cmd/validate-krew-manifest@v${KREW_VERSION}`,
      ],
      {
        env: { ...process.env, GOBIN: tmp, CGO_ENABLED: "0", GOFLAGS: "-mod=mod" },
        maxBuffer: 64 << 20,
      },
    );
    await rename(path.join(tmp, "validate-krew-manifest"), found.validateManifest);
    await rename(path.join(tmp, "krew"), found.krew);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  log(`krew built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return found;
}
