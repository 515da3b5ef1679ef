// The platforms' admission webhooks (playground-webhooks/, a Go program importing KubeVirt's
// own admitters and mirroring Deckhouse's), built once from Go modules into the cache like
// kube-apiserver, started next to the control plane and registered with kube-apiserver as
// ValidatingWebhookConfigurations. See docs/adr/0010-admission-webhooks.md.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { KubeClient } from "../kube/client.js";
import { KubeApiError } from "../kube/client.js";
import { cacheRoot, findGo, run, type ProgressFn } from "./binaries.js";
import { freePort, untilReadyOrExit, waitHttpOk } from "./control-plane.js";
import { ManagedProcess } from "./processes.js";

/** The Go module of the webhook server (shipped in the npm package), from src/ or dist/ alike. */
export const ADMISSION_SOURCE_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../playground-webhooks",
);

/**
 * How long the webhook server may take to sync its informers, and kube-apiserver to start
 * calling it. Both are seconds on an idle machine; the bound is for a CI host under heavy load,
 * where a fixed 2-minute wait once ran out.
 */
export const ADMISSION_READY_TIMEOUT_MS = 10 * 60_000;

const CONFIGS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";

/** Where the binary built from the current source lives: a new source builds anew. */
export async function admissionBinaryPath(): Promise<string> {
  const hash = createHash("sha256");
  const files = (await readdir(ADMISSION_SOURCE_DIR))
    .filter((f) => f.endsWith(".go") || f === "go.mod" || f === "go.sum")
    .sort();
  for (const f of files) {
    hash.update(f);
    hash.update(await readFile(path.join(ADMISSION_SOURCE_DIR, f)));
  }
  const dir = path.join(cacheRoot(), `admission-${hash.digest("hex").slice(0, 12)}`);
  return path.join(dir, "vmsnap-admission");
}

