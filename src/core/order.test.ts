import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareStrings } from "./order.js";

const sign = (n: number) => Math.sign(n);
// Kubernetes names: lowercase letters, digits, '-' and '.' (DNS-1123 subdomains).
const name = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/);
const timestamp = fc
  .date({
    min: new Date("2000-01-01T00:00:00Z"),
    max: new Date("2099-12-31T23:59:59Z"),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString().replace(/\.\d{3}Z$/, "Z"));

describe("compareStrings", () => {
  it("orders by code unit, as the API server lists and kubectl sorts", () => {
    assert.deepEqual(["web", "Web", "db-2", "db.1", "db10", "db9", ""].sort(compareStrings), [
      "",
      "Web",
      "db-2",
      "db.1",
      "db10",
      "db9",
      "web",
    ]);
    assert.equal(compareStrings("a", "a"), 0);
  });

  it("agrees with localeCompare on Kubernetes names and RFC 3339 timestamps (the sorts it replaced)", () => {
    fc.assert(
      fc.property(name, name, (a, b) => sign(compareStrings(a, b)) === sign(a.localeCompare(b))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        timestamp,
        timestamp,
        (a, b) => sign(compareStrings(a, b)) === sign(a.localeCompare(b)),
      ),
    );
  });
});
