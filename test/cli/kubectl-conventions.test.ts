// kubectl's output conventions, compared with what kubectl itself prints for the same objects
// (golden outputs a kubectl user would compare): -o jsonpath, -o custom-columns, --no-headers,
// --sort-by and -o name; a PLATFORM column where platforms mix; not-found and empty lists;
// usage errors as one line with where to read more.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { findBinaries } from "../../src/playground/binaries.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { vmManifest, vmoVmManifest } from "../../src/playground/fixtures.js";
import { VmOp } from "../../src/playground/simulator/vmoperator/index.js";
import { adminClient, adminKubeconfig, newNamespace } from "../helpers/env.js";
import { runCli, type CliResult } from "../helpers/cli.js";

const exec = promisify(execFile);
let ns: string;
let mixed: string;
let empty: string;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await exec(findBinaries().kubectl!, [
    "--kubeconfig",
    adminKubeconfig(),
    ...args,
  ]);
  return stdout;
}

function ok(r: CliResult): string {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  const c = await adminClient();
  ns = await newNamespace(c, "kconv");
  mixed = await newNamespace(c, "kconv-mixed");
  empty = await newNamespace(c, "kconv-empty");
  // Names whose natural order (web-2 before web-10) differs from their byte order: kubectl
  // sorts by bytes.
  for (const name of ["web-10", "db", "web-2"])
    await c.create(KubeVirt.vms, vmManifest({ name, namespace: ns, runStrategy: "Halted" }));
  await c.create(KubeVirt.snapshots, {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name: "db-before-upgrade", namespace: ns },
    spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "db" } },
  });
  await c.create(KubeVirt.vms, vmManifest({ name: "kv", namespace: mixed, runStrategy: "Halted" }));
  await c.create(
    VmOp.vms,
    vmoVmManifest({ name: "vs", namespace: mixed, powerState: "PoweredOff" }),
  );
  c.close();
});

