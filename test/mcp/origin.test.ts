// A hostile web page against the loopback HTTP transport (docs/security.md): a browser lets any
// page POST to http://127.0.0.1:<port>/mcp, but it always says where the page came from (Origin).
// A real `vmsnap mcp --transport http` process refuses foreign origins before any tool runs, and
// still serves the same request from a local origin or a non-browser client.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { requestsSince } from "../helpers/audit.js";
import { startHttpServer, type HttpServerProcess } from "../helpers/mcp.js";

let c: KubeClient;
let ns: string;
let server: HttpServerProcess;

before(async () => {
  c = await adminClient();
  ns = await newNamespace(c, "mcp-origin");
  server = await startHttpServer({ namespace: ns });
});

after(async () => {
  await server?.close();
  c?.close();
});

/** A JSON-RPC POST as a browser page would send it (fetch with a JSON body). */
async function post(body: unknown, origin?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(server.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
      ...(origin ? { origin } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "evil-page", version: "1" },
  },
};

const listVms = {
  jsonrpc: "2.0",
  id: 2,
  method: "tools/call",
  params: { name: "vm_list", arguments: {} },
};

describe("HTTP transport: a hostile web page", () => {
  for (const origin of ["https://evil.example", "http://127.0.0.1.evil.example", "null"]) {
    it(`Origin ${origin}: refused (403) before anything runs, no request to the cluster`, async () => {
      const since = new Date();
      for (const body of [initialize, listVms]) {
        const r = await post(body, origin);
        assert.equal(r.status, 403, `${origin} → ${r.status} ${r.text}`);
        assert.doesNotMatch(r.text, /VirtualMachineList|serverInfo/);
      }
      const sent = (await requestsSince(since)).filter((e) => e.objectRef?.namespace === ns);
      assert.deepEqual(
        sent.map((e) => e.requestURI),
        [],
      );
    });
  }

  it("the same requests from a local origin, or with no Origin (a non-browser client), are served", async () => {
    const port = new URL(server.url).port;
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, undefined]) {
      const r = await post(initialize, origin);
      assert.equal(r.status, 200, `${origin ?? "no Origin"} → ${r.status} ${r.text}`);
      assert.match(r.text, /serverInfo/);
    }
  });
});