/** Builds the webhook server once (several minutes cold: KubeVirt's module graph). */
export async function ensureAdmissionBinary(progress: ProgressFn = () => {}): Promise<string> {
  if (!existsSync(path.join(ADMISSION_SOURCE_DIR, "go.mod")))
    throw new Error(`the admission webhook source is missing (${ADMISSION_SOURCE_DIR})`);
  const bin = await admissionBinaryPath();
  if (existsSync(bin)) return bin;
  const go = findGo("the admission webhook server");
  await mkdir(path.dirname(bin), { recursive: true });
  progress(`building the admission webhook server (KubeVirt's admitters) into ${bin} (once)`);
  const started = Date.now();
  const tmp = `${bin}.tmp`;
  await run(
    go,
    ["build", "-trimpath", "-ldflags", "-s -w", "-o", tmp, "."],
    ADMISSION_SOURCE_DIR,
    { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" },
    progress,
  );
  await rename(tmp, bin);
  progress(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return bin;
}

export interface Admission {
  url: string;
  pid?: number;
  stop(): Promise<void>;
}

export interface AdmissionOptions {
  /** Working directory for the CA file and the log. */
  dir: string;
  /** The identity the admitters read the cluster as (the platform controllers' one). */
  kubeconfig: string;
  /** Registers the webhook configurations. */
  admin: KubeClient;
  progress?: ProgressFn;
}

/**
 * Starts the webhook server, registers its ValidatingWebhookConfigurations and returns once
 * kube-apiserver is seen calling it.
 */
export async function startAdmission(options: AdmissionOptions): Promise<Admission> {
  const progress = options.progress ?? (() => {});
  const bin = await ensureAdmissionBinary(progress);
  await mkdir(options.dir, { recursive: true });
  const caFile = path.join(options.dir, "admission-ca.crt");
  const url = `https://127.0.0.1:${await freePort()}`;
  const logFile = path.join(options.dir, "admission.log");
  progress(`starting the admission webhooks on ${url}`);
  const proc = new ManagedProcess(
    "vmsnap-admission",
    bin,
    [
      "--kubeconfig",
      options.kubeconfig,
      "--listen",
      url.replace("https://", ""),
      "--ca-file",
      caFile,
    ],
    logFile,
  );
  const started = Date.now();
  try {
    const deadline = started + ADMISSION_READY_TIMEOUT_MS;
    await untilReadyOrExit(proc, (signal) =>
      waitHttpOk(`${url}/readyz`, ADMISSION_READY_TIMEOUT_MS, {}, signal),
    );
    const caBundle = (await readFile(caFile)).toString("base64");
    for (const config of webhookConfigurations(url, caBundle)) await upsert(options.admin, config);
    await untilReadyOrExit(proc, (signal) => untilCalled(options.admin, deadline, signal));
  } catch (err) {
    await proc.stop();
    const log = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-5);
    throw new Error(
      `the admission webhooks did not become ready after ${((Date.now() - started) / 1000).toFixed(0)} s: ${(err as Error).message}` +
        (log.length ? `\nlast lines of ${logFile}:\n${log.join("\n")}` : ""),
    );
  }
  progress(`admission webhooks ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    url,
    pid: proc.pid,
    async stop() {
      await proc.stop();
    },
  };
}

/**
 * Waits until kube-apiserver calls the webhooks: a dry-run VirtualMachineSnapshot of an unknown
 * API group is refused by KubeVirt's snapshot admitter ("invalid apiGroup") only once the
 * configurations are in effect. The KubeVirt configuration is registered last, so the Deckhouse
 * one is in effect too (kube-apiserver loads them through one informer).
 */
async function untilCalled(
  admin: KubeClient,
  deadline: number,
  signal: AbortSignal,
): Promise<void> {
  const probe = {
    apiVersion: "snapshot.kubevirt.io/v1beta1",
    kind: "VirtualMachineSnapshot",
    metadata: { name: "vmsnap-admission-probe", namespace: "default" },
    spec: { source: { apiGroup: "probe.vmsnap.invalid", kind: "VirtualMachine", name: "probe" } },
  };
  let last = "";
  for (
    let delay = 50;
    Date.now() < deadline && !signal.aborted;
    delay = Math.min(delay * 2, 1000)
  ) {
    try {
      await admin.request(
        "POST",
        "/apis/snapshot.kubevirt.io/v1beta1/namespaces/default/virtualmachinesnapshots",
        { body: probe, query: { dryRun: "All" } },
      );
      last = "the probe was admitted (the webhook is not called yet)";
    } catch (err) {
      if (err instanceof KubeApiError && err.status.message?.includes("invalid apiGroup")) return;
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new Error(`kube-apiserver does not call the webhooks yet (${last})`);
}

/** Creates a configuration, or replaces one a previous start left (it names an old port and CA). */
async function upsert(admin: KubeClient, config: { metadata: { name: string } }): Promise<void> {
  try {
    await admin.request("POST", CONFIGS, { body: config });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.code === 409)) throw err;
    const old = await admin.request<{ metadata: { resourceVersion: string } }>(
      "GET",
      `${CONFIGS}/${config.metadata.name}`,
    );
    await admin.request("PUT", `${CONFIGS}/${config.metadata.name}`, {
      body: {
        ...config,
        metadata: { ...config.metadata, resourceVersion: old.metadata.resourceVersion },
      },
    });
  }
}

function webhook(
  name: string,
  url: string,
  caBundle: string,
  group: string,
  resource: string,
  operations: string[],
) {
  return {
    name,
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
    // As upstream registers them: a webhook that cannot be called refuses the write.
    failurePolicy: "Fail",
    timeoutSeconds: 10,
    clientConfig: { url, caBundle },
    rules: [{ apiGroups: [group], apiVersions: ["*"], resources: [resource], operations }],
  };
}

/**
 * The configurations, named and scoped as upstream's: KubeVirt's virt-operator
 * (pkg/virt-operator/resource/generate/components/webhooks.go, v1.8.4) and Deckhouse's
 * templates/virtualization-controller/validation-webhook.yaml (v1.10.2). Deckhouse first: the
 * readiness probe goes through the KubeVirt one, registered last.
 */
export function webhookConfigurations(url: string, caBundle: string) {
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "vmsnap-playground-deckhouse" },
      webhooks: [
        webhook(
          "vmop.virtualization-controller.validate.d8-virtualization",
          `${url}/deckhouse/virtualmachineoperations`,
          caBundle,
          "virtualization.deckhouse.io",
          "virtualmachineoperations",
          ["CREATE"],
        ),
      ],
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "vmsnap-playground-kubevirt" },
      webhooks: [
        webhook(
          "virtualmachine-validator.kubevirt.io",
          `${url}/kubevirt/virtualmachines`,
          caBundle,
          "kubevirt.io",
          "virtualmachines",
          ["CREATE", "UPDATE"],
        ),
        webhook(
          "virtualmachinesnapshot-validator.snapshot.kubevirt.io",
          `${url}/kubevirt/virtualmachinesnapshots`,
          caBundle,
          "snapshot.kubevirt.io",
          "virtualmachinesnapshots",
          ["CREATE", "UPDATE"],
        ),
        webhook(
          "virtualmachinerestore-validator.snapshot.kubevirt.io",
          `${url}/kubevirt/virtualmachinerestores`,
          caBundle,
          "snapshot.kubevirt.io",
          "virtualmachinerestores",
          ["CREATE", "UPDATE"],
        ),
      ],
    },
  ];
}
