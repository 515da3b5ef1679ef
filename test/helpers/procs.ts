// Process inspection for "nothing left running" assertions (Linux /proc).
import { readdirSync, readFileSync } from "node:fs";

/** PIDs of live processes whose command line contains the text. */
export function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
      const state = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.[0];
      if (state !== "Z" && cmd.includes(text)) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== undefined && state !== "Z";
  } catch {
    return false;
  }
}

/** Waits until none of the pids is alive (process exit has no event across process trees). */
export async function waitDead(pids: number[], timeoutMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0) return [];
    await new Promise((r) => setTimeout(r, 100));
  }
  return pids.filter(isAlive);
}
