// `vmsnap playground up|status|env|down` through the built CLI, in a private state directory.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { clientFor } from "../../src/playground/environment.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { SAMPLE_VMS } from "../../src/playground/seed.js";
import { processesMentioning, waitDead } from "../helpers/procs.js";

const run = promisify(execFile);
const cli = path.resolve(import.meta.dirname, "..", "..", "dist", "cli", "main.js");
const dir = await mkdtemp(path.join(tmpdir(), "vmsnap-pg-"));
const env = { ...process.env, VMSNAP_PLAYGROUND_DIR: dir };

function vmsnap(...args: string[]) {
  return run(process.execPath, [cli, "playground", ...args], { env, timeout: 180_000 });
}

after(async () => {
  await vmsnap("down").catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe("vmsnap playground", () => {
  it("up starts a seeded playground; a second up is a no-op; env prints the KUBECONFIG line", async () => {
    const first = await vmsnap("up");
    assert.match(first.stdout, /Playground is up\./);
    assert.match(first.stdout, /export KUBECONFIG=/);
    const state = JSON.parse(readFileSync(path.join(dir, "state.json"), "utf8")) as {
      pid: number;
      kubeconfig: string;
    };
    const again = await vmsnap("up");
    assert.match(again.stdout, /already running/);
    assert.equal(
      (JSON.parse(readFileSync(path.join(dir, "state.json"), "utf8")) as { pid: number }).pid,
      state.pid,
    );
    assert.equal((await vmsnap("env")).stdout, `export KUBECONFIG=${state.kubeconfig}\n`);
    assert.match((await vmsnap("status")).stdout, /Playground is running/);

    const client = await clientFor(state.kubeconfig);
    try {
      for (const vm of SAMPLE_VMS)
        assert.ok(
          await client.getIfExists(KubeVirt.vms, vm.name, vm.namespace),
          `${vm.namespace}/${vm.name} is seeded`,
        );
    } finally {
      client.close();
    }

    // vmsnap with the operator roles of deploy/rbac/ only: it reads the sample VMs; a write
    // outside them is refused by the API server.
    assert.match(first.stdout, /least privilege \(deploy\/rbac\/\): --kubeconfig \S+/);
    const operatorKubeconfig = path.join(dir, "kubeconfig-vmsnap-operator");
    const vms = await run(
      process.execPath,
      [cli, "--kubeconfig", operatorKubeconfig, "-o", "json", "vms", "-A"],
      { env, timeout: 60_000 },
    );
    const names = (JSON.parse(vms.stdout) as { items: { name: string }[] }).items.map(
      (v) => v.name,
    );
    for (const vm of SAMPLE_VMS) assert.ok(names.includes(vm.name), `${vm.name} listed`);
    const operator = await clientFor(operatorKubeconfig);
    try {
      await assert.rejects(
        operator.create(KubeVirt.vms, {
          apiVersion: "kubevirt.io/v1",
          kind: "VirtualMachine",
          metadata: { name: "not-allowed", namespace: SAMPLE_VMS[0]!.namespace },
          spec: {},
        }),
        (e: { code?: number }) => e.code === 403,
      );
    } finally {
      operator.close();
    }
  });

  it("down stops everything it started and removes its state", async () => {
    const state = JSON.parse(readFileSync(path.join(dir, "state.json"), "utf8")) as {
      pid: number;
      pids: { etcd: number; apiserver: number };
    };
    assert.match((await vmsnap("down")).stdout, /Playground stopped/);
    assert.deepEqual(await waitDead([state.pid, state.pids.etcd, state.pids.apiserver], 2000), []);
    assert.deepEqual(processesMentioning(dir), []);
    assert.equal(existsSync(path.join(dir, "state.json")), false);
    await assert.rejects(vmsnap("status"), (e: { code?: number }) => e.code === 1);
    assert.match((await vmsnap("down")).stdout, /was not running/);
  });
});
