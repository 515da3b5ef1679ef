// kubectl's conventions for names (issue 14): several names for describe and delete (one preview,
// one confirmation typing their number, names not found reported after the rest with exit 4),
// --dry-run=server|client|none on the write commands, and "did you mean" for VM and snapshot
// names (close names in the namespace, and the namespace where the exact name is) — on the CLI's
// stderr and in the MCP error's hint.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage, pvcManifest, vmManifest } from "../../src/playground/fixtures.js";
import { READER } from "../../src/playground/identities.js";
import { DeletionList, Snapshot, SnapshotList } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult } from "../helpers/cli.js";
import { requestsSince } from "../helpers/audit.js";
import { waitFor, waitClaimsBound } from "../helpers/kube.js";
import { connectInProcess, failed, serverOptions } from "../helpers/mcp.js";

let c: KubeClient;
let ns: string;
let other: string;

async function makeVm(namespace: string, vm: string): Promise<void> {
  await c.create(Core.pvcs, pvcManifest({ name: `${vm}-root`, namespace, data: "v1" }));
  await waitClaimsBound(c, namespace, [`${vm}-root`]);
  await c.create(
    KubeVirt.vms,
    vmManifest({
      name: vm,
      namespace,
      runStrategy: "Halted",
      disks: [{ name: "rootdisk", claimName: `${vm}-root` }],
    }),
  );
}

async function makeSnapshot(namespace: string, vm: string, name: string): Promise<void> {
  await c.create(KubeVirt.snapshots, {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: vm } },
  });
  await waitFor(c, KubeVirt.snapshots, name, namespace, (s) => s.status?.readyToUse === true);
}

const exists = async (namespace: string, name: string) =>
  (await c.getIfExists(KubeVirt.snapshots, name, namespace)) !== undefined;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "names");
  other = await newNamespace(c, "names-other");
  await makeVm(ns, "db");
  await makeVm(ns, "web");
  await makeVm(other, "cache");
  for (const s of ["db-snap-1", "db-snap-2", "db-snap-3"]) await makeSnapshot(ns, "db", s);
  await makeSnapshot(ns, "web", "web-snap-1");
  await makeSnapshot(other, "cache", "cache-snap");
});

after(() => c?.close());

describe("describe with several names", () => {
  it("describes each, one after the other, as kubectl does", async () => {
    const r = await runCli(["describe", "-n", ns, "db-snap-1", "web-snap-1"]);
    assert.equal(r.code, 0, showResult(r));
    const one = await runCli(["describe", "-n", ns, "db-snap-1"]);
    const two = await runCli(["describe", "-n", ns, "web-snap-1"]);
    // The ages in the two runs may differ by a second: compare without them.
    const ageless = (s: string) => s.replace(/\d+[smhd](\d+[smh])?/g, "AGE");
    assert.equal(ageless(r.stdout), ageless(`${one.stdout}\n\n${two.stdout}`));
    const list = SnapshotList.parse(
      json(await runCli(["describe", "-n", ns, "db-snap-1", "web-snap-1", "-o", "json"])),
    );
    assert.deepEqual(
      list.items.map((s) => s.name),
      ["db-snap-1", "web-snap-1"],
    );
  });

  it("a name not found: the others are described, then the error with close names, exit 4", async () => {
    const r = await runCli(["describe", "-n", ns, "db-snap-1", "db-snap-9", "-o", "json"]);
    assert.equal(r.code, 4, showResult(r));
    const list = SnapshotList.parse(json(r));
    assert.deepEqual(
      list.items.map((s) => s.name),
      ["db-snap-1"],
    );
    assert.match(r.stderr, new RegExp(`error: snapshot ${ns}/db-snap-9 not found`));
    assert.match(r.stderr, /hint: did you mean db-snap-1 or db-snap-2 or db-snap-3\?/);
  });
});

