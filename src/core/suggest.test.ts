import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeNames, editDistance } from "./suggest.js";

describe("did you mean", () => {
  it("edit distance counts insertions, deletions, substitutions and transpositions", () => {
    assert.equal(editDistance("web", "web"), 0);
    assert.equal(editDistance("web", "wb"), 1);
    assert.equal(editDistance("web", "weeb"), 1);
    assert.equal(editDistance("web", "wef"), 1);
    assert.equal(editDistance("web", "ewb"), 1);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("kitten", "sitting"), 3);
  });

  it("only the closest, at most 3, never the name itself, never far names", () => {
    const names = ["db-1", "db-2", "db-10", "web", "db-1", "database"];
    assert.deepEqual(closeNames("db-1", names), ["db-10", "db-2"]);
    assert.deepEqual(closeNames("db-3", names), ["db-1", "db-2"]);
    assert.deepEqual(closeNames("db-3", names, 1), ["db-1"]);
    // web at 1 (a transposition); db at 2 is not shown beside it.
    assert.deepEqual(closeNames("wbe", ["web", "db"]), ["web"]);
    assert.deepEqual(closeNames("dbb", ["web", "db"]), ["db"]);
    assert.deepEqual(closeNames("zzzzzz", names), []);
  });

  it("a name that starts with what was typed is close, however long", () => {
    assert.deepEqual(closeNames("db-snap", ["db-snapshot-20260101-000000", "other"]), [
      "db-snapshot-20260101-000000",
    ]);
    // Too short a prefix suggests nothing.
    assert.deepEqual(closeNames("d", ["db-snapshot-20260101-000000"]), []);
  });
});
