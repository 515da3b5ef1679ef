// The readable text of the vmsnap.io/v1 output objects (src/core/schema.ts), shared by the faces:
// the CLI's table and wide output, the MCP tools' text content. Pure: every function returns a
// string and writes nothing; the caller picks the stream, whether color is on (TTY, --no-color,
// NO_COLOR), and the words in which advice is phrased (./words.ts).
import { styleText } from "node:util";
import { advice, phrase, type Words } from "../core/advice.js";
import type {
  Clone,
  Deletion,
  DeletionList,
  ErrorObject,
  Finding,
  Guard,
  Policy,
  PolicyList,
  Preflight,
  Prune,
  Restore,
  Snapshot,
  SnapshotBatch,
  SnapshotList,
  VirtualMachineList,
} from "../core/schema.js";

/** Every object vmsnap reports; `kind` tells them apart. */
export type OutputObject =
  | VirtualMachineList
  | Snapshot
  | SnapshotList
  | Preflight
  | Restore
  | Clone
  | Deletion
  | DeletionList
  | SnapshotBatch
  | Policy
  | PolicyList
  | Prune
  | Guard
  | ErrorObject;

export interface TextOptions {
  /** Emit ANSI colors; when false the output never contains an escape sequence. */
  color: boolean;
  /** The face's words for advice (the undo line, error hints). */
  words: Words;
  /** Reference time for ages (tests pin it); defaults to the current time. */
  now?: Date;
  /** More columns (-o wide). */
  wide?: boolean;
  /** -A was given: show the NAMESPACE column even when every item shares one namespace. */
  allNamespaces?: boolean;
  /** The namespace that was listed, named when nothing was found in it. */
  namespace?: string;
  /** Tables without their header line (--no-headers). */
  noHeaders?: boolean;
}

/** The object as text for people: tables, reports, the error with its hint. */
export function renderText(obj: OutputObject, opts: TextOptions): string {
  const ctx: Ctx = {
    color: opts.color,
    now: opts.now ?? new Date(),
    wide: opts.wide ?? false,
    allNamespaces: opts.allNamespaces ?? false,
    namespace: opts.namespace,
    noHeaders: opts.noHeaders ?? false,
    words: opts.words,
  };
  switch (obj.kind) {
    case "VirtualMachineList":
      return vmTable(obj, ctx);
    case "SnapshotList":
      return snapshotTable(obj, ctx);
    case "Snapshot":
      return describeSnapshot(obj, ctx);
    case "Preflight":
      return preflightReport(obj, ctx);
    case "Restore":
      return restoreReport(obj, ctx);
    case "Clone":
      return cloneReport(obj, ctx);
    case "Deletion":
      return deletionReport(obj, ctx);
    case "DeletionList":
      return obj.items.map((d) => deletionReport(d, ctx)).join("");
    case "SnapshotBatch":
      return batchTable(obj, ctx);
    case "Policy":
      return describePolicy(obj, ctx);
    case "PolicyList":
      return policyTable(obj, ctx);
    case "Prune":
      return pruneReport(obj, ctx);
    case "Guard":
      return guardReport(obj, ctx);
    case "Error":
      return errorText(obj, ctx);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Bytes in binary units, as Kubernetes quantities are usually written: "30 GiB", "1.5 MiB". */
export function humanBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n < 0) return `-${humanBytes(-n)}`;
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  // One decimal at most, and none when it is .0 ("30 GiB", not "30.0 GiB").
  let rounded = Math.round(value * 10) / 10;
  if (rounded >= 1024 && unit < units.length - 1) {
    rounded = 1; // 1023.96 KiB reads as 1 MiB, not 1024 KiB
    unit++;
  }
  return `${rounded} ${units[unit]}`;
}

/** The age of a timestamp as kubectl prints it ("45s", "5m", "2h3m", "4d"). */
export function humanAge(from: string | null | undefined, now: Date): string {
  if (!from) return "<unknown>";
  const t = Date.parse(from);
  if (Number.isNaN(t)) return "<unknown>";
  return humanDuration((now.getTime() - t) / 1000);
}

/**
 * A duration in seconds, rounded like kubectl's ages (k8s.io/apimachinery
 * pkg/util/duration.HumanDuration), so that vmsnap's columns read like kubectl's.
 */