describe("delete with several names", () => {
  it("one preview of all; the typed count must match; a name typed instead is refused", async () => {
    for (const confirm of ["3", "db-snap-1", "1"]) {
      const since = new Date();
      const r = await runCli(["delete", "-n", ns, "db-snap-1", "db-snap-2", "--confirm", confirm]);
      assert.equal(r.code, 3, `--confirm ${confirm}\n${showResult(r)}`);
      assert.match(r.stderr, /number of snapshots to delete/);
      assert.ok(await exists(ns, "db-snap-1"));
      assert.ok(await exists(ns, "db-snap-2"));
      const deletes = (await requestsSince(since)).filter(
        (e) =>
          e.verb === "delete" && e.objectRef?.namespace === ns && !/dryRun=All/.test(e.requestURI),
      );
      assert.deepEqual(
        deletes.map((e) => e.requestURI),
        [],
        "nothing deleted",
      );
    }
  });

  it("the preview lists every snapshot, and warns when a VM loses its last usable one", async () => {
    const r = await runCli([
      "delete",
      "-n",
      ns,
      "web-snap-1",
      "db-snap-1",
      "--dry-run",
      "-o",
      "json",
    ]);
    assert.equal(r.code, 0, showResult(r));
    const list = DeletionList.parse(json(r));
    assert.equal(list.phase, "DryRun");
    assert.deepEqual(
      list.items.map((d) => [d.snapshot, d.wasOnlySnapshot]),
      [
        ["web-snap-1", true],
        ["db-snap-1", false],
      ],
    );
    const text = await runCli(["delete", "-n", ns, "web-snap-1", "db-snap-1", "--dry-run"]);
    assert.match(text.stdout, /Dry run \(validated by the API server, nothing deleted\)/);
    assert.match(
      text.stdout,
      new RegExp(`delete VirtualMachineSnapshot ${ns}/web-snap-1 \\(VM web`),
    );
    assert.match(text.stdout, new RegExp(`delete VirtualMachineSnapshot ${ns}/db-snap-1 \\(VM db`));
    assert.match(text.stdout, /warning: these are the last usable snapshots of VM web/);
    assert.doesNotMatch(text.stdout, /last usable snapshots of VM db/);
    // Both of db's other snapshots too: db would have none left.
    const all = DeletionList.parse(
      json(
        await runCli([
          "delete",
          "-n",
          ns,
          "db-snap-1",
          "db-snap-2",
          "db-snap-3",
          "--dry-run",
          "-o",
          "json",
        ]),
      ),
    );
    assert.deepEqual(
      all.items.map((d) => d.wasOnlySnapshot),
      [true, true, true],
    );
  });

  it("deletes each, reports each; a name not found is reported after, exit 4", async () => {
    const r = await runCli([
      "delete",
      "-n",
      ns,
      "db-snap-1",
      "db-snpa-2",
      "db-snap-3",
      "--confirm",
      "2",
    ]);
    assert.equal(r.code, 4, showResult(r));
    assert.match(r.stdout, new RegExp(`Deleted snapshot ${ns}/db-snap-1 of VM db`));
    assert.match(r.stdout, new RegExp(`Deleted snapshot ${ns}/db-snap-3 of VM db`));
    assert.match(r.stderr, new RegExp(`error: snapshot ${ns}/db-snpa-2 not found`));
    assert.match(r.stderr, /hint: did you mean db-snap-2\?/);
    assert.equal(await exists(ns, "db-snap-1"), false);
    assert.equal(await exists(ns, "db-snap-3"), false);
    assert.equal(await exists(ns, "db-snap-2"), true);
  });
});

