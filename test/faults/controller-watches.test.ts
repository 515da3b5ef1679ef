// The policy controller's leader, when it cannot start its watches (the API server answers a list
// with a 404), stays healthy and not ready, tries again with back-off, and once the lists succeed
// syncs its caches and reconciles — as client-go's reflector retries, instead of staying failed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeClient } from "../../src/kube/client.js";
import type { PolicyController } from "../../src/controller/controller.js";
import { CONTROLLER } from "../../src/playground/identities.js";
import { adminClient, newNamespace, testEnv } from "../helpers/env.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import {
  ManualClock,
  Vmsnap,
  condition,
  makeVm,
  policyManifest,
  startController,
  waitPolicy,
} from "../controller/fixtures.js";

let c: KubeClient;
let ns: string;
let proxy: FaultProxy;
let dir: string;
let controller: PolicyController | undefined;

before(async () => {
  c = await adminClient();
  ns = await newNamespace(c, "pol-watch-fault");
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-pol-watch-fault-"));
  proxy = await FaultProxy.start(testEnv());
});

after(async () => {
  await controller?.stop().catch(() => {});
  await proxy?.close();
  c?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The controller's log lines, and who waits for one. */
class Log {
  readonly lines: string[] = [];
  private readonly waiters = new Set<() => void>();

  readonly add = (line: string): void => {
    this.lines.push(line);
    for (const w of this.waiters) w();
  };

  /** Resolves when a line matching the pattern has been logged (checked as each line comes). */
  until(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.lines.some((l) => pattern.test(l))) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} in the controller's log:\n${this.text}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  get text(): string {
    return this.lines.join("\n");
  }
}

describe("policy controller: its watches cannot start at first", () => {
  it("stays healthy and not ready, retries with back-off, then syncs and reconciles", async () => {
    await makeVm(c, "kubevirt", ns, "web", { tier: "web" });
    await c.create(
      Vmsnap.snapshotPolicies,
      policyManifest(ns, "yearly", {
        selector: { matchLabels: { tier: "web" } },
        schedule: "@yearly",
      }),
    );
    // Every list of the policies fails until the rule is removed: 404, as while the CRD is not
    // yet served (a 5xx would first be retried by the client for its 30 s budget).
    proxy.inject({
      method: "GET",
      path: /\/snapshotpolicies$/,
      watch: false,
      times: 1_000,
      fault: { kind: "status", code: 404 },
    });
    const log = new Log();
    controller = await startController(ns, new ManualClock(new Date()), {
      kubeconfig: await proxy.kubeconfig(CONTROLLER.name, dir, ns),
      listen: "127.0.0.1:0",
      log: log.add,
    });
    const url = controller.metricsUrl!;
    await log.until(/starting the watches: .*trying again in 1\.0 s/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200, log.text);
    assert.equal((await fetch(`${url}/readyz`)).status, 503, log.text);
    assert.ok(controller.isLeader);

    proxy.reset();
    await log.until(/caches synced; reconciling 1 policies/);
    const failures = log.lines.filter((l) => /starting the watches/.test(l));
    assert.ok(failures.length >= 2, log.text);
    assert.match(failures[0]!, /trying again in 0\.5 s/);
    assert.equal((await fetch(`${url}/readyz`)).status, 200, log.text);
    assert.equal((await fetch(`${url}/healthz`)).status, 200, log.text);
    const yearly = await waitPolicy(c, ns, "yearly", (p) => Boolean(p.status?.nextScheduleTime));
    assert.equal(condition(yearly, "Ready")?.status, "True");
  });
});
