// The read-only roles of deploy/rbac/ (SPEC §3.7), as the vmsnap-reader identity bound only to
// them: every read command and read-only MCP tool works on KubeVirt, VM Operator and Deckhouse; every write
// command, dry runs included, fails with exit 5 naming the missing verb and resource, and the
// audit log shows that no write got through (and no real write was even tried).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { Core, Deckhouse, KubeVirt, type ResourceType } from "../../src/kube/resources.js";
import {
  ensureSimStorage,
  pvcManifest,
  vmManifest,
  vmoVmManifest,
} from "../../src/playground/fixtures.js";
import { SIM } from "../../src/playground/simulator/annotations.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { READER } from "../../src/playground/identities.js";
import { WRITE_VERBS, isDryRun } from "../../src/playground/audit.js";
import { TokenStore } from "../../src/mcp/tokens.js";
import {
  ErrorObject,
  Preflight,
  Snapshot,
  SnapshotList,
  VirtualMachineList,
} from "../../src/core/schema.js";
import { adminClient, kubeconfigOf, newNamespace } from "../helpers/env.js";
import { json, runCli, type CliResult } from "../helpers/cli.js";
import { requestsSince } from "../helpers/audit.js";
import { waitFor } from "../helpers/kube.js";
import { makeDhVm } from "../helpers/deckhouse.js";
import { READ_TOOLS, connectInProcess, ok } from "../helpers/mcp.js";

let c: KubeClient;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
});

after(() => c?.close());

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

interface Platform {
  name: string;
  snapshots: ResourceType;
  makeVm(ns: string, vm: string): Promise<void>;
  /** The write each command needs first, as the API server names it: [verb, resource]. */
  writes: [string[], string, string][];
}

