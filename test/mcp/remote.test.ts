// The HTTP surface of `vmsnap mcp --transport http` as a remote server (issue 13 item 3), real
// processes and real MCP SDK clients of both generations:
// - the endpoint is exactly /mcp;
// - with --allow-remote-bind the Host and Origin checks stay on (--allowed-host adds names), and
//   the server warns at start;
// - with --auth passthrough each request's bearer token is the Kubernetes credential: the API
//   server's RBAC applies per user (the server itself runs with the read-only identity, so a
//   snapshot made proves the caller's token was used); no token → 401 pointing to the
//   protected-resource metadata (RFC 9728, the MCP authorization spec).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Http } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { READER, VMSNAP_USER } from "../../src/playground/identities.js";
import { Snapshot, VirtualMachineList } from "../../src/core/schema.js";
import { adminClient, kubeconfigOf, newNamespace, testEnv } from "../helpers/env.js";
import { requestsSince } from "../helpers/audit.js";
import {
  accept,
  connectHttp,
  describeWrite,
  done,
  failed,
  ok,
  startHttpServer,
  writesIn,
  type HttpServerProcess,
} from "../helpers/mcp.js";
import { makeVm, snapshotsOf } from "./fixtures.js";

let c: KubeClient;
let ns: string;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-remote");
});

after(() => c?.close());

const tokenOf = (user: string) => {
  const id = testEnv().identities[user];
  assert.ok(id, `identity ${user}`);
  return id.token;
};

/** A raw HTTP request to the server's port with the given Host/Origin/Authorization. */
function raw(
  url: string,
  o: { path?: string; method?: string; host?: string; headers?: Record<string, string> } = {},
  body?: unknown,
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}> {
  const u = new URL(url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname === "0.0.0.0" ? "127.0.0.1" : u.hostname,
        port: u.port,
        // A new connection each time: a kept-alive socket the server closes between two tests
        // would be reused and reset (ECONNRESET).
        agent: false,
        path: o.path ?? u.pathname,
        method: o.method ?? (payload ? "POST" : "GET"),
        headers: {
          ...(payload
            ? {
                "content-type": "application/json",
                accept: "application/json, text/event-stream",
                "mcp-protocol-version": "2025-06-18",
              }
            : {}),
          ...(o.host ? { host: o.host } : {}),
          ...o.headers,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "probe", version: "1" },
  },
};

describe("the endpoint is exactly /mcp", () => {
  let server: HttpServerProcess;
  before(async () => {
    server = await startHttpServer({ namespace: ns });
  });
  after(() => server?.close());

  for (const path of ["/", "/mcpx", "/mcp/", "/mcp/tools", "/mcp-admin", "/MCP"]) {
    it(`${path} → 404, even for an MCP request`, async () => {
      const r = await raw(server.url, { path }, initialize);
      assert.equal(r.status, 404, `${path} → ${r.status} ${r.text}`);
      assert.doesNotMatch(r.text, /serverInfo/);
    });
  }

  it("/mcp (and /mcp with a query) is served", async () => {
    for (const path of ["/mcp", "/mcp?client=x"]) {
      const r = await raw(server.url, { path }, initialize);
      assert.equal(r.status, 200, `${path} → ${r.status} ${r.text}`);
      assert.match(r.text, /serverInfo/);
    }
  });
});

describe("--allow-remote-bind keeps the Host/Origin checks, and warns", () => {
  let server: HttpServerProcess;
  before(async () => {
    server = await startHttpServer({
      namespace: ns,
      listen: "0.0.0.0:0",
      args: ["--allow-remote-bind", "--allowed-host", "vmsnap.example"],
    });
  });
  after(() => server?.close());

  it("warns at start that the endpoint is reachable from the network, unauthenticated", () => {
    assert.match(server.stderr(), /warning: listening on 0\.0\.0\.0: .*reachable from the network/);
    assert.match(server.stderr(), /warning: Host\/Origin checks allow only: .*vmsnap\.example/);
    assert.match(server.stderr(), /warning: no authentication.*--auth passthrough/);
  });

  it("a foreign Host (DNS rebinding) or Origin is refused (403) before anything runs", async () => {
    const since = new Date();
    for (const [what, headers, host] of [
      ["Host evil.example", {}, "evil.example"],
      ["Host evil.example with a port", {}, "evil.example:8765"],
      ["Origin https://evil.example", { origin: "https://evil.example" }, "vmsnap.example"],
      ["Origin null", { origin: "null" }, undefined],
    ] as const) {
      const r = await raw(server.url, { host, headers }, initialize);
      assert.equal(r.status, 403, `${what} → ${r.status} ${r.text}`);
      assert.doesNotMatch(r.text, /serverInfo/);
    }
    const sent = (await requestsSince(since)).filter((e) => e.objectRef?.namespace === ns);
    assert.deepEqual(
      sent.map((e) => e.requestURI),
      [],
    );
  });

  it("an allowed host name (--allowed-host, loopback) and its origin are served", async () => {
    const port = new URL(server.url).port;
    for (const [host, origin] of [
      [`vmsnap.example:${port}`, `http://vmsnap.example:${port}`],
      [`127.0.0.1:${port}`, undefined],
      [`localhost:${port}`, `http://localhost:${port}`],
    ] as const) {
      const r = await raw(server.url, { host, headers: origin ? { origin } : {} }, initialize);
      assert.equal(r.status, 200, `${host} ${origin ?? ""} → ${r.status} ${r.text}`);
      assert.match(r.text, /serverInfo/);
    }
  });
});

