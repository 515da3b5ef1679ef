#!/usr/bin/env node
// vmsnap CLI entry point (also installed as kubectl-vmsnap). Commands register themselves from
// one module each; their heavy dependencies load lazily inside the action handlers.
import { version } from "./version.js";

// A closed pipe (`vmsnap … | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// `--version` alone answers before commander and the command modules load.
if (process.argv.length === 3 && process.argv[2] === "--version") {
  process.stdout.write(`${version()}\n`);
} else {
  const { main } = await import("./program.js");
  await main(process.argv.slice(2));
}
