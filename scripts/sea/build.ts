// The single executable (a Node SEA: the CLI bundled into one script, injected into Node 24's own
// binary) for linux-amd64 and linux-arm64, their release archives, and the krew plugin manifest
// that installs them as `kubectl vmsnap`.
//
//   npm run package [-- --arch amd64,arm64] [--out release] [--base-url URL]
//
// Layout of the executable: a small main script (loader.cjs) answers `--version` by itself and
// otherwise compiles the bundled CLI, stored as an asset, with a V8 code cache made at build time
// by running a `list` (code-cache.cjs) — so a command starts without compiling what it runs.
// Node 24 for both architectures comes from the npm registry's node-linux-<arch> package
// (scripts/node.sh, cached in ~/.cache/vmsnap). Only the amd64 executable has the code cache: it
// is made by running the building machine's Node, which cannot run the arm64 one.
// Nothing here is written into the repository except under release/ (ignored by git).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";

const root = path.resolve(import.meta.dirname, "..", "..");
const require = createRequire(import.meta.url);

export type Arch = "amd64" | "arm64";
export const ARCHES: Arch[] = ["amd64", "arm64"];
/** The plugin's name for krew and kubectl (`kubectl vmsnap`). */
export const PLUGIN_BINARY = "kubectl-vmsnap";
/** Where release artefacts go unless told otherwise. */
export const RELEASE_DIR = path.join(root, "release");
/** Placeholder until the project publishes its archives somewhere: krew needs a URI per platform. */
export const DEFAULT_BASE_URL = "https://example.invalid/vmsnap/releases/download";
// The fuse Node looks for to know that a blob was injected (Node's single-executable docs).
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const NODE_ARCH: Record<Arch, string> = { amd64: "x64", arm64: "arm64" };

export interface ReleaseArchive {
  arch: Arch;
  /** The single executable itself (also inside the archive). */
  binary: string;
  archive: string;
  sha256: string;
  codeCache: boolean;
}

export interface Release {
  version: string;
  nodeVersion: string;
  bundle: string;
  archives: ReleaseArchive[];
  /** The krew manifest (`vmsnap.yaml`). */
  manifest: string;
}

export interface ReleaseOptions {
  out?: string;
  arches?: Arch[];
  baseUrl?: string;
  log?: (line: string) => void;
}

function hostArch(): Arch {
  if (process.arch === "x64") return "amd64";
  if (process.arch === "arm64") return "arm64";
  throw new Error(`no single executable for ${process.arch}`);
}

