// The kubeconfig fast path must connect exactly as client-node does for the configs it accepts,
// and hand every other config to client-node.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { KubeConfig } from "@kubernetes/client-node";
import type https from "node:https";
import { kubeconfigFile, loadSimpleConnection } from "../../src/kube/kubeconfig-fast.js";
import { KubeClient } from "../../src/kube/client.js";
import { userKubeconfig } from "../helpers/env.js";

async function viaClientNode(file: string): Promise<https.RequestOptions & { server: string }> {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return { ...opts, server: kc.getCurrentCluster()!.server };
}

describe("kubeconfig fast path", () => {
  it("reads the playground's token kubeconfig as client-node does, and the client works with it", async () => {
    const file = userKubeconfig();
    const fast = loadSimpleConnection({ kubeconfig: file });
    assert.ok(fast, "a token kubeconfig takes the fast path");
    const slow = await viaClientNode(file);
    assert.equal(fast.server, slow.server.replace(/\/$/, ""));
    assert.equal(String(fast.requestOptions.ca), String(slow.ca));
    assert.equal(
      (fast.requestOptions.headers as Record<string, string>).Authorization,
      (slow.headers as Record<string, string>).Authorization,
    );
    const client = await KubeClient.fromConfig({ kubeconfig: file });
    try {
      assert.equal(client.kubeConfig, undefined, "client-node was not needed");
      const apis = await client.getPath<{ kind: string }>("/apis");
      assert.equal(apis.kind, "APIGroupList");
    } finally {
      client.close();
    }
  });

  it("hands exec plugins, several KUBECONFIG files and unknown contexts to client-node", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "vmsnap-kc-"));
    const base = (user: Record<string, unknown>) => ({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "c",
      clusters: [{ name: "k", cluster: { server: "https://127.0.0.1:1" } }],
      contexts: [{ name: "c", context: { cluster: "k", user: "u", namespace: "ns1" } }],
      users: [{ name: "u", user }],
    });
    const exec = path.join(dir, "exec.yaml");
    await writeFile(
      exec,
      stringify(base({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "x" } })),
    );
    assert.equal(loadSimpleConnection({ kubeconfig: exec }), undefined);

    const token = path.join(dir, "token.yaml");
    await writeFile(token, stringify(base({ token: "t0k" })));
    const ok = loadSimpleConnection({ kubeconfig: token });
    assert.equal(ok?.namespace, "ns1");
    assert.equal(loadSimpleConnection({ kubeconfig: token, context: "other" }), undefined);

    assert.equal(kubeconfigFile({}, { KUBECONFIG: `${token}${path.delimiter}${exec}` }), undefined);
    assert.equal(kubeconfigFile({}, { KUBECONFIG: token }), token);
    assert.equal(kubeconfigFile({ kubeconfig: exec }, { KUBECONFIG: token }), exec);
  });
});
