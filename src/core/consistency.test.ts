import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { consistencyFrom } from "./consistency.js";
import { formatDiffLine, jsonDiff } from "./diff.js";

describe("consistency from indications (SPEC §5)", () => {
  it("maps the indication sets", () => {
    assert.equal(consistencyFrom(["Online", "GuestAgent"]).consistency, "application-consistent");
    assert.equal(consistencyFrom(["Online", "NoGuestAgent"]).consistency, "crash-consistent");
    assert.equal(consistencyFrom([]).consistency, "consistent (VM stopped)");
    assert.equal(
      consistencyFrom(["Online", "GuestAgent", "QuiesceTimeout"]).consistency,
      "crash-consistent",
    );
    assert.equal(consistencyFrom(["Online", "Paused"]).consistency, "crash-consistent");
  });
  it("explains known indications and shows unknown ones as they are", () => {
    const r = consistencyFrom(["Online", "GuestAgent", "PartialSnapshot", "FutureThing"]);
    assert.ok(r.notes.some((n) => n.startsWith("PartialSnapshot:")));
    assert.ok(r.notes.some((n) => n.startsWith("FutureThing:")));
  });
});

describe("spec diff", () => {
  it("reports changed, added and removed paths, keying named list items", () => {
    const before = {
      domain: { memory: { guest: "2Gi" } },
      volumes: [
        { name: "root", pvc: "a" },
        { name: "data", pvc: "b" },
      ],
    };
    const after = {
      domain: { memory: { guest: "4Gi" }, cpu: { cores: 2 } },
      volumes: [{ name: "data", pvc: "b" }],
    };
    const lines = jsonDiff(before, after, "spec").map(formatDiffLine);
    assert.deepEqual(lines, [
      "+ spec.domain.cpu.cores: 2",
      "~ spec.domain.memory.guest: 2Gi → 4Gi",
      "- spec.volumes[name=root].name: root",
      "- spec.volumes[name=root].pvc: a",
    ]);
    assert.deepEqual(jsonDiff(before, structuredClone(before)), []);
  });
});
