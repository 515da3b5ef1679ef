// --confirmation token (SPEC §7): the first call returns the plan and a confirmation token and
// changes nothing; the second call, with the same arguments plus the token (and the snapshot name
// typed by the human, and stopVm for a running VM), acts. Tokens are single use, expire, and are
// bound to the exact plan. Every refusal writes nothing (audit log) and changes nothing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/kube/client.js";
import { KubeVirt } from "../../src/kube/resources.js";
import { ensureSimStorage } from "../../src/playground/fixtures.js";
import { TokenStore } from "../../src/mcp/tokens.js";
import { Clone, Deletion, Restore, Snapshot } from "../../src/core/schema.js";
import { adminClient, newNamespace } from "../helpers/env.js";
import { waitFor, waitGone, type Json } from "../helpers/kube.js";
import {
  assertNoWritesIn,
  challenge,
  connectInProcess,
  describeWrite,
  done,
  failed,
  nextSecond,
  serverOptions,
  writesIn,
  type McpConnection,
} from "../helpers/mcp.js";
import {
  adminSnapshot,
  fingerprints,
  makeVm,
  restoresOf,
  snapshotsOf,
  writeAll,
} from "./fixtures.js";

let c: KubeClient;
let ns: string;
let mcp: McpConnection;

before(async () => {
  c = await adminClient();
  await ensureSimStorage(c);
  ns = await newNamespace(c, "mcp-token");
  mcp = await connectInProcess(serverOptions({ namespace: ns, confirmation: "token" }), {
    era: "modern",
    // Token mode never asks through the client, even one that could answer.
    onElicit: () => assert.fail("token mode does not elicit"),
  });
});

after(async () => {
  await mcp?.close();
  c?.close();
});

const call = (conn: McpConnection, name: string, args: Record<string, unknown>) =>
  conn.client.callTool({ name, arguments: args });

let n = 0;
/** A stopped (or running) VM with a snapshot of v1 data, now holding v2 data. */
async function scenario(run = false) {
  const vm = `t-${++n}`;
  await makeVm(c, ns, vm, { run, disks: ["root", "data"] });
  await adminSnapshot(c, ns, vm, `${vm}-snap`);
  const now = await writeAll(c, ns, vm, "v2");
  return {
    vm,
    snap: `${vm}-snap`,
    now,
    original: { root: `${vm}-root-v1`, data: `${vm}-data-v1` },
  };
}

/** The snapshot exists and is not being deleted. */
async function assertSnapshotIntact(name: string): Promise<void> {
  const s = await c.getIfExists(KubeVirt.snapshots, name, ns);
  assert.ok(s, `snapshot ${name} still exists`);
  assert.equal(s.metadata.deletionTimestamp, undefined, `snapshot ${name} is not being deleted`);
}