/** Node 24 for an architecture, from the npm package node-linux-<arch> (scripts/node.sh). */
export function nodeBinary(arch: Arch): string {
  return execFileSync("bash", [path.join(root, "scripts", "node.sh"), "path", NODE_ARCH[arch]], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

// How the loader calls each bundle: the CommonJS wrapper, as Node's module loader would.
const WRAP_HEAD = "(function (exports, require, module, __filename, __dirname) {";
const WRAP_TAIL = "\n})";

/**
 * Libraries that only some commands load (MCP server, schemas, client-node's kubeconfig for exec
 * plugins and the like): each group is its own asset, compiled only when first required, so
 * that a command does not pay for reading and compiling the others. Modules that share code
 * (the MCP packages; zod and zod/v4, one module) are in one group, so each exists once.
 */
export const LIBRARIES: Record<string, string[]> = {
  "client-node": ["@kubernetes/client-node"],
  mcp: [
    "@modelcontextprotocol/server",
    "@modelcontextprotocol/server/stdio",
    "@modelcontextprotocol/node",
  ],
  zod: ["zod", "zod/v4"],
};
const EXTERNAL = Object.values(LIBRARIES).flat();
// Required inside a try/catch by node-fetch (client-node's), for an optional feature: absent.
const OPTIONAL = ["encoding"];
/** Module name → [asset, export holding it]. */
const LIBRARY_MAP: Record<string, [string, string]> = Object.fromEntries(
  Object.entries(LIBRARIES).flatMap(([group, ids]) =>
    ids.map((id, i) => [id, [`lib/${group}.js`, `m${i}`]]),
  ),
);

interface Bundles {
  /** The CLI: the asset every command compiles. */
  main: string;
  /** The loader, the executable's main script. */
  loader: string;
  /** Asset name → file, the CLI included. */
  assets: Record<string, string>;
}

/**
 * The CLI and its lazily loaded libraries as CommonJS functions (an executable may only require
 * Node's own modules: the loader resolves the libraries), in ASCII (decoded as latin1), and the
 * loader with the version and the library map written in.
 */
async function bundle(out: string, version: string): Promise<Bundles> {
  const esbuild = await import("esbuild");
  const clientNode = path.join(root, "node_modules", "@kubernetes", "client-node", "dist");
  const playground = path.join(root, "src", "playground");
  const common = {
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node24",
    minify: true,
    // Names stay readable in stack traces of unexpected errors.
    keepNames: true,
    legalComments: "none",
    logLevel: "warning",
    // import.meta.url only locates files beside the package (package.json, crds/, deploy/): the
    // executable defines the version instead, and refuses the playground.
    logOverride: { "empty-import-meta": "silent" },
    define: { VMSNAP_VERSION: JSON.stringify(version) },
    // import() of a library must become the loader's require (a vm script has no module loader).
    supported: { "dynamic-import": false },
    plugins: [
      {
        // vmsnap only uses client-node's KubeConfig (src/kube/config.ts); its index re-exports the
        // whole generated API (13 MB). Resolving to config.js, marked free of side effects, lets
        // the bundler keep only what KubeConfig needs.
        name: "client-node-kubeconfig",
        setup(build) {
          build.onResolve({ filter: /^@kubernetes\/client-node$/ }, (args) =>
            args.kind === "entry-point" || args.importer === "<stdin>"
              ? { path: path.join(clientNode, "config.js"), sideEffects: false }
              : undefined,
          );
          build.onResolve({ filter: /^\./ }, (args) =>
            args.importer.startsWith(clientNode)
              ? { path: path.resolve(path.dirname(args.importer), args.path), sideEffects: false }
              : undefined,
          );
        },
      },
      {
        // tr46 (client-node's URL parsing) requires Node's deprecated punycode module, which
        // warns when required from outside node_modules — as a bundle is: the npm package of
        // the same code is bundled instead.
        name: "punycode",
        setup(build) {
          build.onResolve({ filter: /^punycode$/ }, () => ({
            path: path.join(root, "node_modules", "punycode", "punycode.js"),
          }));
        },
      },
      {
        // commander requires node:child_process at its top for one thing, running a subcommand
        // that is an executable of its own (`git`-style), which vmsnap never does: loading it
        // (and net, dgram) on every command is start-up time for nothing. Commander gets a
        // stand-in that loads the module the first time it is used.
        name: "lazy-child-process",
        setup(build) {
          build.onResolve({ filter: /^node:child_process$/ }, async (args) => {
            if (!args.importer.includes(`${path.sep}node_modules${path.sep}commander${path.sep}`))
              return undefined;
            // The stand-in has spawn alone: a commander that uses more is refused, not broken.
            const used = new Set(
              [...(await readFile(args.importer, "utf8")).matchAll(/childProcess\.(\w+)/g)].map(
                (m) => m[1],
              ),
            );
            if ([...used].some((name) => name !== "spawn"))
              throw new Error(
                `${args.importer} uses child_process.${[...used].join(", ")}: extend the stand-in`,
              );
            return { path: "child_process", namespace: "lazy-builtin" };
          });
          build.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, () => ({
            contents: [
              "let loaded;",
              'const real = () => (loaded ??= require("node:child_process"));',
              "module.exports = { spawn: (...args) => real().spawn(...args) };",
            ].join("\n"),
            loader: "js",
          }));
        },
      },
      {
        // The playground (refused by the executable) stays out of it.
        name: "no-playground",
        setup(build) {
          build.onResolve({ filter: /playground\// }, (args) =>
            !args.importer.startsWith(playground) &&
            path.resolve(args.resolveDir, args.path).startsWith(playground)
              ? { path: "playground", namespace: "refused" }
              : undefined,
          );
          build.onLoad({ filter: /.*/, namespace: "refused" }, () => ({ contents: "export {};" }));
        },
      },
    ],
  } satisfies import("esbuild").BuildOptions;

  const assets: Record<string, string> = {};
  // Every module left outside a bundle must be one the loader can give it.
  const checkExternals = (result: import("esbuild").BuildResult, what: string) => {
    for (const input of Object.values(result.metafile?.inputs ?? {}))
      for (const i of input.imports)
        if (
          i.external &&
          !i.path.startsWith("<") &&
          !isBuiltin(i.path) &&
          ![...EXTERNAL, ...OPTIONAL].includes(i.path)
        )
          throw new Error(`${what} imports ${i.path}: add it to LIBRARIES (scripts/sea/build.ts)`);
  };
  const wrap = async (file: string) => {
    const code = await readFile(file);
    if (code.some((byte) => byte > 0x7f)) throw new Error(`${file} is not ASCII`);
    const body = code.toString("latin1").replace(/^#!.*\n/, "");
    await writeFile(file, `${WRAP_HEAD}${body}${WRAP_TAIL}`, "latin1");
  };
  const main = path.join(out, "vmsnap.js");
  checkExternals(
    await esbuild.build({
      ...common,
      entryPoints: [path.join(root, "src", "cli", "main.ts")],
      outfile: main,
      external: EXTERNAL,
      metafile: true,
    }),
    "the CLI",
  );
  await wrap(main);
  assets["vmsnap.js"] = main;
  for (const [group, ids] of Object.entries(LIBRARIES)) {
    const asset = `lib/${group}.js`;
    const file = path.join(out, asset);
    const others = EXTERNAL.filter((id) => !ids.includes(id));
    checkExternals(
      await esbuild.build({
        ...common,
        stdin: {
          contents: ids.map((id, i) => `export * as m${i} from ${JSON.stringify(id)};`).join("\n"),
          resolveDir: root,
        },
        outfile: file,
        // A name marks its subpaths external too: only other groups' names are left out.
        external: others,
        metafile: true,
      }),
      group,
    );
    await wrap(file);
    assets[asset] = file;
  }
  const loader = path.join(out, "loader.cjs");
  await esbuild.build({
    entryPoints: [path.join(import.meta.dirname, "loader.cjs")],
    outfile: loader,
    platform: "node",
    format: "cjs",
    target: "node24",
    logLevel: "warning",
    define: {
      VMSNAP_VERSION: JSON.stringify(version),
      VMSNAP_LIBRARIES: JSON.stringify(LIBRARY_MAP),
    },
  });
  return { main, loader, assets };
}

/**
 * Node options of the executable (its SEA config's execArgv, Node ≥ 24.6), also given to the Node
 * that makes the code cache, so that V8 takes the cache with the flags it was made with. A young
 * generation of 4 MiB from the start instead of one that grows from 1 MiB: a `list` allocates a
 * few MiB while it starts (the bundle's source and code, the kubeconfig, TLS, the lists) and no
 * longer stops for scavenges on the way. (8 MiB made `--version` slower: more to map.)
 */
export const SEA_EXEC_ARGV = ["--min-semi-space-size=4"];

/** Runs a `list` in the bundle under the target's own Node and keeps V8's code cache of it. */
function codeCache(node: string, bundles: Bundles, cacheFile: string): void {
  const libraries = Object.fromEntries(
    Object.entries(LIBRARY_MAP).map(([id, [asset, name]]) => [id, [bundles.assets[asset]!, name]]),
  );
  execFileSync(
    node,
    [
      ...SEA_EXEC_ARGV,
      path.join(import.meta.dirname, "code-cache.cjs"),
      bundles.main,
      cacheFile,
      JSON.stringify(libraries),
    ],
    { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 },
  );
  if (!existsSync(cacheFile)) throw new Error(`no code cache was written to ${cacheFile}`);
}

async function injectBlob(binary: string, blob: Buffer): Promise<void> {
  const { inject } = require("postject") as {
    inject: (
      file: string,
      resource: string,
      data: Buffer,
      options: { sentinelFuse: string },
    ) => Promise<void>;
  };
  // LIEF (inside postject) warns about every ELF note section it cannot name: not a problem.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes("Can't find string offset for section name")) warn(...args);
  };
  try {
    await inject(binary, "NODE_SEA_BLOB", blob, { sentinelFuse: SEA_FUSE });
  } finally {
    console.warn = warn;
  }
}

/** A reproducible .tar.gz (sorted, fixed owner and time) of files in one directory. */
function tarGz(archive: string, dir: string, files: string[]): void {
  const tar = execFileSync(
    "tar",
    [
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mtime=@0",
      "-cf",
      "-",
      "-C",
      dir,
      ...files,
    ],
    { maxBuffer: 1 << 30 },
  );
  execFileSync("sh", ["-c", `gzip -n -6 > "$0"`, archive], { input: tar, maxBuffer: 1 << 30 });
}

export function krewManifest(
  version: string,
  archives: Pick<ReleaseArchive, "arch" | "archive" | "sha256">[],
  baseUrl: string,
): string {
  return stringify({
    apiVersion: "krew.googlecontainertools.github.com/v1alpha2",
    kind: "Plugin",
    metadata: { name: "vmsnap" },
    spec: {
      version: `v${version}`,
      homepage: baseUrl.replace(/\/releases\/download\/?$/, ""),
      shortDescription: "Safe VM snapshots for KubeVirt, Deckhouse and VM Operator",
      description: [
        "Snapshot a virtual machine before an upgrade and roll back when it fails, without losing data:",
        "validated names, previews checked by the API server, typed confirmations and a safety",
        "snapshot before every restore, on KubeVirt / OpenShift Virtualization, Deckhouse",
        "Virtualization and VMware vSphere VM Operator.",
        "",
      ].join("\n"),
      caveats: [
        "vmsnap uses your kubeconfig and context as kubectl does. Try: kubectl vmsnap vms -A",
        "Least-privilege roles: deploy/rbac/ in the vmsnap repository.",
        "Completion of `kubectl vmsnap` arguments (kubectl ≥ 1.26, with kubectl's own completion):",
        "  ln -s ~/.krew/bin/kubectl-vmsnap ~/.krew/bin/kubectl_complete-vmsnap",
        "",
      ].join("\n"),
      platforms: archives.map((a) => ({
        selector: { matchLabels: { os: "linux", arch: a.arch } },
        uri: `${baseUrl}/v${version}/${path.basename(a.archive)}`,
        sha256: a.sha256,
        files: [
          { from: PLUGIN_BINARY, to: "." },
          { from: "LICENSE", to: "." },
        ],
        bin: PLUGIN_BINARY,
      })),
    },
  });
}

/** One build at a time in a directory (two test suites may start one at once). */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // A lock older than any build is left from a killed one.
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if (age > 20 * 60_000) await rm(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * Builds the single executables, their archives and the krew manifest. A platform whose inputs
 * (bundle, Node version, code cache, Node options) are unchanged since the last build is not
 * rebuilt.
 */
export async function buildRelease(options: ReleaseOptions = {}): Promise<Release> {
  const out = path.resolve(options.out ?? RELEASE_DIR);
  await mkdir(path.dirname(out), { recursive: true });
  return withLock(out, () => build(out, options));
}

async function build(out: string, options: ReleaseOptions): Promise<Release> {
  const arches = options.arches ?? ARCHES;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { version } = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
    version: string;
  };
  await mkdir(out, { recursive: true });
  let t = performance.now();
  const bundles = await bundle(out, version);
  const hash = createHash("sha256");
  for (const file of [bundles.loader, ...Object.values(bundles.assets)])
    hash.update(await readFile(file));
  const bundleHash = hash.digest("hex");
  log(`bundle ${bundles.main} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  const host = hostArch();
  const hostNode = nodeBinary(host);
  const nodeVersion = execFileSync(hostNode, ["--version"], { encoding: "utf8" }).trim();
  const license = path.join(root, "LICENSE");
  const archives: ReleaseArchive[] = [];
  for (const arch of arches) {
    const dir = path.join(out, `linux-${arch}`);
    const binary = path.join(dir, PLUGIN_BINARY);
    const archive = path.join(out, `vmsnap-v${version}-linux-${arch}.tar.gz`);
    // The code cache is made by running the target's Node: only the building machine's own.
    const withCodeCache = arch === host;
    const stamp = path.join(out, `.linux-${arch}.stamp`);
    const inputs = JSON.stringify({
      bundleHash,
      nodeVersion,
      withCodeCache,
      version,
      execArgv: SEA_EXEC_ARGV,
    });
    if (
      existsSync(archive) &&
      existsSync(binary) &&
      existsSync(stamp) &&
      (await readFile(stamp, "utf8")) === inputs
    ) {
      log(`linux-${arch}: up to date`);
    } else {
      t = performance.now();
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const config = path.join(out, `sea-config-${arch}.json`);
      const blob = path.join(out, `sea-${arch}.blob`);
      const cacheFile = path.join(out, `vmsnap-${arch}.cache`);
      if (withCodeCache) codeCache(hostNode, bundles, cacheFile);
      await writeFile(
        config,
        JSON.stringify({
          main: bundles.loader,
          output: blob,
          disableExperimentalSEAWarning: true,
          useSnapshot: false,
          execArgv: SEA_EXEC_ARGV,
          // The loader is a few lines: the cache that matters is the bundle's own (an asset).
          useCodeCache: false,
          assets: {
            ...bundles.assets,
            ...(withCodeCache ? { "vmsnap.cache": cacheFile } : {}),
          },
        }),
      );
      // The blob's format belongs to the Node version: the host's Node 24 writes it for both.
      execFileSync(hostNode, ["--experimental-sea-config", config], { stdio: "pipe" });
      await copyFile(nodeBinary(arch), binary);
      await chmod(binary, 0o755);
      await injectBlob(binary, await readFile(blob));
      await copyFile(license, path.join(dir, "LICENSE"));
      tarGz(archive, dir, [PLUGIN_BINARY, "LICENSE"]);
      await rm(blob, { force: true });
      await rm(cacheFile, { force: true });
      await writeFile(stamp, inputs);
      log(
        `linux-${arch}: ${archive} (${((performance.now() - t) / 1000).toFixed(1)} s${withCodeCache ? ", with code cache" : ""})`,
      );
    }
    archives.push({
      arch,
      binary,
      archive,
      sha256: sha256(await readFile(archive)),
      codeCache: withCodeCache,
    });
  }
  const manifest = path.join(out, "vmsnap.yaml");
  await writeFile(manifest, krewManifest(version, archives, options.baseUrl ?? DEFAULT_BASE_URL));
  log(`krew manifest ${manifest}`);
  return { version, nodeVersion, bundle: bundles.main, archives, manifest };
}

if (import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      arch: { type: "string", default: ARCHES.join(",") },
      out: { type: "string" },
      "base-url": { type: "string" },
    },
  });
  const arches = values.arch.split(",").map((a) => a.trim());
  for (const a of arches)
    if (!ARCHES.includes(a as Arch)) throw new Error(`unknown --arch ${a}: use amd64 or arm64`);
  const release = await buildRelease({
    out: values.out,
    arches: arches as Arch[],
    baseUrl: values["base-url"],
  });
  for (const a of release.archives) process.stdout.write(`${a.sha256}  ${a.archive}\n`);
  process.stdout.write(`${release.manifest}\n`);
}
