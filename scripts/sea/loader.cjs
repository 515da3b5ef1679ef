// The single executable's main script (see build.ts): `--version` answers at once; anything else
// runs the bundled CLI, stored as an asset and compiled with the V8 code cache made when the
// executable was built (amd64) — which, unlike Node's own SEA code cache, also holds the
// functions that a command runs, compiled while a `list` ran at build time. Libraries that only
// some commands use are assets of their own, compiled when first required.
/* global require, process, module, Buffer, VMSNAP_VERSION, VMSNAP_LIBRARIES */
"use strict";

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === "--version") {
  process.stdout.write(`${VMSNAP_VERSION}\n`);
} else {
  const { getRawAsset } = require("node:sea");
  const { Script } = require("node:vm");
  const debug = process.env.VMSNAP_SEA_DEBUG
    ? (line) => process.stderr.write(`vmsnap: ${line}\n`)
    : undefined;
  const asset = (key) => {
    try {
      return Buffer.from(getRawAsset(key));
    } catch {
      return undefined;
    }
  };
  /** Compiles and runs one CommonJS-wrapped asset; returns its exports. */
  const run = (key, cachedData) => {
    // The bundles are ASCII (checked at build time): latin1 is the cheapest exact decoding.
    const script = new Script(asset(key).toString("latin1"), { filename: key, cachedData });
    debug?.(
      `${key}: code cache ${cachedData ? (script.cachedDataRejected ? "rejected" : "used") : "none"}`,
    );
    const mod = { exports: {} };
    script.runInThisContext()(mod.exports, requireFromBundle, mod, key, "/");
    return mod.exports;
  };
  const libraries = new Map(); // asset → its exports, each module one of them
  function requireFromBundle(id) {
    const library = VMSNAP_LIBRARIES[id];
    if (library === undefined) return require(id);
    const [key, name] = library;
    if (!libraries.has(key)) libraries.set(key, run(key));
    return libraries.get(key)[name];
  }
  module.exports = run("vmsnap.js", asset("vmsnap.cache"));
}
