// Property-based tests of the pure safety logic (SPEC §3): name validation, duration parsing and
// confirmation verification, with fast-check generating the inputs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { nameProblem, NAME_MAX_LENGTH, NAME_PATTERN, validateName } from "../../src/core/names.js";
import { goDuration, parseDuration } from "../../src/core/duration.js";
import {
  verifyConfirmation,
  type ConfirmationAnswer,
  type ConfirmationRequest,
} from "../../src/core/confirmation.js";
import { ErrorCode, VmsnapError } from "../../src/core/errors.js";
import { parseDurationFlag } from "../../src/cli/run.js";
import { hostileString, validName } from "./arbitraries.js";

const RUNS = 10_000;

/** Runs a property and returns how many inputs it was checked against. */
function check<T>(arb: fc.Arbitrary<T>, predicate: (value: T) => void, numRuns = RUNS): number {
  let count = 0;
  fc.assert(
    fc.property(arb, (v) => {
      count++;
      predicate(v);
    }),
    { numRuns },
  );
  return count;
}

function expectInvalidInput(fn: () => unknown, ...patterns: RegExp[]): VmsnapError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof VmsnapError, `not a VmsnapError: ${String(err)}`);
    assert.equal(err.code, ErrorCode.InvalidInput);
    assert.equal(err.exitCode, 2);
    for (const p of patterns) assert.match(err.message, p);
    return err;
  }
  assert.fail("expected an InvalidInput error");
}

describe(`fuzz: core units (${RUNS} generated inputs per property)`, () => {
  it(`validateName accepts exactly the DNS-label names (${RUNS} hostile strings)`, () => {
    const n = check(hostileString, (s) => {
      const valid = s.length > 0 && s.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(s);
      assert.equal(nameProblem(s) === undefined, valid, JSON.stringify(s));
      if (valid) {
        assert.equal(validateName("VM", s), s);
        // What passes can go into a URL path and a manifest as is.
        assert.equal(encodeURIComponent(s), s);
        assert.doesNotMatch(s, /^[.-]|\/|\.\.\/|\s|[A-Z]/);
      } else {
        const e = expectInvalidInput(() => validateName("snapshot", s), /invalid snapshot name/);
        // The value is quoted as JSON: no raw control character or newline reaches a terminal.
        assert.ok(e.message.includes(JSON.stringify(s)));
        // eslint-disable-next-line no-control-regex
        assert.doesNotMatch(e.message, /[\u0000-\u001f]/);
      }
    });
    assert.equal(n, RUNS);
  });

  it(`validateName accepts every valid name (${RUNS} generated names)`, () => {
    check(validName, (s) => assert.equal(validateName("namespace", s), s));
  });

  it(`validateName refuses non-strings and over-long names (${RUNS} values)`, () => {
    check(
      fc.oneof(
        fc.anything().filter((v) => typeof v !== "string"),
        validName.map((s) => s.padEnd(NAME_MAX_LENGTH + 1, "a")),
      ),
      (v) => {
        expectInvalidInput(() => validateName("clone target", v), /invalid clone target name/);
      },
    );
  });

  it(`parseDuration: sums of h/m/s/ms parts round-trip; anything else is undefined or a finite number (${3 * RUNS} inputs)`, () => {
    const part = fc.record({
      n: fc.integer({ min: 0, max: 10_000 }),
      unit: fc.constantFrom("h", "m", "s", "ms"),
    });
    const factor: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
    check(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => {
      const text = parts.map((p) => `${p.n}${p.unit}`).join("");
      assert.equal(
        parseDuration(text),
        parts.reduce((sum, p) => sum + p.n * factor[p.unit]!, 0),
        text,
      );
    });
    check(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (ms) => {
      // goDuration is whole seconds; parsing it gives back those seconds.
      assert.equal(parseDuration(goDuration(ms)), Math.round(ms / 1000) * 1000);
    });
    check(hostileString, (s) => {
      const ms = parseDuration(s);
      assert.ok(ms === undefined || (Number.isFinite(ms) && ms >= 0) || ms === Infinity, s);
    });
  });

  it(`--deadline: every value is a usable timer length or refused with exit 2 naming the flag (${RUNS} values)`, () => {
    check(fc.oneof(hostileString, fc.stringMatching(/^\d{1,12}(h|m|s|ms)$/)), (s) => {
      let ms: number | undefined;
      try {
        ms = parseDurationFlag("--deadline", s);
      } catch {
        expectInvalidInput(() => parseDurationFlag("--deadline", s), /invalid --deadline/);
        return;
      }
      // A timer beyond 2^31-1 ms would fire at once in Node.
      assert.ok(ms !== undefined && ms > 0 && ms <= 2 ** 31 - 1, `${s} → ${ms}`);
    });
  });

  it(`confirmation: only the exact typed name (and, for restore, the stop choice and final yes) confirms (${RUNS} answers)`, () => {
    const request = fc.record({
      kind: fc.constantFrom("typed-name" as const, "restore" as const),
      expectedName: validName,
      vmRunning: fc.boolean(),
    });
    const answer = fc.record(
      {
        confirmed: fc.boolean(),
        typedName: fc.oneof(hostileString, validName),
        stopVm: fc.boolean(),
        finalYes: fc.boolean(),
      },
      { requiredKeys: ["confirmed"] },
    );
    // Near misses of the right name: another case, a space, a lookalike.
    const nearMiss = (name: string) =>
      fc.constantFrom(name.toUpperCase(), ` ${name}`, `${name} `, name.replace(/o/g, "0"));
    const cases = request.chain((r) =>
      fc.tuple(
        fc.constant(r),
        fc.oneof(
          answer,
          answer.map((a) => ({ ...a, typedName: r.expectedName })),
          fc.tuple(answer, nearMiss(r.expectedName)).map(([a, t]) => ({ ...a, typedName: t })),
        ),
      ),
    );
    check(
      cases,
      ([r, a]: [typeof request extends fc.Arbitrary<infer R> ? R : never, ConfirmationAnswer]) => {
        const req: ConfirmationRequest =
          r.kind === "typed-name"
            ? {
                kind: "typed-name",
                action: "delete",
                title: "t",
                preview: "p",
                expectedName: r.expectedName,
                warnings: [],
                planDigest: "d",
              }
            : {
                kind: "restore",
                action: "restore",
                title: "t",
                preview: "p",
                expectedName: r.expectedName,
                warnings: [],
                vmRunning: r.vmRunning,
                planDigest: "d",
              };
        const shouldPass =
          a.confirmed &&
          a.typedName === r.expectedName &&
          (r.kind === "typed-name" || ((!r.vmRunning || a.stopVm === true) && a.finalYes === true));
        let passed = false;
        let stopVm = false;
        try {
          stopVm = verifyConfirmation(req, a).stopVm;
          passed = true;
        } catch (err) {
          assert.ok(err instanceof VmsnapError);
          assert.ok([ErrorCode.Cancelled, ErrorCode.Conflict].includes(err.code as "Cancelled"));
        }
        assert.equal(passed, shouldPass, JSON.stringify({ r, a }));
        // The VM is stopped only when it runs and the human chose to stop it.
        if (passed) assert.equal(stopVm, r.kind === "restore" && r.vmRunning);
      },
    );
  });
});
