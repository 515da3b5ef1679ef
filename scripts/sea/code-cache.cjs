// Makes the V8 code cache of the bundled CLI (see build.ts), run by the very Node binary that the
// executable is made from:  node code-cache.cjs WRAPPED_BUNDLE CACHE_OUT LIBRARIES_JSON
// The bundle runs `vmsnap -n demo list` against a minimal stand-in API server on loopback (a
// KubeVirt cluster with one snapshot), so that the cache holds the functions of a real command —
// start-up, kubeconfig, client, discovery, the list and its table — not only the top level.
/* global require, process */
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { Script } = require("node:vm");

const [bundleFile, cacheFile, librariesJson] = process.argv.slice(2);
// The same source and file name as the loader compiles, or V8 would not take the cache.
const script = new Script(fs.readFileSync(bundleFile, "latin1"), { filename: "vmsnap.js" });
// Libraries (id → wrapped bundle), as the loader resolves them.
const libraries = JSON.parse(librariesJson);
const loaded = new Map();
function requireFromBundle(id) {
  const file = libraries[id];
  if (file === undefined) return require(id);
  if (!loaded.has(id)) {
    const mod = { exports: {} };
    new Script(fs.readFileSync(file, "latin1"), { filename: id }).runInThisContext()(
      mod.exports,
      requireFromBundle,
      mod,
      id,
      "/",
    );
    loaded.set(id, mod.exports);
  }
  return loaded.get(id);
}

const now = new Date().toISOString();
const snapshot = {
  apiVersion: "snapshot.kubevirt.io/v1beta1",
  kind: "VirtualMachineSnapshot",
  metadata: { name: "web-snapshot", namespace: "demo", uid: "0", creationTimestamp: now },
  spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "web" } },
  status: {
    phase: "Succeeded",
    readyToUse: true,
    creationTime: now,
    indications: ["Online", "GuestAgent"],
    snapshotVolumes: { includedVolumes: ["rootdisk"], excludedVolumes: [] },
    conditions: [{ type: "Ready", status: "True", reason: "Operation complete" }],
  },
};
const group = (name, version) => ({
  name,
  versions: [{ groupVersion: `${name}/${version}`, version }],
  preferredVersion: { groupVersion: `${name}/${version}`, version },
});
const server = http.createServer((req, res) => {
  res.setHeader("Content-Type", "application/json");
  if (req.url === "/apis") {
    res.end(
      JSON.stringify({
        kind: "APIGroupList",
        groups: [group("kubevirt.io", "v1"), group("snapshot.kubevirt.io", "v1beta1")],
      }),
    );
  } else if (req.url.includes("/virtualmachinesnapshots")) {
    res.end(
      JSON.stringify({ kind: "List", metadata: { resourceVersion: "1" }, items: [snapshot] }),
    );
  } else {
    res.end(JSON.stringify({ kind: "List", metadata: { resourceVersion: "1" }, items: [] }));
  }
});

server.listen(0, "127.0.0.1", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmsnap-code-cache-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  fs.writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${server.address().port}"}}]`,
      "users: [{name: u, user: {token: code-cache}}]",
      "contexts: [{name: c, context: {cluster: c, user: u, namespace: demo}}]",
      "current-context: c",
      "",
    ].join("\n"),
  );
  process.env.KUBECONFIG = kubeconfig;
  process.env.NO_COLOR = "1";
  process.argv = [process.argv[0], "vmsnap", "-n", "demo", "list"];
  // The command ends the process once its output is written: the cache is taken then.
  process.on("exit", (code) => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (code === 0) fs.writeFileSync(cacheFile, script.createCachedData());
    else process.stderr.write(`vmsnap list exited ${code}: no code cache written\n`);
  });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, requireFromBundle, mod, "vmsnap.js", "/");
});