export function humanDuration(seconds: number): string {
  const s = Math.trunc(seconds);
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return `${s}s`;
  const minutes = Math.trunc(s / 60);
  if (minutes < 10) return s % 60 === 0 ? `${minutes}m` : `${minutes}m${s % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(s / 3600);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** Elapsed wall time of an operation: "850ms", "12.3s", then kubectl-style "2m5s". */
function humanMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  return humanDuration(ms / 1000);
}

type Style = "green" | "yellow" | "red";

interface Ctx {
  color: boolean;
  now: Date;
  wide: boolean;
  allNamespaces: boolean;
  namespace: string | undefined;
  noHeaders: boolean;
  words: Words;
}

function paint(ctx: Ctx, style: Style | undefined, text: string): string {
  // validateStream false: the caller already decided (TTY, --no-color); styleText would
  // otherwise look at process.stdout itself.
  return ctx.color && style ? styleText(style, text, { validateStream: false }) : text;
}

/**
 * Text from the cluster on one line and without control characters: a message could carry
 * newlines that break a table, or escape sequences that would reach the terminal.
 */
export function clean(s: string): string {
  let out = "";
  for (const ch of s.replace(/\s*[\r\n]+\s*/g, " ").replace(/\t/g, " ")) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) continue;
    out += ch;
  }
  return out.trim();
}

const GREEN = new Set(["Succeeded", "Ready", "Running", "Deleted", "Bound", "Completed"]);
const PLAIN = new Set(["Stopped", "Unknown", ""]);

function phaseStyle(phase: string): Style | undefined {
  if (GREEN.has(phase)) return "green";
  if (/fail|error|crash|unschedulable/i.test(phase)) return "red";
  if (PLAIN.has(phase)) return undefined;
  return "yellow"; // InProgress, Pending, Provisioning, Starting, Paused, DryRun, …
}

function consistencyStyle(c: string): Style {
  if (c === "application-consistent" || c === "consistent (VM stopped)") return "green";
  return "yellow";
}

const yesNo = (b: boolean) => (b ? "yes" : "no");
const NONE = "<none>";
const orNone = (s: string | null | undefined) => (s ? s : NONE);
const joinOrNone = (xs: readonly string[]) => (xs.length > 0 ? xs.join(", ") : NONE);

/** A table cell: plain text, optionally colored once padded. */
type Cell = string | { text: string; style?: Style };

// Columns separated by three spaces like kubectl's tabwriter; widths come from the plain text,
// and color is applied to the text only, after padding, so ANSI codes never skew alignment.
function table(ctx: Ctx, header: string[], rows: Cell[][], indent = ""): string {
  const norm = rows.map((r) =>
    r.map((c) => (typeof c === "string" ? { text: clean(c) } : { ...c, text: clean(c.text) })),
  );
  const widths = header.map((h, i) =>
    Math.max(h.length, ...norm.map((r) => [...(r[i]?.text ?? "")].length)),
  );
  const line = (cells: { text: string; style?: Style }[]) =>
    indent +
    cells
      .map((c, i) => {
        const last = i === cells.length - 1;
        const pad = last ? "" : " ".repeat((widths[i] ?? 0) - [...c.text].length + 3);
        return paint(ctx, c.style, c.text) + pad;
      })
      .join("")
      .trimEnd();
  const lines = norm.map(line);
  if (!ctx.noHeaders) lines.unshift(line(header.map((text) => ({ text }))));
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}

function showNamespace(ctx: Ctx, items: readonly { namespace: string }[]): boolean {
  return ctx.allNamespaces || new Set(items.map((i) => i.namespace)).size > 1;
}

/** A PLATFORM column where platforms mix (-o wide always has one for VMs). */
function showPlatform(items: readonly { platform: string }[]): boolean {
  return new Set(items.map((i) => i.platform)).size > 1;
}

/** "No snapshots found in namespace X." — kubectl's "No resources found in X namespace." */
function noneFound(what: string, ctx: Ctx): string {
  return ctx.namespace && !ctx.allNamespaces
    ? `No ${what} found in namespace ${clean(ctx.namespace)}.\n`
    : `No ${what} found.\n`;
}

/** kubectl-describe-like "Label:  value" lines with aligned values. */
function fields(entries: [string, string][], indent = ""): string[] {
  const width = Math.max(...entries.map(([label]) => label.length)) + 1;
  return entries.map(([label, value]) => `${indent}${`${label}:`.padEnd(width)}  ${value}`);
}

function bullets(items: readonly string[], indent = "  "): string[] {
  return items.map((i) => `${indent}- ${clean(i)}`);
}

function findings(items: readonly Finding[]): string[] {
  return items.flatMap((f) => [
    `  - ${clean(f.message)}`,
    ...(f.fix ? [`    fix: ${clean(f.fix)}`] : []),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Lists

function vmTable(vms: VirtualMachineList, ctx: Ctx): string {
  if (vms.items.length === 0) return noneFound("virtual machines", ctx);
  const ns = showNamespace(ctx, vms.items);
  const platform = showPlatform(vms.items) && !ctx.wide;
  const header = [
    ...(ns ? ["NAMESPACE"] : []),
    "NAME",
    ...(platform ? ["PLATFORM"] : []),
    "STATUS",
    "AGENT",
    "SNAPSHOTS",
    "LAST SNAPSHOT",
    "SNAPSHOTTABLE",
    ...(ctx.wide ? ["PLATFORM", "REASONS"] : []),
  ];
  const rows = vms.items.map((vm): Cell[] => {
    const last = vm.lastSnapshot
      ? vm.lastSnapshot.creationTime
        ? `${vm.lastSnapshot.name} (${humanAge(vm.lastSnapshot.creationTime, ctx.now)})`
        : vm.lastSnapshot.name
      : NONE;
    const snapshottable: Cell =
      vm.snapshottable === null
        ? { text: "unknown", style: "yellow" }
        : { text: yesNo(vm.snapshottable), style: vm.snapshottable ? "green" : "red" };
    return [
      ...(ns ? [vm.namespace] : []),
      vm.name,
      ...(platform ? [vm.platform] : []),
      { text: vm.status, style: phaseStyle(vm.status) },
      yesNo(vm.guestAgent),
      String(vm.snapshotCount),
      last,
      snapshottable,
      ...(ctx.wide ? [vm.platform, vm.reasons.length > 0 ? vm.reasons.join("; ") : NONE] : []),
    ];
  });
  return table(ctx, header, rows);
}

function snapshotTable(snapshots: SnapshotList, ctx: Ctx): string {
  if (snapshots.items.length === 0) return noneFound("snapshots", ctx);
  const ns = showNamespace(ctx, snapshots.items);
  const platform = showPlatform(snapshots.items);
  const header = [
    ...(ns ? ["NAMESPACE"] : []),
    "NAME",
    "VM",
    ...(platform ? ["PLATFORM"] : []),
    "PHASE",
    "READY",
    "CONSISTENCY",
    "AGE",
    ...(ctx.wide ? ["INDICATIONS", "EXCLUDED", "ERROR"] : []),
  ];
  const rows = snapshots.items.map((s): Cell[] => [
    ...(ns ? [s.namespace] : []),
    s.name,
    s.disk !== undefined ? `${s.vm || NONE} (disk ${s.disk})` : s.vm,
    ...(platform ? [s.platform] : []),
    { text: s.phase, style: phaseStyle(s.phase) },
    { text: yesNo(s.readyToUse), style: s.readyToUse ? "green" : "yellow" },
    { text: s.consistency, style: consistencyStyle(s.consistency) },
    humanAge(s.createdAt, ctx.now),
    ...(ctx.wide
      ? [
          joinOrNone(s.indications),
          joinOrNone(s.excludedVolumes),
          { text: orNone(s.error), style: s.error ? ("red" as const) : undefined },
        ]
      : []),
  ]);
  return table(ctx, header, rows);
}

// One row per VM of a bulk create, then the counts: successes stay visible next to failures.
function batchTable(batch: SnapshotBatch, ctx: Ctx): string {
  const ns = ctx.allNamespaces || new Set(batch.items.map((i) => i.namespace)).size > 1;
  const header = [
    ...(ns ? ["NAMESPACE"] : []),
    "VM",
    "SNAPSHOT",
    "RESULT",
    "CONSISTENCY",
    "MESSAGE",
  ];
  const style = (r: string) =>
    r === "Ready" || r === "Created" || r === "DryRun"
      ? ("green" as const)
      : r === "Skipped"
        ? ("yellow" as const)
        : ("red" as const);
  const rows = batch.items.map((i): Cell[] => [
    ...(ns ? [i.namespace] : []),
    i.vm,
    i.snapshot,
    { text: i.result, style: style(i.result) },
    { text: i.consistency, style: consistencyStyle(i.consistency) },
    orNone(i.message),
  ]);
  const { total, succeeded, failed, skipped } = batch.summary;
  return `${table(ctx, header, rows)}\n${total} VM${total === 1 ? "" : "s"}: ${succeeded} succeeded, ${failed} failed, ${skipped} skipped\n`;
}

// ---------------------------------------------------------------------------------------------
// Describe

function describeSnapshot(s: Snapshot, ctx: Ctx): string {
  const entries: [string, string][] = [
    ["Name", clean(s.name)],
    ["Namespace", clean(s.namespace)],
    ["VM", clean(s.vm) || NONE],
    ...(s.disk !== undefined ? ([["Disk", clean(s.disk)]] as [string, string][]) : []),
    ["Platform", s.platform],
    ["Phase", paint(ctx, phaseStyle(s.phase), clean(s.phase))],
    ["Ready", paint(ctx, s.readyToUse ? "green" : "yellow", yesNo(s.readyToUse))],
  ];
  if (s.createdAt)
    entries.push(["Created", `${clean(s.createdAt)} (${humanAge(s.createdAt, ctx.now)} ago)`]);
  if (s.creationTime) entries.push(["Data cut at", clean(s.creationTime)]);
  entries.push(["Consistency", paint(ctx, consistencyStyle(s.consistency), clean(s.consistency))]);
  if (s.indications.length > 0) entries.push(["Indications", clean(s.indications.join(", "))]);
  if (s.includedVolumes.length > 0)
    entries.push(["Included volumes", clean(s.includedVolumes.join(", "))]);
  if (s.excludedVolumes.length > 0)
    entries.push(["Excluded volumes", clean(s.excludedVolumes.join(", "))]);
  if (s.contentName) entries.push(["Content", clean(s.contentName)]);
  if (s.error) entries.push(["Error", paint(ctx, "red", clean(s.error))]);

  const lines = fields(entries);
  // The notes explain the consistency: keep them right under it.
  if (s.notes.length > 0) {
    const at = lines.findIndex((l) => l.startsWith("Consistency:"));
    lines.splice(at + 1, 0, ...bullets(s.notes, "    "));
  }
  if (s.conditions.length > 0) {
    lines.push("Conditions:");
    const rows = s.conditions.map((c): Cell[] => [
      c.type,
      { text: c.status, style: c.status === "True" ? "green" : undefined },
      orNone(c.reason),
      orNone(c.message),
    ]);
    lines.push(
      table(
        { ...ctx, noHeaders: false },
        ["TYPE", "STATUS", "REASON", "MESSAGE"],
        rows,
        "  ",
      ).trimEnd(),
    );
  }
  if (s.diagnosis.length > 0) lines.push("Diagnosis:", ...bullets(s.diagnosis));
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Preflight

function preflightReport(p: Preflight, ctx: Ctx): string {
  const target = `VM ${clean(p.namespace)}/${clean(p.vm)}`;
  const verdict = p.snapshottable
    ? `${paint(ctx, "green", "SNAPSHOTTABLE")} (${p.mode}, ${clean(p.expectedConsistency)})`
    : `${paint(ctx, "red", "BLOCKED")} (${p.problems.length} problem${p.problems.length === 1 ? "" : "s"})`;
  const lines = [`${target}: ${verdict}`];
  if (ctx.wide) lines.push(`Platform: ${p.platform}`);
  lines.push("");
  if (p.volumes.length === 0) lines.push("No volumes.");
  else {
    const header = [
      "VOLUME",
      "TYPE",
      "CLAIM",
      "STORAGECLASS",
      "SNAPSHOTCLASS",
      ...(ctx.wide ? ["PROVISIONER", "HOTPLUG", "SIZE"] : []),
      "INCLUDED",
      "REASON",
    ];
    const rows = p.volumes.map((v): Cell[] => [
      v.name,
      v.type,
      orNone(v.claimName),
      orNone(v.storageClass),
      orNone(v.volumeSnapshotClass),
      ...(ctx.wide
        ? [
            orNone(v.provisioner),
            v.hotplug,
            v.requestedBytes === null ? NONE : humanBytes(v.requestedBytes),
          ]
        : []),
      { text: yesNo(v.included), style: v.included ? "green" : "yellow" },
      orNone(v.reason),
    ]);
    lines.push(table({ ...ctx, noHeaders: false }, header, rows).trimEnd());
  }
  if (p.problems.length > 0)
    lines.push("", paint(ctx, "red", "Problems:"), ...findings(p.problems));
  if (p.warnings.length > 0)
    lines.push("", paint(ctx, "yellow", "Warnings:"), ...findings(p.warnings));
  lines.push(
    "",
    `Existing snapshots: ${p.existingSnapshots} · estimated size: ${humanBytes(p.estimatedBytes)}`,
  );
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Reports of changes

function restoreReport(r: Restore, ctx: Ctx): string {
  const dry = r.phase === "DryRun";
  const vm = `${clean(r.namespace)}/${clean(r.vm)}`;
  const snap = clean(r.snapshot);
  const age =
    r.snapshotAgeSeconds === null ? "" : ` (taken ${humanDuration(r.snapshotAgeSeconds)} ago)`;
  const head = dry
    ? `${paint(ctx, "yellow", "Dry run:")} would restore VM ${vm} from snapshot ${snap}${age}; nothing was changed`
    : `${paint(ctx, "green", "Restored")} VM ${vm} from snapshot ${snap}${age}`;
  const entries: [string, string][] = [
    ["Restore", clean(r.restoreName)],
    [
      "Safety snapshot",
      r.safetySnapshot
        ? `${clean(r.safetySnapshot)}${dry ? " (would be taken first)" : " (the state before the restore)"}`
        : "none (skipped)",
    ],
    [dry ? "Stops the VM" : "VM stopped", yesNo(r.stoppedVm)],
    [
      dry ? "Restarts the VM" : "VM restarted",
      `${yesNo(r.restartedVm)}${r.notRestarted ? ` — ${clean(r.notRestarted)}` : ""}`,
    ],
  ];
  if (r.durationMs !== null) entries.push(["Duration", humanMs(r.durationMs)]);
  const lines = [head, ...fields(entries, "  ")];
  if (r.specChanges.length > 0)
    lines.push(
      dry ? "VM configuration the restore changes back:" : "VM configuration changed back:",
      ...bullets(r.specChanges),
    );
  const replaced = r.claimsReplaced ?? [];
  if (replaced.length > 0)
    lines.push(
      replaced.length === 1
        ? "The VM now uses a new claim, restored from the snapshot (the old one is left as it was):"
        : "The VM now uses new claims, restored from the snapshot (the old ones are left as they were):",
      ...bullets(replaced.map((c) => `${c.volume}: ${c.before} → ${c.after}`)),
    );
  if (r.volumesNotInSnapshot.length > 0)
    lines.push(
      paint(ctx, "yellow", "Volumes not in the snapshot:"),
      ...bullets(r.volumesNotInSnapshot),
    );
  if (!dry && r.safetySnapshot) {
    // The VM runs again after a restart, and a running VM is only stopped when asked to. The
    // step asks the human again, like any restore.
    const undo = {
      do: "restore" as const,
      namespace: clean(r.namespace),
      vm: clean(r.vm),
      snapshot: clean(r.safetySnapshot),
      ...(r.restartedVm ? { stop: true } : {}),
    };
    lines.push(phrase(advice`To undo: ${undo}`, ctx.words).replace(/`/g, ""));
  }
  return lines.join("\n") + "\n";
}

