import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  defaultSnapshotName,
  fitName,
  nameProblem,
  safetySnapshotName,
  validateName,
} from "./names.js";

describe("names", () => {
  it("accepts DNS-1123-style names up to 63 characters", () => {
    for (const ok of ["a", "web", "db-1", "my.vm-2", "a".repeat(63), "0start"])
      assert.equal(nameProblem(ok), undefined, ok);
  });
  it("refuses everything else with exit code 2", () => {
    for (const bad of [
      "",
      "Web",
      "under_score",
      "-lead",
      "trail-",
      "trail.",
      "a".repeat(64),
      "sp ace",
      "semi;colon",
      "ünï",
      "a/b",
      "$(rm -rf)",
    ]) {
      assert.throws(
        () => validateName("VM", bad),
        (e: { exitCode?: number }) => e.exitCode === 2,
        JSON.stringify(bad),
      );
    }
    assert.throws(() => validateName("snapshot", 42), /invalid snapshot name/);
  });
  it("generates valid default and safety names, shortening long VM names", () => {
    const now = new Date("2026-11-24T03:04:05Z");
    assert.equal(defaultSnapshotName("web", now), "web-snapshot-20261124-030405");
    assert.equal(safetySnapshotName("web", now), "web-pre-restore-20261124-030405");
    const long = "v".repeat(60);
    for (const n of [
      defaultSnapshotName(long, now),
      safetySnapshotName(long, now),
      fitName("abc-".repeat(20), "-x"),
    ]) {
      assert.equal(nameProblem(n), undefined, n);
    }
  });
});