describe("kubectl's output conventions, as kubectl prints them", () => {
  it("-o jsonpath: the same template over vmsnap's fields prints what kubectl prints", async () => {
    const mine = ok(
      await runCli([
        "vms",
        "-n",
        ns,
        "-o",
        'jsonpath={range .items[*]}{.name}{"\\t"}{.namespace}{"\\n"}{end}',
      ]),
    );
    const theirs = await kubectl(
      "get",
      "virtualmachines.kubevirt.io",
      "-n",
      ns,
      "-o",
      'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.metadata.namespace}{"\\n"}{end}',
    );
    assert.equal(mine, theirs);
    assert.equal(mine, `db\t${ns}\nweb-10\t${ns}\nweb-2\t${ns}\n`);
    assert.equal(
      ok(await runCli(["vms", "-n", ns, "-o", "jsonpath={.items[*].name}"])),
      await kubectl(
        "get",
        "virtualmachines.kubevirt.io",
        "-n",
        ns,
        "-o",
        "jsonpath={.items[*].metadata.name}",
      ),
    );
  });

  it("-o custom-columns, with and without --no-headers, and --sort-by as kubectl sorts", async () => {
    for (const extra of [[], ["--no-headers"], ["--sort-by", "{.metadata.name}"]]) {
      const sort = extra[0] === "--sort-by" ? ["--sort-by", ".name"] : extra;
      const mine = ok(
        await runCli([
          "vms",
          "-n",
          ns,
          "-o",
          "custom-columns=NAME:.name,NAMESPACE:.namespace",
          ...sort,
        ]),
      );
      const theirs = await kubectl(
        "get",
        "virtualmachines.kubevirt.io",
        "-n",
        ns,
        "-o",
        "custom-columns=NAME:.metadata.name,NAMESPACE:.metadata.namespace",
        ...extra,
      );
      assert.equal(mine, theirs, `with ${extra.join(" ") || "no flags"}`);
    }
    const sorted = ok(
      await runCli([
        "vms",
        "-n",
        ns,
        "--sort-by",
        ".name",
        "-o",
        "custom-columns=N:.name",
        "--no-headers",
      ]),
    );
    // kubectl 1.33 compares strings byte by byte (checked above against kubectl itself).
    assert.equal(sorted, "db\nweb-10\nweb-2\n");
    // Numbers as numbers, equal keys in their listed order: db (one snapshot) comes last.
    const byCount = await runCli([
      "vms",
      "-n",
      ns,
      "--sort-by",
      "{.snapshotCount}",
      "-o",
      "custom-columns=N:.name",
      "--no-headers",
    ]);
    assert.equal(ok(byCount), "web-10\nweb-2\ndb\n");
    const missing = ok(
      await runCli(["list", "-n", ns, "-o", "custom-columns=NAME:.name,DISK:.disk"]),
    );
    assert.match(missing, /^db-before-upgrade\s+<none>$/m);
  });

  it("--no-headers drops the header of vmsnap's own tables", async () => {
    const table = ok(await runCli(["vms", "-n", ns, "--no-headers"]));
    assert.doesNotMatch(table, /NAME/);
    assert.deepEqual(
      table
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/)[0]),
      ["db", "web-10", "web-2"],
    );
  });

  it("-o name prints kind.group/name lines that kubectl accepts", async () => {
    const vms = ok(await runCli(["vms", "-n", ns, "-o", "name"]));
    assert.equal(vms, await kubectl("get", "virtualmachines.kubevirt.io", "-n", ns, "-o", "name"));
    const snaps = ok(await runCli(["list", "-n", ns, "-o", "name"]));
    assert.equal(snaps, "virtualmachinesnapshot.snapshot.kubevirt.io/db-before-upgrade\n");
    // kubectl takes the lines back as they are.
    assert.equal(await kubectl("get", "-n", ns, "-o", "name", ...snaps.trim().split("\n")), snaps);
    const mix = ok(await runCli(["vms", "-n", mixed, "-o", "name"]));
    assert.equal(mix, "virtualmachine.kubevirt.io/kv\nvirtualmachine.vmoperator.vmware.com/vs\n");
    assert.equal(await kubectl("get", "-n", mixed, "-o", "name", ...mix.trim().split("\n")), mix);
  });

  it("a PLATFORM column where platforms mix, none where they do not", async () => {
    const table = ok(await runCli(["vms", "-n", mixed]));
    const [header, ...rows] = table.trim().split("\n");
    assert.match(header!, /^NAME\s+PLATFORM\s+STATUS\s/);
    assert.deepEqual(
      rows.map((r) => r.split(/\s+/).slice(0, 2)),
      [
        ["kv", "kubevirt"],
        ["vs", "vmoperator"],
      ],
    );
    assert.doesNotMatch(ok(await runCli(["vms", "-n", ns])), /PLATFORM/);
  });

  it("list of a VM that is not there is not-found (exit 4); an empty namespace says which", async () => {
    const r = await runCli(["list", "no-such-vm", "-n", ns]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`VirtualMachine ${ns}/no-such-vm not found`));
    assert.equal(
      ok(await runCli(["list", "db", "-n", ns, "-o", "name"])),
      "virtualmachinesnapshot.snapshot.kubevirt.io/db-before-upgrade\n",
    );
    assert.equal(
      ok(await runCli(["list", "-n", empty])),
      `No snapshots found in namespace ${empty}.\n`,
    );
    assert.equal(
      ok(await runCli(["vms", "-n", empty])),
      `No virtual machines found in namespace ${empty}.\n`,
    );
  });

  it("usage errors: one line, did you mean, and where to read more (exit 2)", async () => {
    const cmd = await runCli(["lst"]);
    assert.equal(cmd.code, 2);
    assert.equal(
      cmd.stderr,
      "error: unknown command 'lst'\n(Did you mean list?)\nSee 'vmsnap --help'.\n",
    );
    const flag = await runCli(["list", "--all-namespace"]);
    assert.equal(flag.code, 2);
    assert.equal(
      flag.stderr,
      "error: unknown option '--all-namespace'\n(Did you mean --all-namespaces?)\nSee 'vmsnap list --help'.\n",
    );
    const bad = await runCli(["list", "-n", ns, "-o", "jsonpath={.items"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unclosed/);
  });

  it("every command's help lists the global flags", async () => {
    const help = ok(await runCli(["list", "--help"]));
    assert.match(help, /Global Options:[\s\S]*--namespace[\s\S]*--sort-by/);
  });
});
