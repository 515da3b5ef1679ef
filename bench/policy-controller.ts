// The controller under measurement, in a process of its own (its peak memory is its alone): the
// benchmark moves its clock over IPC and asks for its figures.
import { ManualClock } from "../src/controller/clock.js";
import { startPlaygroundController } from "../src/playground/controller.js";

const [kubeconfig, startIso] = process.argv.slice(2);
if (!kubeconfig || !startIso) throw new Error("usage: policy-controller.ts KUBECONFIG START");
const clock = new ManualClock(new Date(startIso));
const controller = await startPlaygroundController(() => kubeconfig, {
  clock,
  leaseName: "bench",
  parallel: 16,
  workers: 8,
  // Only what goes wrong (the reconcile's own lines would drown the figures).
  log: (line) =>
    /error|fail|cannot|refused/i.test(line) && process.stderr.write(`[controller] ${line}\n`),
});

interface Message {
  /** Only the figures (no waiting). */
  rss?: boolean;
  set?: string;
  idle?: boolean;
  stop?: boolean;
}

process.on("message", (m: Message) => {
  void (async () => {
    if (m.set) clock.set(new Date(m.set));
    if (m.idle) {
      while (!controller.isLeader) await new Promise((r) => setTimeout(r, 50));
      await controller.idle();
    }
    if (m.stop) await controller.stop();
    const mem = process.memoryUsage();
    process.send!({
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      rssMiB: mem.rss / 2 ** 20,
      heapMiB: mem.heapUsed / 2 ** 20,
    });
    if (m.stop) process.exit(0);
  })();
});
process.send!({ ready: true });