describe("--dry-run=server|client|none", () => {
  it("client: the plan, and not a single write request, not even a dry run", async () => {
    const since = new Date();
    const r = await runCli(["delete", "-n", ns, "db-snap-2", "--dry-run=client"]);
    assert.equal(r.code, 0, showResult(r));
    assert.match(r.stdout, /Dry run \(client-side: not sent to the API server, nothing deleted\)/);
    const create = await runCli([
      "create",
      "-n",
      ns,
      "web",
      "--name",
      "web-x",
      "--dry-run=client",
      "-o",
      "json",
    ]);
    assert.equal(create.code, 0, showResult(create));
    assert.equal(Snapshot.parse(json(create)).phase, "DryRun");
    const writes = (await requestsSince(since)).filter(
      (e) => e.objectRef?.namespace === ns && !["get", "list", "watch"].includes(e.verb),
    );
    assert.deepEqual(
      writes.map((e) => `${e.verb} ${e.requestURI}`),
      [],
    );
    assert.ok(await exists(ns, "db-snap-2"));
  });

  it("server (and a bare --dry-run): the API server validates the writes with dryRun=All", async () => {
    for (const flag of ["--dry-run=server", "--dry-run"]) {
      const since = new Date();
      const r = await runCli(["delete", "-n", ns, flag, "db-snap-2"]);
      assert.equal(r.code, 0, `${flag}\n${showResult(r)}`);
      const deletes = (await requestsSince(since)).filter(
        (e) => e.verb === "delete" && e.objectRef?.namespace === ns,
      );
      assert.equal(deletes.length, 1, flag);
      assert.match(deletes[0]!.requestURI + JSON.stringify(deletes[0]!.requestObject ?? {}), /All/);
      assert.ok(await exists(ns, "db-snap-2"));
    }
  });

  it("the read-only identity: a server dry run is refused (exit 5), a client one only reads", async () => {
    const server = await runCli(["delete", "-n", ns, "db-snap-2", "--dry-run=server"], {
      user: READER.name,
    });
    assert.equal(server.code, 5, showResult(server));
    const client = await runCli(["delete", "-n", ns, "db-snap-2", "--dry-run=client"], {
      user: READER.name,
    });
    assert.equal(client.code, 0, showResult(client));
  });

  it("none is not a dry run; another value is a usage error", async () => {
    const none = await runCli(["delete", "-n", ns, "db-snap-2", "--dry-run=none"]);
    // Not a dry run: it asks, and without a terminal it refuses.
    assert.equal(none.code, 3, showResult(none));
    assert.match(none.stderr, /refusing to delete without confirmation/);
    const bad = await runCli(["delete", "-n", ns, "db-snap-2", "--dry-run=maybe"]);
    assert.equal(bad.code, 2, showResult(bad));
    assert.match(
      bad.stderr,
      /Allowed choices are none, server, client\.\nSee 'vmsnap delete --help'\.\n$/,
    );
  });
});

describe("did you mean", () => {
  it("a snapshot: the close names in the namespace", async () => {
    const r = await runCli(["describe", "-n", ns, "web-snap-2"]);
    assert.equal(r.code, 4, showResult(r));
    assert.match(r.stderr, /hint: did you mean web-snap-1\?/);
  });

  it("a snapshot in another namespace: that namespace, as a command to run", async () => {
    const r = await runCli(["describe", "-n", ns, "cache-snap"]);
    assert.equal(r.code, 4, showResult(r));
    assert.match(
      r.stderr,
      new RegExp(
        `a snapshot named cache-snap is in namespace ${other}: \`vmsnap describe -n ${other} cache-snap\``,
      ),
    );
  });

  it("a VM: close names, and where it is (check, create, list)", async () => {
    const check = await runCli(["check", "-n", ns, "wbe"]);
    assert.equal(check.code, 4, showResult(check));
    assert.match(check.stderr, /hint: did you mean web\?/);
    const create = await runCli(["create", "-n", ns, "cache", "--yes"]);
    assert.equal(create.code, 4, showResult(create));
    assert.match(
      create.stderr,
      new RegExp(`a VM named cache is in namespace ${other}: \`vmsnap check -n ${other} cache\``),
    );
    const list = await runCli(["list", "-n", ns, "dbb"]);
    assert.equal(list.code, 4, showResult(list));
    assert.match(list.stderr, /did you mean db\?/);
  });

  it("a name with nothing close: no hint of that kind", async () => {
    const r = await runCli(["describe", "-n", ns, "zzzzzzzz"]);
    assert.equal(r.code, 4, showResult(r));
    assert.doesNotMatch(r.stderr, /did you mean/);
  });

  it("MCP: the error's hint names the close names as tool calls", async () => {
    const conn = await connectInProcess(serverOptions({ namespace: ns }));
    try {
      const text = async (snapshot: string) => {
        const r = (await conn.client.callTool({
          name: "vm_snapshot_get",
          arguments: { snapshot },
        })) as Parameters<typeof failed>[0];
        failed(r, "NotFound");
        return (r.content as { type: string; text: string }[]).map((x) => x.text).join("\n");
      };
      assert.match(await text("web-snap-2"), /did you mean web-snap-1\?/);
      const elsewhere = await text("cache-snap");
      assert.match(elsewhere, new RegExp(`a snapshot named cache-snap is in namespace ${other}`));
      assert.match(elsewhere, /vm_snapshot_get/);
      assert.doesNotMatch(elsewhere, /vmsnap describe/);
      const del = (await conn.client.callTool({
        name: "vm_snapshot_delete",
        arguments: { snapshot: "web-snap-2" },
      })) as Parameters<typeof failed>[0];
      const error = failed(del, "NotFound");
      assert.match(error?.hint ?? "", /did you mean web-snap-1\?/);
    } finally {
      await conn.close();
    }
  });
});
