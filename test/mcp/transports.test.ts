// The built `vmsnap mcp` over its real transports: stdio (the client spawns the process; the
// connection is stateful, so elicitation works in both protocol eras) and Streamable HTTP (a real
// child process on a loopback port; elicitation in both eras: 2025-era clients get a session).
// Plus the start-up refusals: a non-loopback
// --listen without --allow-remote-bind, and invalid flags (exit 2).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request } from "node:http";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { Restore, Snapshot, VirtualMachineList } from "../../src/core/schema.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { CLI } from "../helpers/cli.js";
import { processesMentioning, waitDead } from "../helpers/procs.js";
import {
  READ_TOOLS,
  TOOL_NAMES,
  accept,
  assertNoWritesIn,
  callOrError,
  challenge,
  connectHttp,
  connectStdio,
  decline,
  describeWrite,
  done,
  failed,
  fieldsOf,
  ok,
  runMcpProcess,
  show,
  startHttpServer,
  writesIn,
  type Era,
  type HttpServerProcess,
} from "../helpers/mcp.js";
import { adminSnapshot, fingerprints, makeVm, snapshotsOf, writeAll } from "./fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-transports");
});

after(async () => {
  c?.close();
  // Every server process (and the stdio version probe's sibling) is gone.
  assert.deepEqual(await waitDead(processesMentioning(ns)), [], "no vmsnap mcp process left");
});

describe("stdio", () => {
  for (const era of ["legacy", "modern"] as const satisfies Era[]) {
    it(`${era}: tools, a read, a confirmed create and a confirmed restore; a declined restore writes nothing`, async () => {
      const vm = `st-${era}`;
      await makeVm(c, ns, vm, { disks: ["root"] });
      await adminSnapshot(c, ns, vm, `${vm}-base`);
      const written = await writeAll(c, ns, vm, "v2");
      const mcp = await connectStdio({ namespace: ns }, { era });
      try {
        const { tools } = await mcp.client.listTools();
        assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
        const list = ok(
          await mcp.client.callTool({ name: "vm_list", arguments: {} }),
          VirtualMachineList,
        );
        assert.ok(list.items.some((i) => i.name === vm && i.namespace === ns));

        mcp.answer(accept({ confirm: true }));
        const since = new Date();
        const progress: string[] = [];
        const created = await mcp.client.callTool(
          { name: "vm_snapshot_create", arguments: { vm, name: `${vm}-snap` } },
          { onprogress: (p) => progress.push(p.message ?? "") },
        );
        const snap = done(created, "snapshot", Snapshot);
        assert.equal(snap.readyToUse, true);
        assert.deepEqual(fieldsOf(mcp.forms.at(-1)!), ["confirm"]);
        assert.ok(progress.length >= 1, "progress notifications over stdio");
        assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
          `create virtualmachinesnapshots ${vm}-snap`,
        ]);

        // Declined: nothing.
        mcp.answer(decline);
        const before = new Date();
        failed(
          await mcp.client.callTool({
            name: "vm_snapshot_restore",
            arguments: { vm, snapshot: `${vm}-base` },
          }),
          "Cancelled",
        );
        await assertNoWritesIn([ns], before);
        assert.deepEqual(await fingerprints(c, ns, vm), written);

        // Confirmed: exactly the snapshot's data.
        mcp.answer(accept({ snapshotName: `${vm}-base`, confirm: true }));
        const res = done(
          await mcp.client.callTool({
            name: "vm_snapshot_restore",
            arguments: { vm, snapshot: `${vm}-base`, safetySnapshot: false },
          }),
          "restore",
          Restore,
        );
        assert.equal(res.phase, "Succeeded");
        assert.deepEqual(await fingerprints(c, ns, vm), { root: `${vm}-root-v1` });
        assert.match(mcp.stderr(), /vmsnap MCP server on stdio \(confirmation: elicit\)/);
      } finally {
        await mcp.close();
      }
    });
  }

  it("--confirmation token: the token from the first call confirms the second (same process)", async () => {
    await makeVm(c, ns, "st-tok");
    const mcp = await connectStdio({ namespace: ns, confirmation: "token" }, { era: "legacy" });
    try {
      const since = new Date();
      const ch = challenge(
        await mcp.client.callTool({
          name: "vm_snapshot_create",
          arguments: { vm: "st-tok", name: "st-tok-snap" },
        }),
      );
      await assertNoWritesIn([ns], since);
      const snap = done(
        await mcp.client.callTool({
          name: "vm_snapshot_create",
          arguments: { vm: "st-tok", name: "st-tok-snap", confirmationToken: ch.token },
        }),
        "snapshot",
        Snapshot,
      );
      assert.equal(snap.readyToUse, true);
      assert.equal(mcp.forms.length, 0);
    } finally {
      await mcp.close();
    }
  });

  it("--read-only: only the read tools; a write tool fails and writes nothing", async () => {
    await makeVm(c, ns, "st-ro");
    const mcp = await connectStdio({ namespace: ns, readOnly: true }, { era: "modern" });
    try {
      const { tools } = await mcp.client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [...READ_TOOLS].sort());
      mcp.answer(accept({ confirm: true }));
      const since = new Date();
      const { result, thrown } = await callOrError(mcp.client, "vm_snapshot_create", {
        vm: "st-ro",
        name: "st-ro-snap",
      });
      if (result) assert.equal(result.isError, true, show(result));
      else assert.ok(thrown);
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await snapshotsOf(c, ns, "st-ro"), []);
      assert.match(mcp.stderr(), /read-only/);
    } finally {
      await mcp.close();
    }
  });
});

