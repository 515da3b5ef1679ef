// vm_snapshot_create: snapshot a VM after preflight, dry run and the human's yes (additive)
import { invalidInput } from "../../core/errors.js";
import { createSnapshot } from "../../workflows/create.js";
import { createDiskSnapshot } from "../../workflows/disk.js";
import { Inputs, Outputs } from "../schemas.js";
import type { ToolDefinition } from "../tool.js";

export const vmSnapshotCreate: ToolDefinition<typeof Inputs.create> = {
  name: "vm_snapshot_create",
  title: "Snapshot a VM",
  description:
    "Create a VM snapshot (or, on Deckhouse, a snapshot of one disk with `disk`). vmsnap runs the preflight (a blocked VM is refused with the fixes), validates the fixed manifest with the API server, asks the human to confirm, creates the snapshot and waits until it is ready.",
  kind: "additive",
  idempotent: false,
  input: Inputs.create,
  output: Outputs.create,
  names: (a) => [
    ["VM", a.vm],
    ["disk", a.disk],
    ["snapshot", a.name],
  ],
  run: async (session, a) => {
    if ((a.vm === undefined) === (a.disk === undefined))
      throw invalidInput("give exactly one of vm and disk", "vm snapshots a VM, disk one disk");
    const { snapshot, preview } = a.disk
      ? await createDiskSnapshot(session, {
          disk: a.disk,
          name: a.name,
          consistency: a.consistency,
          dryRun: a.dryRun,
          wait: a.wait,
          timeoutMs: a.deadlineSeconds === undefined ? undefined : a.deadlineSeconds * 1000,
        })
      : await createSnapshot(session, {
          vm: a.vm!,
          name: a.name,
          stop: a.stopVm,
          dryRun: a.dryRun,
          wait: a.wait,
          deadlineMs: a.deadlineSeconds === undefined ? undefined : a.deadlineSeconds * 1000,
          memory: a.memory,
          quiesceTimeout: a.quiesceTimeout,
          description: a.description,
          consistency: a.consistency,
          keepIp: a.keepIp,
        });
    return {
      structured: { status: a.dryRun ? "DryRun" : "Done", snapshot },
      object: snapshot,
      preface: a.dryRun
        ? `Dry run (validated by the API server, nothing created):\n${preview}`
        : undefined,
    };
  },
};