describe("restore", () => {
  it("first call: the plan and a token, nothing changed; second call with token + typed name: restored", async () => {
    const { vm, snap, now, original } = await scenario();
    const since = new Date();
    const first = await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap });
    const ch = challenge(first);
    assert.match(ch.title, new RegExp(`Restore VM ${ns}/${vm} to snapshot ${snap}`));
    assert.match(ch.preview, /kind: VirtualMachineRestore/);
    assert.match(ch.preview, /lost/);
    assert.ok(ch.requires.includes("confirmationToken"), ch.requires.join(", "));
    assert.ok(
      ch.requires.some((r) => r.startsWith("confirmSnapshotName")),
      ch.requires.join(", "),
    );
    assert.ok(!ch.requires.some((r) => r.startsWith("stopVm")), "the VM is stopped");
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, vm), now);

    const second = await call(mcp, "vm_snapshot_restore", {
      vm,
      snapshot: snap,
      confirmationToken: ch.token,
      confirmSnapshotName: snap,
    });
    const res = done(second, "restore", Restore);
    assert.equal(res.phase, "Succeeded");
    assert.deepEqual(await fingerprints(c, ns, vm), original);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      `create virtualmachinesnapshots ${res.safetySnapshot}`,
      `create virtualmachinerestores ${res.restoreName}`,
    ]);
  });

  it("a running VM: stopVm is required; with it, stopped, restored, running again", async () => {
    const { vm, snap, now, original } = await scenario(true);
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap }));
    assert.ok(
      ch.requires.some((r) => r.startsWith("stopVm")),
      `stopVm required: ${ch.requires.join(", ")}`,
    );
    assert.match(ch.preview, /running/);
    // Without stopVm: refused, the VM keeps running.
    const refused = await call(mcp, "vm_snapshot_restore", {
      vm,
      snapshot: snap,
      confirmationToken: ch.token,
      confirmSnapshotName: snap,
    });
    failed(refused, "Conflict");
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, vm), now);
    assert.equal(((await c.get(KubeVirt.vms, vm, ns)) as Json).spec.runStrategy, "Always");

    const ch2 = challenge(await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap }));
    const res = done(
      await call(mcp, "vm_snapshot_restore", {
        vm,
        snapshot: snap,
        confirmationToken: ch2.token,
        confirmSnapshotName: snap,
        stopVm: true,
      }),
      "restore",
      Restore,
    );
    assert.equal(res.stoppedVm, true);
    assert.equal(res.restartedVm, true);
    assert.deepEqual(await fingerprints(c, ns, vm), original);
    await waitFor(c, KubeVirt.vms, vm, ns, (v) => v.status?.printableStatus === "Running");
  });

  it("confirmed in a later second, the safety snapshot and the restore are the ones the plan named (issue 13)", async () => {
    const { vm, snap } = await scenario();
    const ch = challenge(await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap }));
    const safety = /kind: VirtualMachineSnapshot\nmetadata:\n {2}name: (\S+)/.exec(ch.preview)?.[1];
    const restore = /kind: VirtualMachineRestore\nmetadata:\n {2}name: (\S+)/.exec(ch.preview)?.[1];
    assert.ok(safety && restore, ch.preview);
    await nextSecond();
    const since = new Date();
    const res = done(
      await call(mcp, "vm_snapshot_restore", {
        vm,
        snapshot: snap,
        confirmationToken: ch.token,
        confirmSnapshotName: snap,
      }),
      "restore",
      Restore,
    );
    assert.equal(res.safetySnapshot, safety);
    assert.equal(res.restoreName, restore);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      `create virtualmachinesnapshots ${safety}`,
      `create virtualmachinerestores ${restore}`,
    ]);
  });

  it("a token is single use: presented again, it is refused", async () => {
    const { vm, snap } = await scenario();
    const ch = challenge(await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap }));
    const args = { vm, snapshot: snap, confirmationToken: ch.token, confirmSnapshotName: snap };
    done(
      await call(mcp, "vm_snapshot_restore", { ...args, safetySnapshot: true }),
      "restore",
      Restore,
    );
    const data = await writeAll(c, ns, vm, "v3");
    // In a later second, so that the replayed plan does not collide with the objects the first
    // use created (they carry second-resolution names): the token alone must stop it.
    await nextSecond();
    const since = new Date();
    const again = failed(await call(mcp, "vm_snapshot_restore", args), "Cancelled");
    assert.match(again!.message, /already used/);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, vm), data);
  });

  it("a wrong typed name is refused, and spends the token", async () => {
    const { vm, snap, now } = await scenario();
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap }));
    for (const typed of [`${snap}x`, snap.toUpperCase(), ""]) {
      const r = await call(mcp, "vm_snapshot_restore", {
        vm,
        snapshot: snap,
        confirmationToken: ch.token,
        confirmSnapshotName: typed,
      });
      failed(r, "Cancelled");
    }
    const right = failed(
      await call(mcp, "vm_snapshot_restore", {
        vm,
        snapshot: snap,
        confirmationToken: ch.token,
        confirmSnapshotName: snap,
      }),
      "Cancelled",
    );
    assert.match(right!.message, /already used/);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, vm), now);
    assert.deepEqual(await restoresOf(c, ns, vm), []);
  });

  it("the plan changed between the calls (VM configuration edited) → refused", async () => {
    const { vm, snap, now } = await scenario();
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap }));
    assert.match(ch.preview, /VM configuration: unchanged/);
    await c.patch(KubeVirt.vms, vm, ns, {
      spec: { template: { spec: { domain: { memory: { guest: "8Gi" } } } } },
    });
    const r = failed(
      await call(mcp, "vm_snapshot_restore", {
        vm,
        snapshot: snap,
        confirmationToken: ch.token,
        confirmSnapshotName: snap,
      }),
      "Cancelled",
    );
    assert.match(r!.message, /plan changed/);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, vm), now);
    assert.deepEqual(await snapshotsOf(c, ns, vm), [snap]);
  });

  it("a token for one snapshot does not restore another", async () => {
    const { vm, snap, now } = await scenario();
    await adminSnapshot(c, ns, vm, `${vm}-other`);
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap }));
    failed(
      await call(mcp, "vm_snapshot_restore", {
        vm,
        snapshot: `${vm}-other`,
        confirmationToken: ch.token,
        confirmSnapshotName: `${vm}-other`,
      }),
      "Cancelled",
    );
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, vm), now);
  });

  it("an unknown or forged token is refused", async () => {
    const { vm, snap, now } = await scenario();
    const since = new Date();
    const r = failed(
      await call(mcp, "vm_snapshot_restore", {
        vm,
        snapshot: snap,
        confirmationToken: "vmsnap-0000000000000000000000000000000000000000000000",
        confirmSnapshotName: snap,
      }),
      "Cancelled",
    );
    assert.match(r!.message, /unknown/);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await fingerprints(c, ns, vm), now);
  });

  it("an expired token is refused (a store with a controllable clock)", async () => {
    let clock = Date.now();
    const short = await connectInProcess(
      serverOptions({
        namespace: ns,
        confirmation: "token",
        tokens: new TokenStore(30_000, () => clock),
      }),
      { era: "modern" },
    );
    try {
      const { vm, snap, now } = await scenario();
      const since = new Date();
      const ch = challenge(await call(short, "vm_snapshot_restore", { vm, snapshot: snap }));
      assert.equal(Date.parse(ch.expiresAt), clock + 30_000);
      clock += 30_001;
      const r = failed(
        await call(short, "vm_snapshot_restore", {
          vm,
          snapshot: snap,
          confirmationToken: ch.token,
          confirmSnapshotName: snap,
        }),
        "Cancelled",
      );
      assert.match(r!.message, /expired/);
      await assertNoWritesIn([ns], since);
      assert.deepEqual(await fingerprints(c, ns, vm), now);
    } finally {
      await short.close();
    }
  });

  it("a human who confirms a moment later (the next second) still restores", async () => {
    const { vm, snap, original } = await scenario();
    const ch = challenge(await call(mcp, "vm_snapshot_restore", { vm, snapshot: snap }));
    await nextSecond();
    const r = await call(mcp, "vm_snapshot_restore", {
      vm,
      snapshot: snap,
      confirmationToken: ch.token,
      confirmSnapshotName: snap,
    });
    assert.equal(done(r, "restore", Restore).phase, "Succeeded");
    assert.deepEqual(await fingerprints(c, ns, vm), original);
  });
});

