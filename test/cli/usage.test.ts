// Usage problems the CLI answers before it talks to a cluster (issue 13, item 4): no kubeconfig
// at all is "cluster unreachable" (exit 8) with a message that says so, not a client library
// error (exit 1). (-n together with -A is not an error: as in kubectl, -A wins; see
// test/cli/operations.test.ts. The MCP tools refuse namespace with allNamespaces: test/mcp.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../helpers/cli.js";

describe("CLI usage checks", () => {
  it("no kubeconfig at all: a clear message, exit 8", async () => {
    const home = await mkdtemp(path.join(tmpdir(), "vmsnap-nohome-"));
    try {
      const env = { KUBECONFIG: "", HOME: home, KUBERNETES_SERVICE_HOST: "" };
      for (const args of [["list"], ["-o", "json", "vms"]]) {
        const r = await runCli(args, { env });
        assert.equal(r.code, 8, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.match(
          r.stdout + r.stderr,
          /no kubeconfig: KUBECONFIG is not set and \S+ does not exist/,
        );
        assert.doesNotMatch(r.stdout + r.stderr, /HTTP protocol is not allowed/);
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
