// Permissions for one platform only (vmsnap-kubevirt-reader: the common and KubeVirt read-only
// roles of deploy/rbac/, on a cluster that serves every platform): `vms`, `list` and `describe`
// return what they may read and warn about the platforms they may not — on stderr for the CLI, in
// a `warnings` field for MCP and -o json — and exit 0.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { KUBEVIRT_READER } from "../../src/playground/identities.js";
import { TokenStore } from "../../src/mcp/tokens.js";
import { Snapshot, SnapshotList, VirtualMachineList } from "../../src/core/schema.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { json, runCli, showResult, type CliResult } from "../helpers/cli.js";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { connectInProcess, ok, textOf } from "../helpers/mcp.js";
import { makeDhVm } from "../helpers/deckhouse.js";
import { makeSnapshot, makeVm } from "../faults/fixtures.js";

let c: KubeClient;
let ns: string;

const reader = (...args: string[]): Promise<CliResult> =>
  runCli(["-n", ns, ...args], { user: KUBEVIRT_READER.name });

/** The platforms the reader may not read, each named in a warning about what is missing. */
const UNREADABLE = ["deckhouse", "vmoperator"];

function expectWarnings(r: CliResult, what: string): void {
  for (const p of UNREADABLE)
    assert.match(
      r.stderr,
      new RegExp(
        `^warning: ${p}: no permission to read its ${what}, so they are not included \\(`,
        "m",
      ),
      showResult(r),
    );
  assert.doesNotMatch(r.stderr, /warning: kubevirt/, showResult(r));
}

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "partial");
  await makeVm(c, ns, "kv-vm");
  await makeSnapshot(c, ns, "kv-snap", "kv-vm");
  // A Deckhouse VM the reader may not see.
  await makeDhVm(c, ns, "dh-vm", { runPolicy: "Manual", running: false, disks: ["root"] });
});

after(() => c?.close());

describe("permissions for KubeVirt only", () => {
  it("vms: the KubeVirt VMs, a warning per unreadable platform, exit 0", async () => {
    const r = await reader("vms");
    assert.equal(r.code, 0, showResult(r));
    assert.match(r.stdout, /kv-vm/);
    assert.doesNotMatch(r.stdout, /dh-vm/);
    expectWarnings(r, "VMs");
    const j = await reader("vms", "-o", "json");
    assert.equal(j.code, 0, showResult(j));
    const list = VirtualMachineList.parse(json(j));
    assert.deepEqual(
      list.items.map((v) => v.name),
      ["kv-vm"],
    );
    assert.deepEqual(
      (list.warnings ?? []).map((w) => w.split(":")[0]),
      UNREADABLE,
    );
  });

  it("list: the KubeVirt snapshots, warnings, exit 0", async () => {
    const r = await reader("list");
    assert.equal(r.code, 0, showResult(r));
    assert.match(r.stdout, /kv-snap/);
    expectWarnings(r, "snapshots");
    const j = await reader("list", "-o", "json");
    const list = SnapshotList.parse(json(j));
    assert.deepEqual(
      list.items.map((s) => s.name),
      ["kv-snap"],
    );
    assert.equal(list.warnings?.length, 2);
  });

  it("describe: a KubeVirt snapshot is described (exit 0); a missing one is not found (4), naming what could not be read", async () => {
    const r = await reader("describe", "kv-snap", "-o", "json");
    assert.equal(r.code, 0, showResult(r));
    assert.equal(Snapshot.parse(json(r)).name, "kv-snap");
    const missing = await reader("describe", "no-such-snap");
    assert.equal(missing.code, 4, showResult(missing));
    assert.match(
      missing.stderr,
      new RegExp(
        `snapshot ${ns}/no-such-snap not found \\(not all platforms could be read: deckhouse: no permission to read its snapshots`,
      ),
    );
  });

  it("MCP: vm_list and vm_snapshot_list carry the warnings in their result", async () => {
    const mcp = await connectInProcess({
      kubeconfig: kubeconfigOf(KUBEVIRT_READER.name),
      namespace: ns,
      confirmation: "elicit",
      readOnly: true,
      tokens: new TokenStore(),
    });
    try {
      const raw = (await mcp.client.callTool({ name: "vm_list", arguments: {} })) as CallToolResult;
      assert.match(textOf(raw), /^warning: deckhouse: no permission to read its VMs/m);
      const vms = ok(raw, VirtualMachineList);
      assert.deepEqual(
        vms.items.map((v) => v.name),
        ["kv-vm"],
      );
      assert.deepEqual(
        (vms.warnings ?? []).map((w) => w.split(":")[0]),
        UNREADABLE,
      );
      const list = ok(
        await mcp.client.callTool({ name: "vm_snapshot_list", arguments: {} }),
        SnapshotList,
      );
      assert.deepEqual(
        list.items.map((s) => s.name),
        ["kv-snap"],
      );
      assert.match(list.warnings?.[1] ?? "", /^vmoperator: no permission to read its snapshots/);
    } finally {
      await mcp.close();
    }
  });
});
