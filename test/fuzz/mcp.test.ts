// Fuzzing the MCP tools' arguments (SPEC §3.1, §7): every tool through a real MCP client
// connected in-process to the server, which runs as the dedicated vmsnap-fuzz identity. Wrong
// types, extra keys, invalid names, huge strings, unicode: each refused with a readable error
// naming the field; the server stays up; nothing is written.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TOOLS } from "../../src/mcp/tools/index.js";
import { Client, InMemoryTransport } from "@modelcontextprotocol/client";
import type { McpRequestContext } from "@modelcontextprotocol/server";
import { createServerFactory } from "../../src/mcp/server.js";
import { TokenStore } from "../../src/mcp/tokens.js";
import { VirtualMachineList } from "../../src/core/schema.js";
import type { KubeClient } from "../../src/kube/client.js";
import { FUZZ } from "../../src/playground/identities.js";
import { WRITE_VERBS } from "../../src/playground/audit.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { requestsSince } from "../helpers/audit.js";
import { callOrError, ok, textOf } from "../helpers/mcp.js";
import { hostileString, invalidName, validName } from "./arbitraries.js";

const RUNS = 10_000;

let admin: KubeClient;
let ns: string;
let client: Client;
let closeServer: () => Promise<void>;
let started: Date;

before(async () => {
  admin = await adminClient();
  ns = await newNamespace(admin, "fuzz-mcp");
  started = new Date();
  // One server over a linked in-memory pair (as over stdio: one connection, the 2025 handshake):
  // the HTTP handler builds a server per request, too slow for ten thousand calls.
  const server = createServerFactory({
    kubeconfig: kubeconfigOf(FUZZ.name),
    namespace: ns,
    confirmation: "elicit",
    readOnly: false,
    tokens: new TokenStore(),
  })({ era: "legacy" } as McpRequestContext);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  // No elicitation capability: a generated call can never be confirmed by anyone.
  client = new Client({ name: "vmsnap-fuzz", version: "1.0.0" }, { capabilities: {} });
  await client.connect(clientSide);
  closeServer = () => server.close();
});

after(async () => {
  await client?.close();
  await closeServer?.();
  admin?.close();
});

/** A value of any JSON type, hostile strings weighted up. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.string({ minLength: 5_000, maxLength: 20_000 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

const EXTRA_KEYS = [
  "rogue",
  "manifest",
  "kind",
  "apiVersion",
  "force",
  "__proto__",
  "constructor",
  "yes",
  "confirmed",
  "ÿ",
  "",
];

/** Arguments for one tool: its own keys with mostly bad values, sometimes extra or missing keys. */
function argsFor(keys: string[]): fc.Arbitrary<Record<string, unknown>> {
  const entry = (k: string) =>
    fc.tuple(
      fc.constant(k),
      fc.oneof(
        // Mostly invalid: a valid call costs a real session, an invalid one none.
        { weight: 6, arbitrary: invalidName },
        { weight: 1, arbitrary: validName },
        { weight: 6, arbitrary: anyValue },
      ),
    );
  return fc
    .tuple(
      fc.subarray(keys, { minLength: 1 }).chain((ks) => fc.tuple(...ks.map(entry))),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...EXTRA_KEYS), fc.string()), anyValue), {
        maxLength: 2,
      }),
    )
    .map(([own, extra]) => Object.fromEntries([...own, ...extra]));
}

const call = fc
  .constantFrom(...TOOLS)
  .chain((tool) => argsFor(Object.keys(tool.input.shape)).map((args) => ({ tool, args })));

describe(`fuzz: MCP tool arguments (${RUNS} generated calls over all ${TOOLS.length} tools)`, () => {
  it(`${RUNS} generated argument objects: invalid ones are refused naming the field, the server stays up`, async (t) => {
    let count = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(call, async ({ tool, args }) => {
        count++;
        // Round trip through JSON: what a client can actually send.
        const sent = JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
        // JSON's own "__proto__" key does not survive the SDK's argument handling: the tool
        // sees the arguments without it (never a changed prototype), so it is judged without it.
        const { __proto__: dropped, ...seen } = sent;
        void dropped;
        const valid = tool.input.safeParse(Object.hasOwn(sent, "__proto__") ? seen : sent).success;
        const { result, thrown } = await callOrError(client, tool.name, sent);
        const what = `${tool.name} ${JSON.stringify(sent).slice(0, 200)}`;
        const text = result ? textOf(result) : String(thrown?.message);
        assert.ok(thrown === undefined || thrown instanceof Error, what);
        assert.doesNotMatch(text, /\n\s+at \S.*:\d+:\d+\)?$/m, `a stack trace: ${what}\n${text}`);
        if (valid) return;
        refused++;
        assert.ok(thrown || result?.isError === true, `accepted: ${what}\n${text}`);
        assert.ok(text.trim().length > 0, `a silent refusal: ${what}`);
        // The message names a field: one the call sent or one the tool requires.
        // (An empty key can only be named quoted: `Unrecognized key: ""`.)
        const fields = [...Object.keys(sent), ...Object.keys(tool.input.shape)].map((f) =>
          f === "" ? '""' : f,
        );
        assert.ok(
          fields.some((f) => text.includes(f)),
          `the refusal names no field: ${what}\n${text}`,
        );
      }),
      { numRuns: RUNS },
    );
    assert.equal(count, RUNS);
    assert.ok(refused > RUNS / 2, `${refused} of ${RUNS} refused`);
    t.diagnostic(
      `${RUNS} generated calls: ${refused} invalid (all refused), ${RUNS - refused} valid`,
    );
    // Still up, and still serving valid calls.
    ok(await client.callTool({ name: "vm_list", arguments: {} }), VirtualMachineList);
  });

  it("the audit log: no write by the fuzz identity", async () => {
    const events = await requestsSince(started, FUZZ.name);
    const writes = events.filter((e) => WRITE_VERBS.has(e.verb));
    assert.deepEqual(
      writes.map((e) => `${e.verb} ${e.requestURI}`),
      [],
      "the fuzz identity wrote",
    );
    assert.ok(events.length > 0, "valid calls reached the API server");
  });
});
