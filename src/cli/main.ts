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
  const { buildProgram, usageExitCode } = await import("./program.js");
  await buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      const usage = usageExitCode(err);
      if (usage !== undefined) {
        process.exitCode = usage;
        return;
      }
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = process.exitCode || 1;
    });
}