function cloneReport(c: Clone, ctx: Ctx): string {
  const dry = c.phase === "DryRun";
  const target = `${c.targetKind === "VirtualDisk" ? "disk" : "VM"} ${clean(c.namespace)}/${clean(c.target)}`;
  const head = dry
    ? `${paint(ctx, "yellow", "Dry run:")} would clone snapshot ${clean(c.snapshot)} into new ${target}; nothing was changed`
    : `Clone of snapshot ${clean(c.snapshot)} into new ${target}: ${paint(ctx, phaseStyle(c.phase), clean(c.phase))}`;
  const entries: [string, string][] = [["Clone", clean(c.cloneName)]];
  if (c.durationMs !== null) entries.push(["Duration", humanMs(c.durationMs)]);
  return [head, ...fields(entries, "  ")].join("\n") + "\n";
}

function deletionReport(d: Deletion, ctx: Ctx): string {
  const what = `snapshot ${clean(d.namespace)}/${clean(d.snapshot)} of VM ${clean(d.vm)}`;
  const lines = [
    d.phase === "DryRun"
      ? `${paint(ctx, "yellow", "Dry run:")} would delete ${what}; nothing was changed`
      : `${paint(ctx, "green", "Deleted")} ${what}`,
  ];
  if (d.wasOnlySnapshot)
    lines.push(
      paint(
        ctx,
        "yellow",
        d.phase === "DryRun"
          ? `warning: it is the only snapshot of VM ${clean(d.vm)}`
          : `warning: it was the only snapshot of VM ${clean(d.vm)}; the VM has no snapshot left`,
      ),
    );
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Snapshot policies and prune

function policyState(state: string): Style | undefined {
  if (state === "Ready" || state === "Created" || state === "Deleted") return "green";
  if (state === "Invalid" || /fail/i.test(state)) return "red";
  return "yellow";
}

function policyTable(list: PolicyList, ctx: Ctx): string {
  if (list.items.length === 0) return "No snapshot policies found.\n";
  const ns = showNamespace(ctx, list.items);
  const header = [
    ...(ns ? ["NAMESPACE"] : []),
    "NAME",
    "STATE",
    "SCHEDULE",
    "SELECTOR",
    "KEPT",
    "LAST RUN",
    "NEXT RUN",
    ...(ctx.wide ? ["RETENTION"] : []),
  ];
  const rows = list.items.map((p): Cell[] => [
    ...(ns ? [p.namespace] : []),
    p.name,
    { text: p.state, style: policyState(p.state) },
    `${p.schedule}${p.timeZone !== "UTC" ? ` (${p.timeZone})` : ""}`,
    p.selector,
    p.snapshotsKept === null ? NONE : String(p.snapshotsKept),
    orNone(p.lastScheduleTime),
    orNone(p.nextScheduleTime),
    ...(ctx.wide ? [p.retention] : []),
  ]);
  return table(ctx, header, rows);
}

function describePolicy(p: Policy, ctx: Ctx): string {
  const lines = fields([
    ["Name", clean(p.name)],
    ["Namespace", clean(p.namespace)],
    ["State", paint(ctx, policyState(p.state), clean(p.state))],
    ["Selector", clean(p.selector)],
    ["Schedule", `${clean(p.schedule)} (${clean(p.timeZone)})`],
    ["Suspended", yesNo(p.suspend)],
    ["Retention", clean(p.retention)],
    ["Last run", orNone(p.lastScheduleTime)],
    ["Last success", orNone(p.lastSuccessfulTime)],
    ["Next run", orNone(p.nextScheduleTime)],
    ["Snapshots kept", p.snapshotsKept === null ? NONE : String(p.snapshotsKept)],
  ]);
  if (p.vms.length)
    lines.push(
      "VMs (last run):",
      table(
        ctx,
        ["VM", "SNAPSHOT", "RESULT", "MESSAGE"],
        p.vms.map((v) => [
          v.name,
          orNone(v.lastSnapshot),
          { text: v.result, style: phaseStyle(v.result) },
          orNone(v.message),
        ]),
        "  ",
      ).trimEnd(),
    );
  if (p.conditions.length)
    lines.push(
      "Conditions:",
      ...p.conditions.map(
        (c) =>
          `  ${c.type}=${c.status}${c.reason ? ` (${clean(c.reason)})` : ""}${c.message ? `: ${clean(c.message)}` : ""}`,
      ),
    );
  if (p.notes.length) lines.push("Notes:", ...bullets(p.notes));
  return lines.join("\n") + "\n";
}

function pruneReport(p: Prune, ctx: Ctx): string {
  const ns = showNamespace(ctx, p.items);
  const header = [...(ns ? ["NAMESPACE"] : []), "VM", "SNAPSHOT", "RESULT", "WHY"];
  const style = (r: string): Style | undefined =>
    r === "Deleted" || r === "Gone"
      ? "green"
      : r === "Failed"
        ? "red"
        : r === "Planned"
          ? "yellow"
          : undefined;
  const rows = p.items.map((i): Cell[] => [
    ...(ns ? [i.namespace] : []),
    i.vm,
    i.snapshot,
    { text: i.result, style: style(i.result) },
    i.message ? `${i.reason} (${i.message})` : i.reason,
  ]);
  const planned = p.items.filter((i) => i.action === "delete").length;
  const tail =
    p.phase === "DryRun"
      ? `${paint(ctx, "yellow", "Dry run:")} would delete ${planned}, keep ${p.summary.kept}; nothing was changed`
      : `${p.summary.deleted} deleted, ${p.summary.kept} kept, ${p.summary.failed} failed`;
  return `${p.items.length ? table(ctx, header, rows) : "No snapshots of these VMs.\n"}${tail}\n`;
}

function guardReport(g: Guard, ctx: Ctx): string {
  const how = g.exitCode !== null ? `exit ${g.exitCode}` : `signal ${g.signal ?? "?"}`;
  const lines = [
    `Snapshot ${clean(g.namespace)}/${clean(g.snapshot)} of VM ${clean(g.vm)} taken before the change`,
    g.succeeded
      ? `${paint(ctx, "green", "The change succeeded")} (${how}): ${clean(g.change)}`
      : `${paint(ctx, "red", "The change failed")} (${how}): ${clean(g.change)}`,
  ];
  if (g.restore) lines.push(restoreReport(g.restore, ctx).trimEnd());
  if (g.restoreNote) lines.push(paint(ctx, "yellow", clean(g.restoreNote)));
  return lines.join("\n") + "\n";
}

function errorText(e: ErrorObject, ctx: Ctx): string {
  const lines = [`${paint(ctx, "red", "error:")} ${clean(e.message)}`];
  if (e.hint) lines.push(`hint: ${clean(e.hint)}`);
  return lines.join("\n") + "\n";
}

/** `list --tree`: each VM's snapshots as the platform's tree; the current snapshot is marked. */
export function renderSnapshotTree(list: SnapshotList, now: Date = new Date()): string {
  if (list.items.length === 0) return "No snapshots found.\n";
  const byVm = new Map<string, Snapshot[]>();
  for (const s of list.items) {
    const key = `${s.namespace}/${s.vm}`;
    byVm.set(key, [...(byVm.get(key) ?? []), s]);
  }
  const lines: string[] = [];
  for (const [vm, snaps] of byVm) {
    lines.push(`VM ${clean(vm)}`);
    const byName = new Map(snaps.map((s) => [s.name, s]));
    const label = (s: Snapshot) =>
      `${s.name}  ${s.phase}${s.readyToUse ? "" : " (not ready)"}  ${s.consistency}  ${humanAge(s.createdAt, now)}${s.tree?.current ? "  ← current" : ""}`;
    const walk = (s: Snapshot, prefix: string, last: boolean, seen: Set<string>) => {
      lines.push(`${prefix}${last ? "└─ " : "├─ "}${clean(label(s))}`);
      seen.add(s.name);
      const kids = (s.tree?.children ?? [])
        .map((n) => byName.get(n))
        .filter((k): k is Snapshot => Boolean(k) && !seen.has(k!.name));
      kids.forEach((k, i) =>
        walk(k, `${prefix}${last ? "   " : "│  "}`, i === kids.length - 1, seen),
      );
    };
    const roots = snaps.filter((s) => !s.tree || !s.tree.parent || !byName.has(s.tree.parent));
    const seen = new Set<string>();
    roots.forEach((r, i) => walk(r, "", i === roots.length - 1, seen));
    if (snaps.every((s) => !s.tree))
      lines.push("   (this platform keeps snapshots independent of each other: no tree)");
  }
  return `${lines.join("\n")}\n`;
}
