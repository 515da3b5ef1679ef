import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Consent,
  redeemConsent,
  verifyConfirmation,
  type ConfirmationRequest,
} from "./confirmation.js";

const restore = (vmRunning: boolean): ConfirmationRequest => ({
  kind: "restore",
  action: "restore",
  title: "t",
  preview: "p",
  expectedName: "snap-1",
  warnings: [],
  vmRunning,
  planDigest: "d",
});
const del: ConfirmationRequest = {
  kind: "typed-name",
  action: "delete",
  title: "t",
  preview: "p",
  expectedName: "snap-1",
  warnings: [],
  planDigest: "d",
};
const create: ConfirmationRequest = {
  kind: "yes-no",
  action: "create",
  title: "t",
  preview: "p",
  planDigest: "d",
};
const code = (fn: () => unknown) => {
  try {
    fn();
    return 0;
  } catch (e) {
    return (e as { exitCode: number }).exitCode;
  }
};

describe("verifyConfirmation (the one place that decides)", () => {
  it("yes/no: confirmed proceeds, declined cancels (3)", () => {
    assert.equal(
      code(() => verifyConfirmation(create, { confirmed: true })),
      0,
    );
    assert.equal(
      code(() => verifyConfirmation(create, { confirmed: false })),
      3,
    );
  });
  it("typed name must match exactly, case-sensitively", () => {
    assert.equal(
      code(() => verifyConfirmation(del, { confirmed: true, typedName: "snap-1" })),
      0,
    );
    for (const typed of ["SNAP-1", "snap-1 ", "snap", "", undefined])
      assert.equal(
        code(() => verifyConfirmation(del, { confirmed: true, typedName: typed })),
        3,
        String(typed),
      );
  });
  it("restore needs the name, the final yes, and for a running VM the stop choice", () => {
    assert.equal(
      verifyConfirmation(restore(false), { confirmed: true, typedName: "snap-1", finalYes: true })
        .stopVm,
      false,
    );
    assert.equal(
      code(() => verifyConfirmation(restore(false), { confirmed: true, typedName: "snap-1" })),
      3,
      "no final yes",
    );
    assert.equal(
      code(() =>
        verifyConfirmation(restore(true), { confirmed: true, typedName: "snap-1", finalYes: true }),
      ),
      7,
      "running, stop not chosen",
    );
    assert.equal(
      verifyConfirmation(restore(true), {
        confirmed: true,
        typedName: "snap-1",
        stopVm: true,
        finalYes: true,
      }).stopVm,
      true,
    );
    assert.equal(
      code(() =>
        verifyConfirmation(restore(true), {
          confirmed: true,
          typedName: "snap-2",
          stopVm: true,
          finalYes: true,
        }),
      ),
      3,
    );
  });
});

describe("Consent (only verifyConfirmation makes one; execute spends it)", () => {
  it("is for one plan, once", () => {
    const consent = verifyConfirmation(create, { confirmed: true });
    assert.equal(
      code(() => redeemConsent(consent, "other digest")),
      3,
      "another plan's digest",
    );
    assert.deepEqual(redeemConsent(consent, "d"), { stopVm: false });
    assert.equal(
      code(() => redeemConsent(consent, "d")),
      3,
      "spent",
    );
  });
  it("cannot be forged: not by the constructor, not by a look-alike object", () => {
    const Ctor = Consent as unknown as new (...args: unknown[]) => Consent;
    assert.throws(() => new Ctor(Symbol("verifyConfirmation"), "d", true), TypeError);
    const lookAlike = Object.assign(Object.create(Consent.prototype) as object, { stopVm: true });
    assert.equal(
      code(() => redeemConsent(lookAlike as Consent, "d")),
      2,
    );
    assert.equal(
      code(() => redeemConsent(null, "d")),
      2,
    );
  });
  it("carries the stop choice of a running VM's restore", () => {
    const consent = verifyConfirmation(restore(true), {
      confirmed: true,
      typedName: "snap-1",
      stopVm: true,
      finalYes: true,
    });
    assert.deepEqual(redeemConsent(consent, "d"), { stopVm: true });
  });
});
