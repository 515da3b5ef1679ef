import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { filterAudit, parseAuditLog, type AuditEvent } from "./audit.js";

const ev = (over: Partial<AuditEvent>): AuditEvent => ({
  auditID: "a",
  stage: "ResponseComplete",
  verb: "get",
  requestURI: "/api/v1/namespaces",
  user: { username: "u" },
  requestReceivedTimestamp: "2026-01-01T00:00:10.000000Z",
  stageTimestamp: "2026-01-01T00:00:10.100000Z",
  ...over,
});

describe("audit log filtering", () => {
  const log = [
    ev({ verb: "create", user: { username: "vmsnap-user" } }),
    ev({ verb: "list", user: { username: "vmsnap-user" } }),
    ev({ verb: "patch", user: { username: "vmsnap-user" }, requestURI: "/apis/x?dryRun=All" }),
    ev({ verb: "delete", user: { username: "other" } }),
    ev({
      verb: "create",
      user: { username: "vmsnap-user" },
      requestReceivedTimestamp: "2026-01-01T00:00:01.000000Z",
    }),
    ev({ verb: "create", stage: "RequestReceived", user: { username: "vmsnap-user" } }),
  ];
  it("selects one identity's completed writes since an instant", () => {
    const got = filterAudit(log, {
      user: "vmsnap-user",
      writesOnly: true,
      since: new Date("2026-01-01T00:00:05Z"),
    });
    assert.deepEqual(
      got.map((e) => e.verb),
      ["create", "patch"],
    );
  });
  it("can leave dry runs out", () => {
    const got = filterAudit(log, { user: "vmsnap-user", writesOnly: true, excludeDryRun: true });
    assert.deepEqual(
      got.map((e) => e.verb),
      ["create", "create"],
    );
  });
  it("parses JSON lines and skips a torn last line", () => {
    const text = `${JSON.stringify(log[0])}\n${JSON.stringify(log[1])}\n{"auditID":`;
    assert.equal(parseAuditLog(text).length, 2);
  });
});
