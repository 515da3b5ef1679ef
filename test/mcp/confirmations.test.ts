// MCP confirmations hold up (issue 13 item 3), through real MCP SDK clients of both generations
// (the v2 clients of both eras, in process over the same HTTP surface `vmsnap mcp --transport
// http` serves, and the v1 `@modelcontextprotocol/sdk` client over HTTP to a real process):
// - a 2026-07-28 approval (the human's accept in an input_required round) is single use and
//   expires: replaying the very same request creates nothing;
// - 2025-era clients over Streamable HTTP that declare elicitation get a session and are asked;
// - the human has the configured time to answer a pushed form; a form not answered in time, one
//   that fails, or one that comes back incomplete is Cancelled, and nothing is written.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Http } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { Restore, Snapshot } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import {
  accept,
  assertNoWritesIn,
  connectInProcess,
  decline,
  describeWrite,
  done,
  failed,
  fieldsOf,
  serverOptions,
  startHttpServer,
  writesIn,
  type HttpServerProcess,
} from "../helpers/mcp.js";
import { adminSnapshot, fingerprints, makeVm, snapshotsOf, writeAll } from "./fixtures.js";

let c: KubeClient;
let ns: string;
let n = 0;
const vmName = (prefix: string) => `${prefix}-${++n}`;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-confirm");
});

after(() => c?.close());

/** The JSON-RPC response to a request, whether the server answered with JSON or over SSE. */
async function rpcResponse(res: Response): Promise<{ result?: CallToolResult; error?: unknown }> {
  const text = await res.text();
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream"))
    return JSON.parse(text) as { result?: CallToolResult };
  const messages = text
    .split("\n")
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trim())
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { id?: unknown; result?: CallToolResult; error?: unknown });
  const answer = messages.find((m) => m.id !== undefined && (m.result || m.error));
  assert.ok(answer, `no response in the stream:\n${text}`);
  return answer;
}

describe("2026-07-28: the human's approval is single use and expires", () => {
  it("replaying the request that carried the human's yes creates no second snapshot", async () => {
    const vm = vmName("replay");
    await makeVm(c, ns, vm);
    const mcp = await connectInProcess(serverOptions({ namespace: ns }), {
      era: "modern",
      onElicit: accept({ confirm: true }),
    });
    try {
      const snap = done(
        await mcp.client.callTool({ name: "vm_snapshot_create", arguments: { vm } }),
        "snapshot",
        Snapshot,
      );
      assert.equal(mcp.forms.length, 1, "the human was asked once");
      assert.deepEqual(await snapshotsOf(c, ns, vm), [snap.name]);
      // The second round: the same tools/call with the human's answer and the requestState.
      const answered = mcp.sent.filter((r) => r.body.includes('"inputResponses"'));
      assert.equal(answered.length, 1, "one request carried the answer");
      const since = new Date();
      const replay = answered[0]!;
      const res = await mcp.fetch(
        new Request("http://localhost/mcp", {
          method: "POST",
          headers: replay.headers,
          body: replay.body,
        }),
      );
      const { result } = await rpcResponse(res);
      assert.ok(result, "the replay is answered with a tool result");
      const e = failed(result, "Cancelled");
      assert.match(e!.message, /approval was already used; nothing was changed/);
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await snapshotsOf(c, ns, vm), [snap.name], "still one snapshot");
    } finally {
      await mcp.close();
    }
  });

  it("an approval given after it expired confirms nothing", async () => {
    const vm = vmName("late");
    await makeVm(c, ns, vm);
    const mcp = await connectInProcess(serverOptions({ namespace: ns, formTimeoutMs: 1000 }), {
      era: "modern",
      onElicit: async () => {
        await new Promise((r) => setTimeout(r, 1600));
        return { action: "accept", content: { confirm: true } };
      },
    });
    try {
      const since = new Date();
      const e = failed(
        await mcp.client.callTool({ name: "vm_snapshot_create", arguments: { vm } }),
        "Cancelled",
      );
      assert.match(e!.message, /approval has expired; nothing was changed/);
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await snapshotsOf(c, ns, vm), []);
    } finally {
      await mcp.close();
    }
  });
});