describe("Streamable HTTP (a real `vmsnap mcp --transport http` process)", () => {
  let server: HttpServerProcess;
  before(async () => {
    server = await startHttpServer({ namespace: ns });
  });
  after(async () => {
    await server?.close();
    assert.ok(
      server.child.exitCode === 0 || server.child.signalCode === "SIGTERM",
      `the server stops cleanly on SIGTERM (exit ${server.child.exitCode}, ${server.child.signalCode})`,
    );
  });

  it("listens on loopback and says where", () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.match(server.stderr(), /confirmation: elicit/);
  });

  it("modern: tools, a read, a create confirmed by elicitation with progress, a restore", async () => {
    const mcp = await connectHttp(server.url, { era: "modern" });
    try {
      const { tools } = await mcp.client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
      ok(await mcp.client.callTool({ name: "vm_list", arguments: {} }), VirtualMachineList);

      await makeVm(c, ns, "ht", { disks: ["root"] });
      mcp.answer(accept({ confirm: true }));
      const since = new Date();
      const progress: string[] = [];
      const snap = done(
        await mcp.client.callTool(
          { name: "vm_snapshot_create", arguments: { vm: "ht", name: "ht-snap" } },
          { onprogress: (p) => progress.push(p.message ?? "") },
        ),
        "snapshot",
        Snapshot,
      );
      assert.equal(snap.readyToUse, true);
      assert.equal(mcp.forms.length, 1);
      assert.ok(progress.length >= 1, "progress notifications over HTTP");
      assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
        "create virtualmachinesnapshots ht-snap",
      ]);

      await writeAll(c, ns, "ht", "v2");
      mcp.answer(accept({ snapshotName: "ht-snap", confirm: true }));
      const res = done(
        await mcp.client.callTool({
          name: "vm_snapshot_restore",
          arguments: { vm: "ht", snapshot: "ht-snap" },
        }),
        "restore",
        Restore,
      );
      assert.equal(res.phase, "Succeeded");
      assert.deepEqual(await fingerprints(c, ns, "ht"), { root: "ht-root-v1" });
    } finally {
      await mcp.close();
    }
  });

  it("legacy (2025 era): reads work; a session carries the confirmation form (issue 13)", async () => {
    await makeVm(c, ns, "hl");
    const mcp = await connectHttp(server.url, { era: "legacy" });
    mcp.answer(accept({ confirm: true }));
    try {
      const { tools } = await mcp.client.listTools();
      assert.equal(tools.length, TOOL_NAMES.length);
      ok(await mcp.client.callTool({ name: "vm_list", arguments: {} }), VirtualMachineList);
      const since = new Date();
      const snap = done(
        await mcp.client.callTool({
          name: "vm_snapshot_create",
          arguments: { vm: "hl", name: "hl-snap" },
        }),
        "snapshot",
        Snapshot,
      );
      assert.equal(snap.readyToUse, true);
      assert.equal(mcp.forms.length, 1, "the human was asked");
      assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
        "create virtualmachinesnapshots hl-snap",
      ]);
    } finally {
      await mcp.close();
    }
  });

  it("only /mcp is served, and a foreign Host header (DNS rebinding) is rejected", async () => {
    const url = new URL(server.url);
    const get = (path: string, host?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path,
            method: "GET",
            headers: host ? { host } : {},
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
    assert.equal(await get("/"), 404);
    const rebound = await get("/mcp", "evil.example:80");
    assert.ok(rebound >= 400 && rebound < 500, `foreign Host → ${rebound}`);
  });
});

describe("Streamable HTTP with --confirmation token", () => {
  it("a 2025-era client over HTTP confirms with the token (state lives in the server process)", async () => {
    await makeVm(c, ns, "htok");
    const server = await startHttpServer({ namespace: ns, confirmation: "token" });
    try {
      const mcp = await connectHttp(server.url, { era: "legacy" });
      try {
        const since = new Date();
        const ch = challenge(
          await mcp.client.callTool({
            name: "vm_snapshot_create",
            arguments: { vm: "htok", name: "htok-snap" },
          }),
        );
        await assertNoWritesIn([ns], since);
        const snap = done(
          await mcp.client.callTool({
            name: "vm_snapshot_create",
            arguments: { vm: "htok", name: "htok-snap", confirmationToken: ch.token },
          }),
          "snapshot",
          Snapshot,
        );
        assert.equal(snap.readyToUse, true);
      } finally {
        await mcp.close();
      }
    } finally {
      await server.close();
    }
  });
});

describe("start-up refusals", () => {
  it("--listen 0.0.0.0:0 is refused (exit 2) without --allow-remote-bind", async () => {
    const r = await runMcpProcess(["--transport", "http", "--listen", "0.0.0.0:0"]);
    assert.equal(r.code, 2, `exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0/);
    assert.match(r.stderr, /--allow-remote-bind/);
    assert.doesNotMatch(r.stderr, /MCP server on/);
  });

  it("--allow-remote-bind lets it listen on 0.0.0.0", async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        "--kubeconfig",
        kubeconfigOf("vmsnap-user"),
        "-n",
        ns,
        "mcp",
        "--transport",
        "http",
        "--listen",
        "0.0.0.0:0",
        "--allow-remote-bind",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let err = "";
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
          const m = /MCP server on (\S+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      assert.match(line, /^http:\/\/0\.0\.0\.0:\d+\/mcp$/);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });

  const invalid: [string, string[], RegExp][] = [
    ["a malformed --listen", ["--transport", "http", "--listen", "localhost"], /invalid --listen/],
    ["an unknown transport", ["--transport", "carrier-pigeon"], /invalid --transport/],
    ["an unknown confirmation mode", ["--confirmation", "maybe"], /invalid --confirmation/],
  ];
  for (const [what, args, message] of invalid) {
    it(`${what} → exit 2`, async () => {
      const r = await runMcpProcess(args);
      assert.equal(r.code, 2, `exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, message);
    });
  }
});
