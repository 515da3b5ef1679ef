// The CLI's side of the confirmation port: typed answers on a TTY, or --yes / --confirm / --stop
// for scripts. Without a TTY and without those flags it refuses — and its advice is to run the
// command on a terminal, never to add the flags that skip the question. The decision itself is
// verifyConfirmation's, in core.
import type * as Readline from "node:readline/promises";
import type { Readable, Writable } from "node:stream";
import type {
  ConfirmationAnswer,
  ConfirmationPort,
  ConfirmationRequest,
} from "../core/confirmation.js";
import { cancelled } from "../core/errors.js";

/** The advice when no one can be asked: the same command on a terminal asks the human. */
const ON_A_TERMINAL = "run the command on a terminal: vmsnap shows the plan there and asks you";

export interface CliConfirmationOptions {
  yes?: boolean;
  confirm?: string;
  stop?: boolean;
  interactive: boolean;
  quiet?: boolean;
  input: Readable;
  output: Writable;
}

export class CliConfirmation implements ConfirmationPort {
  constructor(private readonly o: CliConfirmationOptions) {}

  private show(request: ConfirmationRequest): void {
    if (this.o.quiet) return;
    this.o.output.write(`\n${request.title}\n\n${request.preview}\n\n`);
  }

  private async ask(question: string): Promise<string | undefined> {
    // Loaded only when a question is asked (readline is not needed by most commands' start-up).
    const { createInterface } = process.getBuiltinModule(
      "node:readline/promises",
    ) as typeof Readline;
    const rl = createInterface({ input: this.o.input, output: this.o.output, terminal: true });
    try {
      const answer = await new Promise<string | undefined>((resolve) => {
        rl.on("SIGINT", () => resolve(undefined));
        rl.on("close", () => resolve(undefined));
        rl.question(question).then(resolve, () => resolve(undefined));
      });
      return answer;
    } finally {
      rl.close();
    }
  }

  private async yesNo(question: string): Promise<boolean> {
    const a = await this.ask(`${question} [y/N]: `);
    return a !== undefined && /^(y|yes)$/i.test(a.trim());
  }

  async confirm(request: ConfirmationRequest): Promise<ConfirmationAnswer> {
    const { yes, confirm, interactive } = this.o;
    if (request.kind === "yes-no") {
      this.show(request);
      if (yes) return { confirmed: true };
      if (!interactive)
        throw cancelled(
          `refusing to ${request.action} without confirmation: no TTY`,
          ON_A_TERMINAL,
        );
      return { confirmed: await this.yesNo("Proceed?") };
    }
    this.show(request);
    // Once: a warning the preview already shows is not printed again.
    for (const w of request.warnings.filter(
      (w) =>
        (w.startsWith("warning") || request.kind === "typed-name") && !request.preview.includes(w),
    )) {
      if (!this.o.quiet) this.o.output.write(`! ${w}\n`);
    }
    let typedName = confirm;
    if (typedName === undefined) {
      if (!interactive) {
        throw cancelled(
          `refusing to ${request.action} without confirmation: no TTY`,
          ON_A_TERMINAL,
        );
      }
      const noun =
        request.kind === "typed-name" ? (request.noun ?? "snapshot name") : "snapshot name";
      const typed = await this.ask(`Type the ${noun} (${request.expectedName}) to confirm: `);
      if (typed === undefined) return { confirmed: false };
      typedName = typed.trim();
      // A mismatch is reported by verifyConfirmation; stop asking now.
      if (typedName !== request.expectedName) return { confirmed: true, typedName };
    }
    if (request.kind === "typed-name") return { confirmed: true, typedName };

    let stopVm: boolean | undefined = this.o.stop ? true : undefined;
    if (request.vmRunning && stopVm === undefined && interactive) {
      const choice = await this.ask("The VM is running. [s] stop it and restore, [c] cancel: ");
      if (choice === undefined || !/^(s|stop|stop-and-restore)$/i.test(choice.trim()))
        return { confirmed: false, typedName };
      stopVm = true;
    }
    let finalYes = yes === true || (confirm !== undefined && !interactive);
    if (!finalYes) {
      if (!interactive)
        throw cancelled("refusing to restore without a final confirmation: no TTY", ON_A_TERMINAL);
      finalYes = await this.yesNo(
        `Restore ${request.expectedName} now? This cannot be undone except from the safety snapshot.`,
      );
    }
    return { confirmed: true, typedName, stopVm, finalYes };
  }
}