describe("--auth passthrough: the caller's bearer token is the Kubernetes credential", () => {
  let server: HttpServerProcess;
  let url: string;
  before(async () => {
    await makeVm(c, ns, "pt");
    // The server's own credential is the read-only identity: only the caller's token can write.
    server = await startHttpServer({
      namespace: ns,
      kubeconfig: kubeconfigOf(READER.name),
      args: ["--auth", "passthrough"],
    });
    url = server.url;
  });
  after(() => server?.close());

  it("no token → 401 with WWW-Authenticate naming the protected-resource metadata, which is served", async () => {
    const since = new Date();
    const r = await raw(url, {}, initialize);
    assert.equal(r.status, 401, r.text);
    const challenge = String(r.headers["www-authenticate"] ?? "");
    const port = new URL(url).port;
    const metadataUrl = `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`;
    assert.match(challenge, /^Bearer /);
    assert.ok(challenge.includes(`resource_metadata="${metadataUrl}"`), challenge);
    const m = await raw(url, { path: "/.well-known/oauth-protected-resource/mcp" });
    assert.equal(m.status, 200, m.text);
    const metadata = JSON.parse(m.text) as { resource: string; bearer_methods_supported: string[] };
    assert.equal(metadata.resource, url);
    assert.deepEqual(metadata.bearer_methods_supported, ["header"]);
    assert.equal(
      (await requestsSince(since)).filter((e) => e.objectRef?.namespace === ns).length,
      0,
      "nothing reached the cluster",
    );
  });

  it("a token the API server does not accept → 401 invalid_token", async () => {
    const r = await raw(url, { headers: { authorization: "Bearer not-a-real-token" } }, initialize);
    assert.equal(r.status, 401, r.text);
    assert.match(String(r.headers["www-authenticate"] ?? ""), /invalid_token/);
    const mcp = connectHttp(url, { era: "modern" }, "not-a-real-token");
    await assert.rejects(mcp, /401|nauthorized/);
  });

  it("vmsnap-user (operator roles), v2 client: lists and snapshots as itself", async () => {
    const mcp = await connectHttp(
      url,
      { era: "modern", onElicit: accept({ confirm: true }) },
      tokenOf(VMSNAP_USER.name),
    );
    try {
      ok(await mcp.client.callTool({ name: "vm_list", arguments: {} }), VirtualMachineList);
      const since = new Date();
      const snap = done(
        await mcp.client.callTool({
          name: "vm_snapshot_create",
          arguments: { vm: "pt", name: "pt-user" },
        }),
        "snapshot",
        Snapshot,
      );
      assert.equal(snap.readyToUse, true);
      // The audit log: the write was made as vmsnap-user, not as the server's reader identity.
      assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
        "create virtualmachinesnapshots pt-user",
      ]);
    } finally {
      await mcp.close();
    }
  });

  it("vmsnap-reader (read-only roles), v1 client over a 2025-era session: reads; a snapshot is Forbidden, clearly", async () => {
    const client = new V1Client(
      { name: "vmsnap-tests-v1", version: "1.0.0" },
      { capabilities: { elicitation: {} } },
    );
    client.setRequestHandler(ElicitRequestSchema, () => ({
      action: "accept",
      content: { confirm: true },
    }));
    await client.connect(
      new V1Http(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${tokenOf(READER.name)}` } },
      }),
    );
    try {
      ok(
        (await client.callTool({ name: "vm_list", arguments: {} })) as CallToolResult,
        VirtualMachineList,
      );
      const since = new Date();
      const e = failed(
        (await client.callTool({
          name: "vm_snapshot_create",
          arguments: { vm: "pt", name: "pt-reader" },
        })) as CallToolResult,
        "Forbidden",
      );
      assert.match(e!.message, /vmsnap-reader|forbidden|not allowed/i);
      assert.deepEqual(await writesIn([ns], since, READER.name), []);
      assert.deepEqual(await snapshotsOf(c, ns, "pt"), ["pt-user"]);
    } finally {
      await client.close();
    }
  });

  it("--auth passthrough on stdio is refused at start (exit 2)", async () => {
    const { runMcpProcess } = await import("../helpers/mcp.js");
    const r = await runMcpProcess(["--transport", "stdio", "--auth", "passthrough"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--auth passthrough needs --transport http/);
  });
});