const PLATFORMS: Platform[] = [
  {
    name: "KubeVirt",
    snapshots: KubeVirt.snapshots,
    async makeVm(ns, vm) {
      await c.create(Core.pvcs, pvcManifest({ name: `${vm}-root`, namespace: ns, data: "v1" }));
      await c.create(
        KubeVirt.vms,
        vmManifest({
          name: vm,
          namespace: ns,
          runStrategy: "Halted",
          disks: [{ name: "rootdisk", claimName: `${vm}-root` }],
        }),
      );
      await waitFor(c, KubeVirt.vms, vm, ns, (v) => v.status?.printableStatus === "Stopped");
    },
    writes: [
      [["create", "ro-vm", "--yes"], "create", "virtualmachinesnapshots"],
      [["create", "ro-vm", "--dry-run"], "create", "virtualmachinesnapshots"],
      // Restore first checks that no other restore of the VM is in progress.
      [
        ["restore", "ro-vm", "ro-snap", "--confirm", "ro-snap", "--yes"],
        "list",
        "virtualmachinerestores",
      ],
      [["restore", "ro-vm", "ro-snap", "--dry-run"], "list", "virtualmachinerestores"],
      [["clone", "ro-snap", "--to", "ro-clone", "--yes"], "create", "virtualmachineclones"],
      [["clone", "ro-snap", "--to", "ro-clone", "--dry-run"], "create", "virtualmachineclones"],
      [["delete", "ro-snap", "--confirm", "ro-snap"], "delete", "virtualmachinesnapshots"],
      [["delete", "ro-snap", "--dry-run"], "delete", "virtualmachinesnapshots"],
    ],
  },
  {
    name: "VM Operator",
    snapshots: VmOp.snapshots,
    async makeVm(ns, vm) {
      await c.create(Core.pvcs, pvcManifest({ name: `${vm}-data`, namespace: ns, data: "v1" }));
      await c.create(
        VmOp.vms,
        vmoVmManifest({
          name: vm,
          namespace: ns,
          powerState: "PoweredOff",
          claims: [{ name: "data", claimName: `${vm}-data` }],
          annotations: { [SIM.data]: `${vm}-boot-v1` },
        }),
      );
      await waitFor(
        c,
        VmOp.vms,
        vm,
        ns,
        (v) => v.status?.powerState === "PoweredOff" && Boolean(v.status?.uniqueID),
      );
    },
    writes: [
      [["create", "ro-vm", "--yes"], "create", "virtualmachinesnapshots"],
      [["create", "ro-vm", "--dry-run"], "create", "virtualmachinesnapshots"],
      // Revert: the safety snapshot comes first, then the VM patch.
      [
        ["restore", "ro-vm", "ro-snap", "--confirm", "ro-snap", "--yes"],
        "create",
        "virtualmachinesnapshots",
      ],
      [
        ["restore", "ro-vm", "ro-snap", "--confirm", "ro-snap", "--yes", "--no-safety-snapshot"],
        "patch",
        "virtualmachines",
      ],
      [["restore", "ro-vm", "ro-snap", "--dry-run"], "create", "virtualmachinesnapshots"],
      [
        ["restore", "ro-vm", "ro-snap", "--dry-run", "--no-safety-snapshot"],
        "patch",
        "virtualmachines",
      ],
      [["delete", "ro-snap", "--confirm", "ro-snap"], "delete", "virtualmachinesnapshots"],
      [["delete", "ro-snap", "--dry-run"], "delete", "virtualmachinesnapshots"],
    ],
  },
  {
    name: "Deckhouse",
    snapshots: Deckhouse.vmSnapshots,
    async makeVm(ns, vm) {
      await makeDhVm(c, ns, vm, { runPolicy: "Manual", running: false, disks: ["root"] });
    },
    writes: [
      [["create", "ro-vm", "--yes"], "create", "virtualmachinesnapshots"],
      [["create", "ro-vm", "--dry-run"], "create", "virtualmachinesnapshots"],
      [["create-disk", "ro-vm-root", "--yes"], "create", "virtualdisksnapshots"],
      // Restore first asks Deckhouse for its own dry run: a DryRun VirtualMachineOperation.
      [
        ["restore", "ro-vm", "ro-snap", "--confirm", "ro-snap", "--yes"],
        "create",
        "virtualmachineoperations",
      ],
      [["restore", "ro-vm", "ro-snap", "--dry-run"], "create", "virtualmachineoperations"],
      [
        ["clone", "ro-snap", "--to", "ro-clone", "--yes"],
        "create",
        "virtualmachinesnapshotoperations",
      ],
      [["delete", "ro-snap", "--confirm", "ro-snap"], "delete", "virtualmachinesnapshots"],
      [["delete", "ro-snap", "--dry-run"], "delete", "virtualmachinesnapshots"],
    ],
  },
];

