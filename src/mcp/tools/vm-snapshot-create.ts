// vm_snapshot_create: snapshot a VM (or every VM matching a selector, or one Deckhouse disk) after
// preflight, dry run and the human's yes (additive)
import { invalidInput } from "../../core/errors.js";
import { planCreateMany } from "../../workflows/bulk-create.js";
import { planCreate } from "../../workflows/create.js";
import { planDiskSnapshot } from "../../workflows/disk.js";
import { Inputs, Outputs } from "../schemas.js";
import type { WriteTool } from "../tool.js";

export const vmSnapshotCreate: WriteTool<typeof Inputs.create> = {
  name: "vm_snapshot_create",
  title: "Snapshot a VM",
  description:
    "Create a VM snapshot (vm), or one snapshot of every VM matching a label selector (selector, optionally allNamespaces) with one confirmation for all and a result per VM, or on Deckhouse a snapshot of one disk (disk). vmsnap runs the preflight (a blocked VM is refused with the fixes), validates the fixed manifest with the API server, asks the human to confirm, creates the snapshot and waits until it is ready.",
  kind: "additive",
  idempotent: false,
  input: Inputs.create,
  output: Outputs.create,
  names: (a) => [
    ["VM", a.vm],
    ["disk", a.disk],
    ["snapshot", a.name],
  ],
  validate: (a) => {
    if ([a.vm, a.selector, a.disk].filter((x) => x !== undefined).length !== 1)
      throw invalidInput(
        "give exactly one of vm, selector and disk",
        "vm for one VM, selector for many, disk for one Deckhouse disk",
      );
    if (a.allNamespaces && a.selector === undefined)
      throw invalidInput("allNamespaces needs selector");
    if (a.selector !== undefined && a.name !== undefined)
      throw invalidInput(
        "name names one snapshot: it cannot be used with selector",
        "bulk snapshots are named <vm>-snapshot-<YYYYMMDD-HHMMSS>",
      );
  },
  plan: (session, a, pins) => {
    const deadlineMs = a.deadlineSeconds === undefined ? undefined : a.deadlineSeconds * 1000;
    const options = {
      stop: a.stopVm,
      wait: a.wait,
      deadlineMs,
      memory: a.memory,
      quiesceTimeout: a.quiesceTimeout,
      description: a.description,
      consistency: a.consistency,
      keepIp: a.keepIp,
    };
    if (a.selector !== undefined)
      return planCreateMany(
        session,
        { selector: a.selector, allNamespaces: a.allNamespaces, ...options },
        pins,
      );
    if (a.disk !== undefined)
      return planDiskSnapshot(
        session,
        {
          disk: a.disk,
          name: a.name,
          consistency: a.consistency,
          wait: a.wait,
          timeoutMs: deadlineMs,
        },
        pins,
      );
    return planCreate(session, { vm: a.vm!, name: a.name, ...options }, pins);
  },
};
