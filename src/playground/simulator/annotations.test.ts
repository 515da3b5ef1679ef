import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  failures,
  parseDuration,
  powerTransitionMs,
  snapshotDelayMs,
  DEFAULT_SNAPSHOT_DELAY_MS,
} from "./annotations.js";

describe("parseDuration", () => {
  it("reads Go-style durations", () => {
    assert.equal(parseDuration("2s"), 2000);
    assert.equal(parseDuration("1m30s"), 90_000);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("0"), 0);
  });
  it("rejects garbage instead of guessing", () => {
    assert.equal(parseDuration("2 s"), undefined);
    assert.equal(parseDuration("soon"), undefined);
    assert.equal(parseDuration(""), undefined);
    assert.equal(parseDuration(undefined), undefined);
  });
});

describe("annotation hooks", () => {
  const vm = (annotations: Record<string, string>) => ({ metadata: { name: "x", annotations } });
  it("snapshot-delay defaults when absent or invalid", () => {
    assert.equal(snapshotDelayMs(vm({})), DEFAULT_SNAPSHOT_DELAY_MS);
    assert.equal(
      snapshotDelayMs(vm({ "sim.vmsnap.io/snapshot-delay": "nonsense" })),
      DEFAULT_SNAPSHOT_DELAY_MS,
    );
    assert.equal(snapshotDelayMs(vm({ "sim.vmsnap.io/snapshot-delay": "2s" })), 2000);
  });
  it("power-transition-duration defaults when absent or invalid", () => {
    assert.equal(powerTransitionMs(vm({}), 300), 300);
    assert.equal(
      powerTransitionMs(vm({ "sim.vmsnap.io/power-transition-duration": "x" }), 300),
      300,
    );
    assert.equal(
      powerTransitionMs(vm({ "sim.vmsnap.io/power-transition-duration": "1h" }), 300),
      3_600_000,
    );
  });
  it("fail takes one mode or a comma-separated list", () => {
    assert.deepEqual(
      [...failures(vm({ "sim.vmsnap.io/fail": "freeze, stuck" }))],
      ["freeze", "stuck"],
    );
    assert.equal(failures(undefined).size, 0);
  });
});
