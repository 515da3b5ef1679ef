// Each face's words for advice: the CLI's can be pasted (every name, -n NAMESPACE), the MCP
// server's name tools and arguments, and neither shows a way around a confirmation.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { advice, option, phrase, plainWords, type Step } from "../core/advice.js";
import { VmsnapError } from "../core/errors.js";
import type { Restore } from "../core/schema.js";
import { errorObject } from "./errors.js";
import { renderText } from "./render.js";
import { cliWords, mcpWords } from "./words.js";

const steps: [Step, string, string][] = [
  [{ do: "list-vms", namespace: "prod" }, "`vmsnap vms -n prod`", 'vm_list with namespace "prod"'],
  [
    { do: "list-vms", allNamespaces: true, selector: "tier in (db,web)" },
    "`vmsnap vms -A -l 'tier in (db,web)'`",
    'vm_list with allNamespaces true, labelSelector "tier in (db,web)"',
  ],
  [
    { do: "check", namespace: "prod", vm: "db" },
    "`vmsnap check -n prod db`",
    'vm_snapshot_check with namespace "prod", vm "db"',
  ],
  [
    { do: "list-snapshots", namespace: "prod", vm: "db", tree: true },
    "`vmsnap list -n prod db --tree`",
    'vm_snapshot_list with namespace "prod", vm "db"',
  ],
  [
    { do: "describe", namespace: "prod", snapshot: "s1" },
    "`vmsnap describe -n prod s1`",
    'vm_snapshot_get with namespace "prod", snapshot "s1"',
  ],
  [
    { do: "create", namespace: "prod", vm: "db", stop: true },
    "`vmsnap create -n prod db --stop`",
    'vm_snapshot_create with namespace "prod", vm "db", stopVm true',
  ],
  [
    { do: "delete", namespace: "prod", snapshot: "s1" },
    "`vmsnap delete -n prod s1`",
    'vm_snapshot_delete with namespace "prod", snapshot "s1"',
  ],
  [
    {
      do: "restore",
      namespace: "prod",
      vm: "db",
      snapshot: "s1",
      stop: true,
      safetySnapshot: false,
    },
    "`vmsnap restore -n prod db s1 --stop --no-safety-snapshot`",
    'vm_snapshot_restore with namespace "prod", vm "db", snapshot "s1", stopVm true, safetySnapshot false',
  ],
  [
    { do: "clone", namespace: "prod", snapshot: "s1" },
    "`vmsnap clone -n prod s1 --to NEW_VM`",
    'vm_clone_from_snapshot with namespace "prod", snapshot "s1", target "<a new VM name>"',
  ],
  [
    { do: "restore-disk", namespace: "prod", snapshot: "d1", target: "d2" },
    "`vmsnap restore-disk -n prod d1 --to d2`",
    'vm_clone_from_snapshot with namespace "prod", snapshot "d1", target "d2"',
  ],
];

describe("steps: a pasteable command line (CLI), a tool with its arguments (MCP)", () => {
  for (const [step, cli, mcp] of steps)
    it(step.do, () => {
      assert.equal(cliWords.step(step), cli);
      assert.equal(mcpWords.step(step), mcp);
    });
  it("no step, in any face's words, carries a way around a confirmation", () => {
    for (const [step] of steps)
      for (const words of [cliWords, mcpWords, plainWords]) {
        const text = words.step(step);
        assert.doesNotMatch(text, /--yes|--confirm\b|confirmationToken|confirmSnapshotName/, text);
      }
  });
  it("MCP words never name a vmsnap command or a flag", () => {
    for (const [step] of steps)
      assert.doesNotMatch(mcpWords.step(step), /vmsnap |(^|\s)--?[a-zA-Z]/);
  });
});

describe("options: the CLI's flag, the MCP argument", () => {
  const cases: [Parameters<typeof option>, string, string][] = [
    [["stop", true], "--stop", "stopVm: true"],
    [["consistency", "best-effort"], "--consistency best-effort", 'consistency: "best-effort"'],
    [["safetySnapshot", false], "--no-safety-snapshot", "safetySnapshot: false"],
    [["target"], "--to", "the argument target"],
    [["deadline"], "--deadline", "the argument deadlineSeconds"],
    [["kubeconfig"], "--kubeconfig", "the server's kubeconfig"],
  ];
  for (const [args, cli, mcp] of cases)
    it(args[0], () => {
      assert.equal(cliWords.option(option(...args)), cli);
      assert.equal(mcpWords.option(option(...args)), mcp);
    });
});

describe("advice phrased per face", () => {
  const a = advice`stop the VM (${option("stop", true)}), then ${{ do: "restore", namespace: "p", vm: "v", snapshot: "s" }}`;
  it("reads as one sentence in each face's words", () => {
    assert.equal(phrase(a, cliWords), "stop the VM (--stop), then `vmsnap restore -n p v s`");
    assert.equal(
      phrase(a, mcpWords),
      'stop the VM (stopVm: true), then vm_snapshot_restore with namespace "p", vm "v", snapshot "s"',
    );
  });
  it("an error's hint, in the Error object of each face", () => {
    const e = new VmsnapError("NotFound", "snapshot p/x not found", a);
    assert.equal(errorObject(e, cliWords).hint, phrase(a, cliWords));
    assert.equal(errorObject(e, mcpWords).hint, phrase(a, mcpWords));
    assert.equal(e.hint, phrase(a, plainWords), "the library's neutral words");
  });
});

describe("the restore report's undo line", () => {
  const restore: Restore = {
    apiVersion: "vmsnap.io/v1",
    kind: "Restore",
    namespace: "prod",
    vm: "db-1",
    snapshot: "db-1-snap",
    phase: "Succeeded",
    safetySnapshot: "db-1-pre-restore-20250601-145800",
    stoppedVm: true,
    restartedVm: true,
    restoreName: "db-1-restore-20250601-145800",
    snapshotAgeSeconds: 10,
    specChanges: [],
    volumesNotInSnapshot: [],
    durationMs: 1000,
  };
  it("CLI: a command to paste, which asks the human", () => {
    const text = renderText(restore, { color: false, words: cliWords });
    assert.match(
      text,
      /To undo: vmsnap restore -n prod db-1 db-1-pre-restore-20250601-145800 --stop\n$/,
    );
    assert.doesNotMatch(text, /--yes|--confirm/);
  });
  it("MCP: the tool and its arguments, no command, no flag", () => {
    const text = renderText(restore, { color: false, words: mcpWords });
    assert.match(
      text,
      /To undo: vm_snapshot_restore with namespace "prod", vm "db-1", snapshot "db-1-pre-restore-20250601-145800", stopVm true\n$/,
    );
    assert.doesNotMatch(text, /vmsnap |--/);
  });
});