for (const p of PLATFORMS) {
  describe(`read-only roles on ${p.name} (vmsnap-reader)`, () => {
    let ns: string;
    const reader = (...args: string[]) => runCli(["-n", ns, ...args], { user: READER.name });

    before(async () => {
      ns = await newNamespace(c, "ro");
      await p.makeVm(ns, "ro-vm");
      // The snapshot is taken by the operator identity (vmsnap-user).
      const r = await runCli(["-n", ns, "create", "ro-vm", "--name", "ro-snap", "--yes"]);
      assert.equal(r.code, 0, show(r));
    });

    it("every read command succeeds: vms, check, list, describe", async () => {
      const vms = await reader("vms", "-o", "json");
      assert.equal(vms.code, 0, show(vms));
      const names = VirtualMachineList.parse(json(vms)).items.map((v) => v.name);
      assert.deepEqual(names, ["ro-vm"]);
      const one = await reader("vms", "ro-vm");
      assert.equal(one.code, 0, show(one));
      assert.match(one.stdout, /ro-vm/);

      const check = await reader("check", "ro-vm", "-o", "json");
      assert.ok(check.code === 0 || check.code === 1, show(check));
      assert.equal(Preflight.parse(json(check)).vm, "ro-vm");

      const list = await reader("list", "-o", "json");
      assert.equal(list.code, 0, show(list));
      assert.deepEqual(
        SnapshotList.parse(json(list)).items.map((s) => s.name),
        ["ro-snap"],
      );
      const listVm = await reader("list", "ro-vm");
      assert.equal(listVm.code, 0, show(listVm));
      assert.match(listVm.stdout, /ro-snap/);

      const describe = await reader("describe", "ro-snap", "-o", "json");
      assert.equal(describe.code, 0, show(describe));
      assert.equal(Snapshot.parse(json(describe)).name, "ro-snap");
    });

    it("every read-only MCP tool succeeds", async () => {
      const mcp = await connectInProcess({
        kubeconfig: kubeconfigOf(READER.name),
        namespace: ns,
        confirmation: "elicit",
        readOnly: true,
        tokens: new TokenStore(),
      });
      try {
        const tools = (await mcp.client.listTools()).tools.map((t) => t.name).sort();
        assert.deepEqual(tools, [...READ_TOOLS].sort());
        const vms = ok(
          await mcp.client.callTool({ name: "vm_list", arguments: {} }),
          VirtualMachineList,
        );
        assert.deepEqual(
          vms.items.map((v) => v.name),
          ["ro-vm"],
        );
        const pre = ok(
          await mcp.client.callTool({ name: "vm_snapshot_check", arguments: { vm: "ro-vm" } }),
          Preflight,
        );
        assert.equal(pre.vm, "ro-vm");
        const list = ok(
          await mcp.client.callTool({ name: "vm_snapshot_list", arguments: { vm: "ro-vm" } }),
          SnapshotList,
        );
        assert.deepEqual(
          list.items.map((s) => s.name),
          ["ro-snap"],
        );
        const snap = ok(
          await mcp.client.callTool({
            name: "vm_snapshot_get",
            arguments: { snapshot: "ro-snap" },
          }),
          Snapshot,
        );
        assert.equal(snap.name, "ro-snap");
      } finally {
        await mcp.close();
      }
    });

    for (const [args, verb, resource] of p.writes) {
      it(`${args.join(" ")}: exit 5 naming verb "${verb}" on "${resource}"; no write got through`, async () => {
        const before = (await c.list(p.snapshots, ns)).items.map((s) => s.metadata.name);
        const since = new Date();
        const r = await reader(...args);
        assert.equal(r.code, 5, show(r));
        assert.match(r.stderr, /forbidden/, show(r));
        assert.match(
          r.stderr,
          new RegExp(`missing permission: verb "${verb}" on resource "${resource}"`),
          show(r),
        );
        assert.doesNotMatch(r.stderr + r.stdout, /token/i, "credentials never appear");
        const j = await reader("-o", "json", ...args);
        const e = ErrorObject.parse(json(j));
        assert.equal(j.code, 5, show(j));
        assert.equal(e.code, "Forbidden");
        assert.match(e.hint ?? "", new RegExp(`verb "${verb}" on resource "${resource}"`));

        const writes = (await requestsSince(since, READER.name)).filter((x) =>
          WRITE_VERBS.has(x.verb),
        );
        assert.deepEqual(
          writes.filter((x) => (x.responseStatus?.code ?? 0) < 400).map((x) => x.requestURI),
          [],
          "a write got through",
        );
        // The dry run comes first and is refused: no real write is even attempted.
        assert.deepEqual(
          writes.filter((x) => !isDryRun(x)).map((x) => `${x.verb} ${x.requestURI}`),
          [],
          "a real write was attempted",
        );
        assert.deepEqual(
          (await c.list(p.snapshots, ns)).items.map((s) => s.metadata.name),
          before,
        );
      });
    }
  });
}

describe("read-only roles on VM Operator: clone", () => {
  it("clone is refused as unsupported by the platform, before any write", async () => {
    const ns = await newNamespace(c, "ro-clone");
    await PLATFORMS[1]!.makeVm(ns, "ro-vm");
    const since = new Date();
    const r = await runCli(["-n", ns, "clone", "ro-snap", "--to", "ro-clone", "--yes"], {
      user: READER.name,
    });
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /not supported|cannot|clone/i, show(r));
    const writes = (await requestsSince(since, READER.name)).filter((x) => WRITE_VERBS.has(x.verb));
    assert.deepEqual(
      writes.filter((x) => x.objectRef?.namespace === ns).map((x) => x.requestURI),
      [],
    );
  });
});
