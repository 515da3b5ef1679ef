// The CLI's standard streams and exit code, as one object: the process's for the real program,
// captured ones for tests that run the commander program in-process (fuzzing thousands of inputs).
import type { Command } from "commander";
import type { Readable, Writable } from "node:stream";

export interface CliIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  exitCode: number | undefined;
  /** The real process: a one-shot command exits once its output is flushed. */
  ownsProcess?: boolean;
}

/** The process's own streams; exitCode is process.exitCode. */
export function processIo(): CliIo {
  return {
    // Read only when a command needs it: making process.stdin loads Node's stream and fs modules
    // (a measurable part of a `list`'s start-up).
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    ownsProcess: true,
    get exitCode() {
      const code = process.exitCode;
      return code === undefined || code === null ? undefined : Number(code);
    },
    set exitCode(code: number | undefined) {
      process.exitCode = code;
    },
  };
}

const attached = new WeakMap<Command, CliIo>();

export function attachIo(program: Command, io: CliIo): void {
  attached.set(program, io);
}

/** The streams of the program a (sub)command belongs to. */
export function ioOf(cmd: Command): CliIo {
  let c: Command | null = cmd;
  while (c) {
    const io = attached.get(c);
    if (io) return io;
    c = c.parent;
  }
  return processIo();
}
