// The Examples section of every command's help, as kubectl prints it ("# what it does", then the
// command line), keyed by the command's path. buildProgram adds it to each command it registers;
// test/cli/help.test.ts checks that no registered command is without one.
import type { Command } from "commander";

type Example = readonly [comment: string, args: string];

export const EXAMPLES: Readonly<Record<string, readonly Example[]>> = {
  "": [
    ["Every VM of every namespace, with its snapshot state", "vms -A"],
    ["Snapshot VM db of namespace prod (preflight, preview, confirmation)", "create -n prod db"],
    ["Complete vmsnap's commands and names in bash", "completion bash"],
  ],
  vms: [
    ["The VMs of the current namespace", "vms"],
    ["Every VM labelled app=web, in every namespace", "vms -A -l app=web"],
    ["One VM as JSON", "vms -n prod db -o json"],
  ],
  check: [["Can VM db be snapshotted now, and how consistent would it be?", "check -n prod db"]],
  create: [
    ["Snapshot VM db (preview, server-side dry run, then a yes/no)", "create -n prod db"],
    ["Stop a running VM for an offline snapshot, and start it again", "create db --stop"],
    ["Show the manifest, validated by the API server, and create nothing", "create db --dry-run"],
    ["Snapshot every VM labelled app=web, with one confirmation", "create -l app=web"],
  ],
  "create-disk": [
    ["Snapshot one Deckhouse disk", "create-disk -n prod db-root"],
    [
      "Require a consistent snapshot (the guest agent freezes the disk)",
      "create-disk db-root --consistency required",
    ],
  ],
  list: [
    ["The snapshots of the current namespace", "list"],
    ["The snapshots of VM db, as a tree where the platform keeps one", "list db --tree"],
    ["Every snapshot, newest last, names only", "list -A --sort-by .createdAt -o name"],
  ],
  describe: [
    [
      "One snapshot in detail, with the diagnosis of a failure",
      "describe -n prod db-snapshot-20260101-000000",
    ],
    ["Several snapshots, one after the other", "describe snap-a snap-b"],
  ],
  restore: [
    [
      "Restore VM db from a snapshot (typed name, then a final yes)",
      "restore -n prod db db-snapshot-20260101-000000",
    ],
    [
      "See what a restore would lose, changing nothing",
      "restore db db-snapshot-20260101-000000 --dry-run",
    ],
  ],
  "restore-disk": [
    ["A new Deckhouse disk from a disk snapshot", "restore-disk db-root-snap --to db-root-copy"],
  ],
  clone: [["A new VM from a snapshot", "clone db-snapshot-20260101-000000 --to db-copy"]],
  delete: [
    ["Delete a snapshot (type its name to confirm)", "delete db-snapshot-20260101-000000"],
    ["Delete several snapshots (type their number to confirm)", "delete snap-a snap-b snap-c"],
    ["Show what would be deleted, without sending anything", "delete snap-a --dry-run=client"],
  ],
  prune: [
    [
      "Keep VM db's newest 5 snapshots; delete the rest (type their number)",
      "prune db --keep-last 5",
    ],
    [
      "Only snapshots older than a week, of every VM labelled app=web",
      "prune -l app=web --keep-last 3 --older-than 7d",
    ],
  ],
  guard: [
    ["Snapshot VM db, run an upgrade, offer the restore if it fails", "guard db -- ./upgrade.sh"],
  ],
  policy: [
    ["The snapshot policies of the namespace", "policy list"],
    [
      "Snapshot the VMs labelled app=web every night, keep 7",
      "policy create nightly -l app=web --schedule '0 2 * * *' --keep-last 7",
    ],
  ],
  "policy create": [
    [
      "Every night at 02:00, keep the newest 7",
      "policy create nightly -l app=web --schedule '0 2 * * *' --keep-last 7",
    ],
    [
      "Hourly, keeping 24 hourly and 7 daily snapshots",
      "policy create hourly -l tier=db --schedule '0 * * * *' --hourly 24 --daily 7",
    ],
  ],
  "policy list": [["Every snapshot policy", "policy list -A"]],
  "policy describe": [["One policy, with its last and next runs", "policy describe nightly"]],
  "policy delete": [["Delete a policy (type its name to confirm)", "policy delete nightly"]],
  mcp: [
    ["The MCP server on stdio, for a local agent", "mcp"],
    ["Only the read-only tools", "mcp --read-only"],
    ["Streamable HTTP on loopback", "mcp --transport http --listen 127.0.0.1:8080"],
  ],
  controller: [["Run the snapshot-policy controller with the current kubeconfig", "controller"]],
  playground: [
    ["Start the local control plane with sample VMs", "playground up"],
    ["Point kubectl and vmsnap at it", 'eval "$(vmsnap playground env)"'],
  ],
  "playground up": [["Start the playground", "playground up"]],
  "playground down": [["Stop the playground and remove its data", "playground down"]],
  "playground status": [["Is the playground running, and where?", "playground status"]],
  "playground env": [["Use the playground in this shell", 'eval "$(vmsnap playground env)"']],
  "playground setup": [["Install the playground's binaries once", "playground setup"]],
  "playground serve": [
    ["Run the playground in the foreground", "playground serve --dir /tmp/playground"],
  ],
  completion: [
    ["bash, for this shell", "source <(vmsnap completion bash)"],
    ["zsh", "source <(vmsnap completion zsh)"],
    ["fish", "vmsnap completion fish | source"],
  ],
};

/** The command's path below the program ("policy create"); "" for the program itself. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Adds its Examples section to the command and to every command below it. */
export function addExamples(cmd: Command, invokedAs: string): void {
  const examples = EXAMPLES[commandPath(cmd)];
  if (examples) {
    const text = examples
      .map(([comment, args]) => {
        // A line that names vmsnap itself (eval, source, a pipe) is shown as it is.
        const line = /(^|[\s("])vmsnap\s/.test(args)
          ? args.replace(/\bvmsnap\b/g, invokedAs)
          : `${invokedAs} ${args}`;
        return `  # ${comment}\n  ${line}`;
      })
      .join("\n\n");
    cmd.addHelpText("after", `\nExamples:\n${text}\n`);
  }
  for (const sub of cmd.commands) addExamples(sub, invokedAs);
}