describe("delete", () => {
  it("first call changes nothing; second call with token + typed name deletes", async () => {
    await makeVm(c, ns, "d1");
    await adminSnapshot(c, ns, "d1", "d1-a");
    await adminSnapshot(c, ns, "d1", "d1-b");
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_delete", { snapshot: "d1-a" }));
    assert.match(ch.preview, /d1-a/);
    assert.ok(ch.requires.some((r) => r.startsWith("confirmSnapshotName")));
    await assertNoWritesIn([ns], since);
    await assertSnapshotIntact("d1-a");

    const r = await call(mcp, "vm_snapshot_delete", {
      snapshot: "d1-a",
      confirmationToken: ch.token,
      confirmSnapshotName: "d1-a",
    });
    const d = done(r, "deletion", Deletion);
    assert.equal(d.phase, "Deleted");
    assert.equal(d.wasOnlySnapshot, false);
    assert.deepEqual(await snapshotsOf(c, ns, "d1"), ["d1-b"]);
  });

  it("a wrong typed name is refused; nothing deleted", async () => {
    await makeVm(c, ns, "d2");
    await adminSnapshot(c, ns, "d2", "d2-a");
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_delete", { snapshot: "d2-a" }));
    const r = await call(mcp, "vm_snapshot_delete", {
      snapshot: "d2-a",
      confirmationToken: ch.token,
      confirmSnapshotName: "D2-a",
    });
    await assertNoWritesIn([ns], since);
    await assertSnapshotIntact("d2-a");
    failed(r, "Cancelled");
  });

  it("the plan changed: it became the VM's only snapshot after the token was issued → refused", async () => {
    await makeVm(c, ns, "d3");
    await adminSnapshot(c, ns, "d3", "d3-a");
    await adminSnapshot(c, ns, "d3", "d3-b");
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_delete", { snapshot: "d3-a" }));
    assert.doesNotMatch(ch.preview, /only usable snapshot/);
    // Meanwhile the other snapshot goes: the confirmed plan said another one would remain.
    await c.delete(KubeVirt.snapshots, "d3-b", ns);
    await waitGone(c, KubeVirt.snapshots, "d3-b", ns);
    const r = await call(mcp, "vm_snapshot_delete", {
      snapshot: "d3-a",
      confirmationToken: ch.token,
      confirmSnapshotName: "d3-a",
    });
    await assertNoWritesIn([ns], since);
    await assertSnapshotIntact("d3-a");
    const e = failed(r, "Cancelled");
    assert.match(e!.message, /plan changed/);
  });
});

