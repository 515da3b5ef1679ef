#!/usr/bin/env node
// vmsnap CLI entry point (also installed as kubectl-vmsnap and kubectl_complete-vmsnap). Commands
// register themselves from one module each; their heavy dependencies load lazily inside the
// action handlers. No top-level await: the single executable bundles this file as CommonJS.
import { KUBECTL_COMPLETION, invokedName } from "./invocation.js";
import { version } from "./version.js";

// V8's compile cache (Node ≥ 22.1, kept in the OS temp directory) makes every start after the
// first one skip compiling the modules again; the single executable carries its own code cache.
// node:module is only loaded here, when it is used: loading it loads Node's source-map support.
if (!process.getBuiltinModule("node:sea").isSea())
  process.getBuiltinModule("node:module").enableCompileCache?.();

// A closed pipe (`vmsnap … | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === "--version") {
  // `--version` alone answers before commander and the command modules load.
  process.stdout.write(`${version()}\n`);
} else if (invokedName() === KUBECTL_COMPLETION) {
  void import("./complete.js").then(({ completeMain }) => completeMain(args));
} else if (args[0] === "__complete" || args[0] === "__completeNoDesc") {
  void import("./complete.js").then(({ completeMain }) =>
    completeMain(args.slice(1), { descriptions: args[0] === "__complete" }),
  );
} else {
  void import("./program.js").then(({ main }) => main(args));
}
