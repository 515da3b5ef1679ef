// Every command's --help, as a kubectl user reads it (issue 14): an Examples section, and the
// global flags. The commands are taken from the program itself, recursively, so that a command
// added later without examples fails here.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import type { Command } from "commander";
import { buildProgram, main } from "./program.js";
import { EXAMPLES, commandPath } from "./examples.js";
import type { CliIo } from "./io.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

function capturedIo(): CliIo & { stdout: Capture } {
  const stdin = new PassThrough();
  stdin.end();
  return { stdin, stdout: new Capture(), stderr: new Capture(), env: {}, exitCode: undefined };
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

describe("help", () => {
  const commands = allCommands(buildProgram(capturedIo()));

  it("finds the commands (the walk is not empty)", () => {
    const paths = commands.map(commandPath);
    for (const known of ["", "create", "delete", "policy create", "playground up", "completion"])
      assert.ok(paths.includes(known), `${known} in ${paths.join(", ")}`);
  });

  for (const cmd of commands) {
    const path = commandPath(cmd) || "(the program)";
    it(`${path}: Examples and the global flags`, async () => {
      // As `vmsnap … --help` prints it (helpInformation() leaves out the added sections).
      const io = capturedIo();
      const argv = [...(commandPath(cmd) ? commandPath(cmd).split(" ") : []), "--help"];
      assert.equal(await main(argv, io), 0);
      const help = io.stdout.text;
      assert.match(help, /\nExamples:\n {2}# \S.*\n {2}(vmsnap|source|eval) \S/);
      // The examples run vmsnap itself, or source/eval its output.
      for (const [, args] of EXAMPLES[commandPath(cmd)] ?? [])
        assert.ok(help.includes(args.includes("vmsnap") ? args : `vmsnap ${args}`), args);
      if (cmd.parent) {
        assert.match(help, /\nGlobal Options:\n/);
        for (const flag of ["--kubeconfig", "--context", "-n, --namespace", "-o, --output"])
          assert.ok(help.includes(flag), `${path} --help lists ${flag}`);
      } else {
        assert.match(help, /--kubeconfig <path>/);
      }
    });
  }

  it("every example names a command that exists", () => {
    const paths = new Set(commands.map(commandPath));
    for (const key of Object.keys(EXAMPLES)) assert.ok(paths.has(key), `${key} is a command`);
  });
});
