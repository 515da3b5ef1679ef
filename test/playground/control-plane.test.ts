// The harness itself: a second, private control plane per test, started and stopped for real.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { KubeApiError, type KubeClient } from "../../src/kube/client.js";
import { Core } from "../../src/kube/resources.js";
import { ControlPlane, freePort } from "../../src/playground/control-plane.js";
import { clientFor } from "../../src/playground/environment.js";
import { ADMIN } from "../../src/playground/identities.js";
import { processesMentioning, waitDead } from "../helpers/procs.js";

const root = path.resolve(import.meta.dirname, "..", "..");
let dir: string;
let cp: ControlPlane;
const clients: KubeClient[] = [];

async function client(user: string): Promise<KubeClient> {
  const c = await clientFor(cp.kubeconfig(user));
  clients.push(c);
  return c;
}

async function whoami(c: KubeClient): Promise<string> {
  const review = await c.request<{ status: { userInfo: { username: string } } }>(
    "POST",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    },
  );
  return review.status.userInfo.username;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vmsnap-cp-"));
  cp = await ControlPlane.start({
    dir,
    // Built-in "view" is aggregated, and no aggregation controller runs here: use a plain role.
    identities: [
      ADMIN,
      { name: "reader", groups: ["readers"], clusterRole: "vmsnap-test-pvc-reader" },
      { name: "nobody", groups: [] },
    ],
  });
  const admin = await clientFor(cp.kubeconfig(ADMIN.name));
  await admin.create(
    {
      group: "rbac.authorization.k8s.io",
      version: "v1",
      plural: "clusterroles",
      kind: "ClusterRole",
      namespaced: false,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "vmsnap-test-pvc-reader" },
      rules: [
        { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get", "list", "watch"] },
      ],
    },
  );
  admin.close();
});

after(async () => {
  for (const c of clients) c.close();
  await cp?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("control plane", () => {
  it("serves on loopback with one kubeconfig per identity", async () => {
    assert.match(cp.info.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    for (const user of [ADMIN.name, "reader", "nobody"]) {
      assert.ok(existsSync(cp.kubeconfig(user)));
      assert.equal(await whoami(await client(user)), user);
    }
    assert.doesNotMatch(
      readFileSync(cp.kubeconfig("reader"), "utf8"),
      /insecure-skip-tls-verify/,
      "TLS is verified against the server's CA",
    );
  });

  it("has RBAC on: an identity gets exactly its ClusterRole", async () => {
    const reader = await client("reader");
    const nobody = await client("nobody");
    await reader.list(Core.pvcs, "default");
    await assert.rejects(
      reader.create(Core.namespaces, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "reader-was-here" },
      }),
      (e: unknown) => e instanceof KubeApiError && e.code === 403,
    );
    await assert.rejects(
      nobody.list(Core.pvcs, "default"),
      (e: unknown) => e instanceof KubeApiError && e.code === 403,
    );
  });

  it("audits every request; writesBy returns one identity's writes only", async () => {
    const since = new Date(Date.now() - 1000);
    const admin = await client(ADMIN.name);
    await admin.create(Core.namespaces, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "audited" },
    });
    await admin.create(
      Core.namespaces,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "dry" } },
      { dryRun: true },
    );
    await admin.get(Core.namespaces, "audited");
    const reader = await client("reader");
    const readerSince = new Date();
    await reader
      .create(Core.namespaces, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "denied" },
      })
      .catch(() => undefined);
    await cp.syncAudit();

    const adminWrites = await cp.audit.writesBy(ADMIN.name, since);
    const created = adminWrites.filter(
      (e) => e.objectRef?.resource === "namespaces" && e.verb === "create",
    );
    assert.deepEqual(
      created
        .map(
          (e) =>
            e.objectRef?.name ??
            (e.requestObject as { metadata?: { name?: string } })?.metadata?.name,
        )
        .sort(),
      ["audited", "dry"],
    );
    const real = (
      await cp.audit.events({ user: ADMIN.name, since, writesOnly: true, excludeDryRun: true })
    ).filter((e) => e.objectRef?.resource === "namespaces");
    assert.deepEqual(
      real.map((e) => e.requestURI),
      ["/api/v1/namespaces?fieldManager=vmsnap"],
      "dry runs can be told apart",
    );
    // A denied request is never decoded, so its log entry has no requestObject: match by resource.
    const readerWrites = (await cp.audit.writesBy("reader", readerSince)).filter(
      (e) => e.objectRef?.resource === "namespaces",
    );
    assert.equal(readerWrites.length, 1);
    assert.equal(
      readerWrites[0]?.responseStatus?.code,
      403,
      "a denied write is still audited, with its code",
    );
    assert.ok(
      (await cp.audit.events({ user: ADMIN.name, since })).some((e) => e.verb === "get"),
      "reads are in the log too",
    );
  });

  it("stop() ends etcd and kube-apiserver and removes the tmpfs data", async () => {
    const other = await ControlPlane.start({ dir: path.join(dir, "second") });
    const pids = [other.info.pids.etcd!, other.info.pids.apiserver!];
    const dataDir = (other as unknown as { etcdDataDir: string }).etcdDataDir;
    assert.ok(existsSync(dataDir));
    await other.stop();
    assert.deepEqual(await waitDead(pids, 1000), []);
    assert.equal(existsSync(dataDir), false);
  });

  it("a failed start (port taken) leaves nothing running", async () => {
    const port = await freePort();
    const blocker = createServer().listen(port, "127.0.0.1");
    const failDir = path.join(dir, "fail");
    try {
      await assert.rejects(
        ControlPlane.start({ dir: failDir, ports: { apiserver: port } }),
        /exited early|not ready/,
      );
    } finally {
      blocker.close();
    }
    assert.deepEqual(processesMentioning(failDir), []);
  });

  for (const signal of ["SIGINT", "SIGKILL"] as const) {
    it(`the owner dying by ${signal} takes etcd and kube-apiserver with it`, async () => {
      const holdDir = path.join(dir, `hold-${signal}`);
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(root, "test/fixtures/hold-control-plane.ts"), holdDir],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const line = await new Promise<string>((resolve, reject) => {
        let buf = "";
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          if (buf.includes("\n")) resolve(buf.split("\n")[0]!);
        });
        child.on("exit", (code) => reject(new Error(`holder exited (${code})`)));
      });
      const info = JSON.parse(line) as { etcd: number; apiserver: number; etcdDataDir: string };
      child.kill(signal);
      assert.deepEqual(await waitDead([info.etcd, info.apiserver]), [], "no orphan processes");
      // The holder itself may still be exiting: wait for it before looking for leftovers.
      if (child.exitCode === null && child.signalCode === null)
        await new Promise((r) => child.once("exit", r));
      assert.deepEqual(
        await waitDead(processesMentioning(holdDir), 5000),
        [],
        "no process of this control plane is left",
      );
      if (signal === "SIGINT")
        assert.equal(existsSync(info.etcdDataDir), false, "tmpfs data removed on Ctrl-C");
      else await rm(info.etcdDataDir, { recursive: true, force: true });
    });
  }
});
