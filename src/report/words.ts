// Each face's words for advice (src/core/advice.ts). The CLI names a command line that can be
// pasted as it is (every name, -n NAMESPACE); the MCP server names a tool and its arguments, never
// a command or a flag. Neither ever names a way around a confirmation (no --yes, no --confirm, no
// token): the step it names asks the human again.
import type { OptionRef, Step, Words } from "../core/advice.js";

const SHELL_SAFE = /^[A-Za-z0-9_./=,:-]+$/;
const shellArg = (s: string) => (SHELL_SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** CLI: a command line (`vmsnap restore -n prod db snap --stop`) and the command's flags. */
export const cliWords: Words = {
  step(s: Step): string {
    const ns = (n: string | undefined) => (n === undefined ? [] : ["-n", n]);
    const args: string[] = (() => {
      switch (s.do) {
        case "list-vms":
          return [
            "vms",
            ...(s.allNamespaces ? ["-A"] : ns(s.namespace)),
            ...(s.selector !== undefined ? ["-l", shellArg(s.selector)] : []),
          ];
        case "check":
          return ["check", ...ns(s.namespace), s.vm];
        case "list-snapshots":
          return [
            "list",
            ...ns(s.namespace),
            ...(s.vm ? [s.vm] : []),
            ...(s.tree ? ["--tree"] : []),
          ];
        case "describe":
          return ["describe", ...ns(s.namespace), s.snapshot];
        case "create":
          return ["create", ...ns(s.namespace), s.vm ?? "VM", ...(s.stop ? ["--stop"] : [])];
        case "delete":
          return ["delete", ...ns(s.namespace), s.snapshot ?? "SNAPSHOT"];
        case "restore":
          return [
            "restore",
            ...ns(s.namespace),
            s.vm ?? "VM",
            s.snapshot ?? "SNAPSHOT",
            ...(s.stop ? ["--stop"] : []),
            ...(s.safetySnapshot === false ? ["--no-safety-snapshot"] : []),
          ];
        case "clone":
          return ["clone", ...ns(s.namespace), s.snapshot, "--to", s.target ?? "NEW_VM"];
        case "restore-disk":
          return ["restore-disk", ...ns(s.namespace), s.snapshot, "--to", s.target ?? "NEW_DISK"];
        case "list-policies":
          return ["policy", "list", ...ns(s.namespace)];
        case "describe-policy":
          return ["policy", "describe", ...ns(s.namespace), s.policy];
      }
    })();
    return `\`vmsnap ${args.join(" ")}\``;
  },
  option(o: OptionRef): string {
    const flag: Record<OptionRef["option"], string> = {
      stop: "--stop",
      consistency: "--consistency",
      name: "--name",
      target: "--to",
      size: "--size",
      deadline: "--deadline",
      quiesceTimeout: "--quiesce-timeout",
      memory: "--memory",
      safetySnapshot: o.value === false ? "--no-safety-snapshot" : "--safety-snapshot",
      selector: "-l",
      allNamespaces: "-A",
      kubeconfig: "--kubeconfig",
      context: "--context",
      platform: "--platform",
    };
    const name = flag[o.option];
    return typeof o.value === "string" ? `${name} ${shellArg(o.value)}` : name;
  },
};

const TOOL: Record<Step["do"], string> = {
  "list-vms": "vm_list",
  check: "vm_snapshot_check",
  "list-snapshots": "vm_snapshot_list",
  describe: "vm_snapshot_get",
  create: "vm_snapshot_create",
  delete: "vm_snapshot_delete",
  restore: "vm_snapshot_restore",
  clone: "vm_clone_from_snapshot",
  "restore-disk": "vm_clone_from_snapshot",
  "list-policies": "vm_snapshot_policy_list",
  "describe-policy": "vm_snapshot_policy_list",
};

const value = (v: string | boolean) => (typeof v === "string" ? JSON.stringify(v) : String(v));

/** MCP: a tool with its arguments (`vm_snapshot_restore with vm "db", stopVm true`). */
export const mcpWords: Words = {
  step(s: Step): string {
    const args: [string, string | boolean | undefined][] = (() => {
      switch (s.do) {
        case "list-vms":
          return [
            ["namespace", s.allNamespaces ? undefined : s.namespace],
            ["allNamespaces", s.allNamespaces || undefined],
            ["labelSelector", s.selector],
          ];
        case "check":
          return [
            ["namespace", s.namespace],
            ["vm", s.vm],
          ];
        case "list-snapshots":
          return [
            ["namespace", s.namespace],
            ["vm", s.vm],
          ];
        case "describe":
          return [
            ["namespace", s.namespace],
            ["snapshot", s.snapshot],
          ];
        case "create":
          return [
            ["namespace", s.namespace],
            ["vm", s.vm ?? "<the VM>"],
            ["stopVm", s.stop || undefined],
          ];
        case "delete":
          return [
            ["namespace", s.namespace],
            ["snapshot", s.snapshot ?? "<the snapshot>"],
          ];
        case "restore":
          return [
            ["namespace", s.namespace],
            ["vm", s.vm ?? "<the VM>"],
            ["snapshot", s.snapshot ?? "<the snapshot>"],
            ["stopVm", s.stop || undefined],
            ["safetySnapshot", s.safetySnapshot === false ? false : undefined],
          ];
        case "clone":
          return [
            ["namespace", s.namespace],
            ["snapshot", s.snapshot],
            ["target", s.target ?? "<a new VM name>"],
          ];
        case "restore-disk":
          return [
            ["namespace", s.namespace],
            ["snapshot", s.snapshot],
            ["target", s.target ?? "<a new disk name>"],
          ];
        case "list-policies":
        case "describe-policy":
          return [["namespace", s.namespace]];
      }
    })();
    const given = args.filter((a): a is [string, string | boolean] => a[1] !== undefined);
    return `${TOOL[s.do]}${given.length ? ` with ${given.map(([k, v]) => `${k} ${value(v)}`).join(", ")}` : ""}`;
  },
  option(o: OptionRef): string {
    const arg: Record<OptionRef["option"], string> = {
      stop: "stopVm",
      consistency: "consistency",
      name: "name",
      target: "target",
      size: "size",
      deadline: "deadlineSeconds",
      quiesceTimeout: "quiesceTimeout",
      memory: "memory",
      safetySnapshot: "safetySnapshot",
      selector: "selector",
      allNamespaces: "allNamespaces",
      // Settings of the server itself, not arguments: the operator who runs it changes them.
      kubeconfig: "the server's kubeconfig",
      context: "the server's kubeconfig context",
      platform: "the server's platform setting",
    };
    const name = arg[o.option];
    if (["kubeconfig", "context", "platform"].includes(o.option)) return name;
    return o.value === undefined ? `the argument ${name}` : `${name}: ${value(o.value)}`;
  },
};