describe("2025-era clients over Streamable HTTP that declare elicitation are asked", () => {
  it("v2 client (2025 era): a create confirmed, a restore declined then confirmed", async () => {
    const vm = vmName("leg");
    await makeVm(c, ns, vm);
    await adminSnapshot(c, ns, vm, `${vm}-base`);
    const written = await writeAll(c, ns, vm, "v2");
    const mcp = await connectInProcess(serverOptions({ namespace: ns }), {
      era: "legacy",
      onElicit: accept({ confirm: true }),
    });
    try {
      let since = new Date();
      const snap = done(
        await mcp.client.callTool({
          name: "vm_snapshot_create",
          arguments: { vm, name: `${vm}-snap` },
        }),
        "snapshot",
        Snapshot,
      );
      assert.equal(snap.readyToUse, true);
      assert.deepEqual(fieldsOf(mcp.forms.at(-1)!), ["confirm"]);
      assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
        `create virtualmachinesnapshots ${vm}-snap`,
      ]);

      mcp.answer(decline);
      since = new Date();
      failed(
        await mcp.client.callTool({
          name: "vm_snapshot_restore",
          arguments: { vm, snapshot: `${vm}-base` },
        }),
        "Cancelled",
      );
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await fingerprints(c, ns, vm), written);

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
      assert.deepEqual(await fingerprints(c, ns, vm), { rootdisk: `${vm}-rootdisk-v1` });
    } finally {
      await mcp.close();
    }
  });

  describe("v1 @modelcontextprotocol/sdk client over HTTP to a real `vmsnap mcp` process", () => {
    let server: HttpServerProcess;
    before(async () => {
      server = await startHttpServer({ namespace: ns });
    });
    after(() => server?.close());

    it("the human confirms a create; a declined one writes nothing", async () => {
      const vm = vmName("v1h");
      await makeVm(c, ns, vm);
      const client = new V1Client(
        { name: "vmsnap-tests-v1", version: "1.0.0" },
        { capabilities: { elicitation: {} } },
      );
      let answer: "accept" | "decline" = "decline";
      let asked = 0;
      client.setRequestHandler(ElicitRequestSchema, () => {
        asked++;
        return answer === "accept"
          ? { action: "accept", content: { confirm: true } }
          : { action: "decline" };
      });
      await client.connect(new V1Http(new URL(server.url)));
      try {
        let since = new Date();
        failed(
          (await client.callTool({
            name: "vm_snapshot_create",
            arguments: { vm, name: `${vm}-no` },
          })) as CallToolResult,
          "Cancelled",
        );
        await assertNoWritesIn([ns], since);
        answer = "accept";
        since = new Date();
        const snap = done(
          (await client.callTool({
            name: "vm_snapshot_create",
            arguments: { vm, name: `${vm}-yes` },
          })) as CallToolResult,
          "snapshot",
          Snapshot,
        );
        assert.equal(snap.readyToUse, true);
        assert.equal(asked, 2, "the human was asked each time");
        assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
          `create virtualmachinesnapshots ${vm}-yes`,
        ]);
      } finally {
        await client.close();
      }
    });
  });
});

describe("a form not answered in time, failed or incomplete is Cancelled, and writes nothing", () => {
  it("2025 era: the human answers after the form timeout (1 s here) → Cancelled", async () => {
    const vm = vmName("slow");
    await makeVm(c, ns, vm);
    const mcp = await connectInProcess(serverOptions({ namespace: ns, formTimeoutMs: 1000 }), {
      era: "legacy",
      onElicit: async () => {
        await new Promise((r) => setTimeout(r, 2500));
        return { action: "accept", content: { confirm: true } };
      },
    });
    try {
      const since = new Date();
      const e = failed(
        await mcp.client.callTool({ name: "vm_snapshot_create", arguments: { vm } }),
        "Cancelled",
      );
      assert.match(e!.message, /not answered within 1 s; nothing was changed/);
      // The late answer arrives after the refusal: it must not create anything either.
      await new Promise((r) => setTimeout(r, 2000));
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await snapshotsOf(c, ns, vm), []);
    } finally {
      await mcp.close();
    }
  });

  it("2025 era: the client's form fails (its handler throws) → Cancelled, not OperationFailed", async () => {
    const vm = vmName("broken");
    await makeVm(c, ns, vm);
    await adminSnapshot(c, ns, vm, `${vm}-snap`);
    const mcp = await connectInProcess(serverOptions({ namespace: ns }), {
      era: "legacy",
      onElicit: () => {
        throw new Error("the form could not be shown");
      },
    });
    try {
      const since = new Date();
      for (const [name, args] of [
        ["vm_snapshot_create", { vm }],
        ["vm_snapshot_restore", { vm, snapshot: `${vm}-snap` }],
        ["vm_snapshot_delete", { snapshot: `${vm}-snap` }],
      ] as const) {
        const e = failed(await mcp.client.callTool({ name, arguments: args }), "Cancelled");
        assert.match(e!.message, /confirmation form failed/, name);
      }
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await snapshotsOf(c, ns, vm), [`${vm}-snap`]);
    } finally {
      await mcp.close();
    }
  });

  for (const era of ["modern", "legacy"] as const) {
    it(`${era}: incomplete answers (missing fields, wrong types) → Cancelled`, async () => {
      const vm = vmName(`inc-${era}`);
      await makeVm(c, ns, vm);
      await adminSnapshot(c, ns, vm, `${vm}-snap`);
      const mcp = await connectInProcess(serverOptions({ namespace: ns }), { era });
      try {
        const since = new Date();
        const answers: [string, Record<string, unknown>, Record<string, string | boolean>][] = [
          ["vm_snapshot_create", { vm }, {}],
          ["vm_snapshot_create", { vm }, { confirm: "yes" }],
          ["vm_snapshot_restore", { vm, snapshot: `${vm}-snap` }, { confirm: true }],
          ["vm_snapshot_restore", { vm, snapshot: `${vm}-snap` }, { snapshotName: `${vm}-snap` }],
          ["vm_snapshot_delete", { snapshot: `${vm}-snap` }, {}],
        ];
        for (const [name, args, content] of answers) {
          mcp.answer(() => ({ action: "accept", content }));
          const r = await mcp.client.callTool({ name, arguments: args });
          failed(r, "Cancelled");
        }
        await assertNoWritesIn([ns], since);
        assert.deepEqual(await snapshotsOf(c, ns, vm), [`${vm}-snap`]);
      } finally {
        await mcp.close();
      }
    });
  }
});
