// Live progress on a TTY (a spinner with the current phase, on stderr); plain lines with -v when
// not a TTY; nothing decorative otherwise.
import type { Writable } from "node:stream";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export class Progress {
  private timer?: NodeJS.Timeout;
  private message = "";
  private frame = 0;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly mode: "spinner" | "lines" | "off",
  ) {}

  update = (message: string): void => {
    this.message = message;
    if (this.mode === "lines") this.out.write(`${message}\n`);
    if (this.mode !== "spinner") return;
    this.draw();
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 80);
      this.timer.unref();
    }
  };

  private draw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    this.out.write(`\r\x1b[2K${FRAMES[this.frame]} ${this.message}`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.mode === "spinner" && this.message) this.out.write("\r\x1b[2K");
  }
}
