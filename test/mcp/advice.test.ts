// No advice that routes around the human (issue 13, SPEC §7): what the MCP server says — result
// text, previews, error messages and hints — names tools and their arguments, never a vmsnap
// command or a CLI flag, and never a way around a confirmation. Checked through real MCP SDK
// clients of both generations: the v2 client (2026-07-28, in process; elicitation and token
// modes) and the v1 `@modelcontextprotocol/sdk` client (2025 era) over stdio with a real server.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as V1Stdio } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { VMSNAP_USER } from "../../src/playground/identities.js";
import { Restore } from "../../src/core/schema.js";
import { CLI } from "../helpers/cli.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import {
  challenge,
  connectInProcess,
  done,
  failed,
  serverOptions,
  textOf,
  type McpConnection,
} from "../helpers/mcp.js";
import { adminSnapshot, makeVm, writeAll } from "./fixtures.js";

// A vmsnap command (`vmsnap restore …`, `vmsnap -n ns …`) or a CLI flag (`--confirm`, `-n NS`).
const COMMAND = /\bvmsnap\s+(-n\b|-A\b|vms|check|create|list|describe|restore|clone|delete|mcp)\b/;
const FLAG = /(^|[\s(`'"=,:])(--[a-z][a-z-]*|-[nAloqv]\s)/m;
const BYPASS = /--yes|--confirm\b/;

/** Everything a client reads from a result: its text and its structured content. */
function said(r: CallToolResult): string {
  return `${textOf(r)}\n${JSON.stringify(r.structuredContent ?? {})}`;
}

function assertToolWords(r: CallToolResult, what: string): void {
  const text = said(r);
  assert.doesNotMatch(text, COMMAND, `${what}: a vmsnap command in MCP text:\n${text}`);
  assert.doesNotMatch(text, FLAG, `${what}: a CLI flag in MCP text:\n${text}`);
  assert.doesNotMatch(text, BYPASS, `${what}: a way around the confirmation:\n${text}`);
}

let c: KubeClient;
let ns: string;
let n = 0;

/** A stopped VM with a ready snapshot and newer data; and a running VM without a guest agent. */
async function scenario() {
  const vm = `adv-${++n}`;
  await makeVm(c, ns, vm);
  await adminSnapshot(c, ns, vm, `${vm}-snap`);
  await writeAll(c, ns, vm, "v2");
  return { vm, snap: `${vm}-snap` };
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-advice");
  await makeVm(c, ns, "adv-run", { run: true });
  await makeVm(c, ns, "adv-other");
  await adminSnapshot(c, ns, "adv-other", "adv-other-snap");
});

after(() => c?.close());

/** The human: accepts every form, typing the snapshot name the form asks for. */
function human(params: unknown): {
  action: "accept";
  content: Record<string, string | boolean>;
} {
  const p = params as { requestedSchema?: { properties?: Record<string, { title?: string }> } };
  const props = p.requestedSchema?.properties ?? {};
  const typed = /^Type (\S+) to /.exec(props.snapshotName?.title ?? "")?.[1];
  return {
    action: "accept",
    content: { ...(typed ? { snapshotName: typed } : {}), confirm: true },
  };
}

/** The calls of a session with an agent: reads, dry runs, refusals, a create and a restore. */
async function session(
  call: (name: string, args: Record<string, unknown>) => Promise<CallToolResult>,
  label: string,
): Promise<void> {
  const { vm, snap } = await scenario();
  const check = await call("vm_snapshot_check", { vm: "adv-run" });
  assertToolWords(check, `${label} check`);
  assert.match(textOf(check), /stop the VM for an offline snapshot \(stopVm: true\)/);

  for (const [what, name, args] of [
    ["create dry run", "vm_snapshot_create", { vm, dryRun: true }],
    ["restore dry run", "vm_snapshot_restore", { vm, snapshot: snap, dryRun: true }],
    [
      "restore dry run without a safety snapshot",
      "vm_snapshot_restore",
      { vm, snapshot: snap, dryRun: true, safetySnapshot: false },
    ],
    ["delete dry run", "vm_snapshot_delete", { snapshot: snap, dryRun: true }],
    ["list", "vm_snapshot_list", { vm }],
    ["get", "vm_snapshot_get", { snapshot: snap }],
  ] as const) {
    const r = await call(name, args);
    assert.notEqual(r.isError, true, textOf(r));
    assertToolWords(r, `${label} ${what}`);
  }

  const missing = await call("vm_snapshot_restore", { vm, snapshot: "nope", dryRun: true });
  const e1 = failed(missing, "NotFound");
  assert.match(e1!.hint ?? "", new RegExp(`vm_snapshot_list with namespace "${ns}", vm "${vm}"`));
  assertToolWords(missing, `${label} missing snapshot`);
  const foreign = await call("vm_snapshot_create", { vm, name: "adv-other-snap" });
  const e2 = failed(foreign, "Conflict");
  assert.match(e2!.hint ?? "", /the argument name/);
  assertToolWords(foreign, `${label} name taken`);
  const blocked = await call("vm_snapshot_restore", {
    vm,
    snapshot: "adv-other-snap",
    dryRun: true,
  });
  assert.match(failed(blocked, "InvalidInput")!.hint ?? "", /vm_clone_from_snapshot with/);
  assertToolWords(blocked, `${label} foreign snapshot`);

  const restored = await call("vm_snapshot_restore", { vm, snapshot: snap });
  const res = done(restored, "restore", Restore);
  assertToolWords(restored, `${label} restore`);
  assert.match(
    textOf(restored),
    new RegExp(
      `To undo: vm_snapshot_restore with namespace "${ns}", vm "${vm}", snapshot "${res.safetySnapshot}"`,
    ),
  );
}

describe("MCP text names tools and arguments, never a command, a flag or a bypass", () => {
  it("2026-07-28 (v2 client, in process, elicitation)", async () => {
    const mcp: McpConnection = await connectInProcess(serverOptions({ namespace: ns }), {
      era: "modern",
      onElicit: (req) => human(req.params),
    });
    try {
      await session(
        async (name, args) =>
          (await mcp.client.callTool({ name, arguments: args })) as CallToolResult,
        "modern",
      );
    } finally {
      await mcp.close();
    }
  });

  it("token mode: the challenge says what the human must give, in arguments", async () => {
    const mcp = await connectInProcess(serverOptions({ namespace: ns, confirmation: "token" }), {
      era: "modern",
    });
    try {
      const { vm, snap } = await scenario();
      const r = (await mcp.client.callTool({
        name: "vm_snapshot_restore",
        arguments: { vm, snapshot: snap },
      })) as CallToolResult;
      const ch = challenge(r);
      assertToolWords(r, "token challenge");
      assert.deepEqual(ch.requires, [
        "confirmationToken",
        "confirmSnapshotName (typed by the human)",
      ]);
    } finally {
      await mcp.close();
    }
  });

  it("2025 era (v1 @modelcontextprotocol/sdk client over stdio, push elicitation)", async () => {
    const client = new V1Client(
      { name: "vmsnap-tests-v1", version: "1.0.0" },
      { capabilities: { elicitation: {} } },
    );
    client.setRequestHandler(ElicitRequestSchema, (req) => human(req.params));
    const transport = new V1Stdio({
      command: process.execPath,
      args: [
        CLI,
        "--kubeconfig",
        kubeconfigOf(VMSNAP_USER.name),
        "-n",
        ns,
        "mcp",
        "--transport",
        "stdio",
      ],
      env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" },
      stderr: "pipe",
    });
    await client.connect(transport);
    try {
      await session(
        async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
        "legacy",
      );
    } finally {
      await client.close();
    }
  });
});