describe("delete: the plan moves the other way", () => {
  it("confirmed as the VM's only snapshot, then another one is taken → refused, a fresh plan is needed", async () => {
    await makeVm(c, ns, "d4");
    await adminSnapshot(c, ns, "d4", "d4-a");
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_delete", { snapshot: "d4-a" }));
    assert.match(ch.preview, /only usable snapshot/);
    await adminSnapshot(c, ns, "d4", "d4-b");
    const r = await call(mcp, "vm_snapshot_delete", {
      snapshot: "d4-a",
      confirmationToken: ch.token,
      confirmSnapshotName: "d4-a",
    });
    await assertNoWritesIn([ns], since);
    await assertSnapshotIntact("d4-a");
    assert.match(failed(r, "Cancelled")!.message, /plan changed/);

    // The fresh plan no longer warns, and its token deletes.
    const fresh = challenge(await call(mcp, "vm_snapshot_delete", { snapshot: "d4-a" }));
    assert.doesNotMatch(fresh.preview, /only usable snapshot/);
    const d = done(
      await call(mcp, "vm_snapshot_delete", {
        snapshot: "d4-a",
        confirmationToken: fresh.token,
        confirmSnapshotName: "d4-a",
      }),
      "deletion",
      Deletion,
    );
    assert.equal(d.wasOnlySnapshot, false);
    assert.deepEqual(await snapshotsOf(c, ns, "d4"), ["d4-b"]);
  });
});

describe("create and clone", () => {
  it("create: ConfirmationRequired (token only, no typed name), then Done", async () => {
    await makeVm(c, ns, "c1");
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_create", { vm: "c1", name: "c1-snap" }));
    assert.deepEqual(ch.requires, ["confirmationToken"]);
    assert.match(ch.preview, /name: c1-snap/);
    await assertNoWritesIn([ns], since);
    assert.deepEqual(await snapshotsOf(c, ns, "c1"), []);
    const snap = done(
      await call(mcp, "vm_snapshot_create", {
        vm: "c1",
        name: "c1-snap",
        confirmationToken: ch.token,
      }),
      "snapshot",
      Snapshot,
    );
    assert.equal(snap.readyToUse, true);
    assert.deepEqual((await writesIn([ns], since)).map(describeWrite), [
      "create virtualmachinesnapshots c1-snap",
    ]);
  });

  it("a token issued for one tool does not confirm another", async () => {
    await makeVm(c, ns, "c2");
    await adminSnapshot(c, ns, "c2", "c2-snap");
    const since = new Date();
    const ch = challenge(await call(mcp, "vm_snapshot_create", { vm: "c2", name: "c2-new" }));
    const r = failed(
      await call(mcp, "vm_clone_from_snapshot", {
        snapshot: "c2-snap",
        target: "c2-copy",
        confirmationToken: ch.token,
      }),
      "Cancelled",
    );
    assert.match(r!.message, /another tool/);
    await assertNoWritesIn([ns], since);
    assert.equal(await c.getIfExists(KubeVirt.vms, "c2-copy", ns), undefined);
  });

  it("clone: token, then a new VM", async () => {
    await makeVm(c, ns, "c3");
    await adminSnapshot(c, ns, "c3", "c3-snap");
    const ch = challenge(
      await call(mcp, "vm_clone_from_snapshot", { snapshot: "c3-snap", target: "c3-copy" }),
    );
    assert.match(ch.preview, /kind: VirtualMachineClone/);
    const clone = done(
      await call(mcp, "vm_clone_from_snapshot", {
        snapshot: "c3-snap",
        target: "c3-copy",
        confirmationToken: ch.token,
      }),
      "clone",
      Clone,
    );
    assert.equal(clone.phase, "Succeeded");
    assert.deepEqual(await fingerprints(c, ns, "c3-copy"), { rootdisk: "c3-rootdisk-v1" });
  });
});
