// kubectl alone, as the cluster admin: the fidelity tests first show how the playground behaves
// with the platform's own objects (as upstream does), before vmsnap meets the same behaviour.
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import { findBinaries } from "../../src/playground/binaries.js";
import { adminKubeconfig } from "../helpers/env.js";

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kubectl (the binary of the control-plane cache) as admin; `input` goes to stdin. */
export function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  const bin = findBinaries().kubectl;
  if (!bin) throw new Error("kubectl is not in the control-plane cache: run scripts/setup.sh");
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      env: { ...process.env, KUBECONFIG: adminKubeconfig() },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** kubectl that must succeed; its stdout. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}\n${r.stderr}`);
  return r.stdout;
}

/** `kubectl create -f -` of one object given as JSON. */
export function kubectlCreate(obj: object): Promise<string> {
  return kubectlOk(["create", "-f", "-"], JSON.stringify(obj));
}

/** `kubectl wait` for a JSONPath value (generous timeout: the machine may be loaded). */
export function kubectlWait(
  ns: string,
  resource: string,
  jsonpath: string,
  value: string,
  timeout = "90s",
): Promise<string> {
  return kubectlOk([
    "-n",
    ns,
    "wait",
    resource,
    `--for=jsonpath=${jsonpath}=${value}`,
    `--timeout=${timeout}`,
  ]);
}

/** One field of an object by JSONPath. */
export function kubectlGet(ns: string, resource: string, jsonpath: string): Promise<string> {
  return kubectlOk(["-n", ns, "get", resource, "-o", `jsonpath=${jsonpath}`]);
}

/** A field (message by default) of one condition of an object, by JSONPath. */
export function kubectlCondition(
  ns: string,
  resource: string,
  type: string,
  field = "message",
): Promise<string> {
  return kubectlGet(ns, resource, `{.status.conditions[?(@.type=="${type}")].${field}}`);
}

export const DH = "virtualization.deckhouse.io";
export const DH_API = `${DH}/v1alpha2`;
/** kubectl's name of a Deckhouse object: `plural.group/name`. */
export const dhRes = (plural: string, name: string): string => `${plural}.${DH}/${name}`;

export function dhVmSnapshotManifest(
  namespace: string,
  name: string,
  vm: string,
  requiredConsistency = true,
): object {
  return {
    apiVersion: DH_API,
    kind: "VirtualMachineSnapshot",
    metadata: { name, namespace },
    spec: { virtualMachineName: vm, requiredConsistency, keepIPAddress: "Always" },
  };
}

export function dhDiskSnapshotManifest(namespace: string, name: string, disk: string): object {
  return {
    apiVersion: DH_API,
    kind: "VirtualDiskSnapshot",
    metadata: { name, namespace },
    spec: { virtualDiskName: disk, requiredConsistency: true },
  };
}

export function dhVmopManifest(
  namespace: string,
  name: string,
  vm: string,
  type: string,
  o: { force?: boolean; annotations?: Record<string, string> } = {},
): object {
  return {
    apiVersion: DH_API,
    kind: "VirtualMachineOperation",
    metadata: { name, namespace, annotations: o.annotations ?? {} },
    spec: { type, virtualMachineName: vm, ...(o.force === undefined ? {} : { force: o.force }) },
  };
}
