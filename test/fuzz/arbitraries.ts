// Generators of hostile input shared by the fuzz tests: names as an attacker (or a prompt-injected
// agent, or a typo) would write them.
import fc from "fast-check";
import { NAME_MAX_LENGTH, NAME_PATTERN } from "../../src/core/names.js";

/** Valid names (SPEC §3.1). */
export const validName: fc.Arbitrary<string> = fc
  .stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/)
  .filter((s) => s.length <= NAME_MAX_LENGTH);

/** Injections and path tricks that must never reach a manifest or a URL. */
const INJECTIONS = [
  "a\nkind: ClusterRole",
  "x\n---\napiVersion: v1\nkind: Secret",
  '{"x":1}',
  '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding"}',
  "../x",
  "../../apis/rbac.authorization.k8s.io/v1/clusterroles",
  "a/b",
  "/etc/passwd",
  "a%2Fb",
  "%2e%2e",
  "..",
  ".",
  "",
  " ",
  "-",
  "--yes",
  "--confirm",
  "-n",
  "-rf",
  "a b",
  "a\tb",
  "a\u0000b",
  "a\r\nb",
  "\u001b[31mred\u001b[0m",
  "vm\u200b",
  "νm",
  "ВМ",
  "vm😀",
  "VM",
  "Vm-1",
  "vm_1",
  "vm-",
  "-vm",
  ".vm",
  "vm.",
  "a?watch=true",
  "a#b",
  "a&dryRun=None",
  "${HOME}",
  "$(id)",
  "`id`",
  "*",
  "a,b",
  "a:b",
  "null",
  "__proto__",
  "constructor",
];

/** A name that fails NAME_PATTERN or the length limit (checked, so the property is exact). */
export const invalidName: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(...INJECTIONS),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.stringMatching(/^[a-z0-9]{64,300}$/),
    fc.tuple(validName, fc.constantFrom(...INJECTIONS), validName).map(([a, b, c]) => a + b + c),
    fc
      .tuple(validName, fc.constantFrom("A", "_", " ", "/", "\n", "é", ":", "\u0000"))
      .map(([a, b]) => a + b),
    fc.tuple(fc.constantFrom("-", ".", "--"), validName).map(([a, b]) => a + b),
  )
  .filter((s) => s.length === 0 || s.length > NAME_MAX_LENGTH || !NAME_PATTERN.test(s));

/** Any string, hostile ones weighted up; valid or not. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  invalidName,
  validName,
  fc.string({ unit: "binary", maxLength: 100 }),
  fc.string({ unit: "binary", minLength: 1000, maxLength: 5000 }),
);

export function isValidName(s: string): boolean {
  return s.length > 0 && s.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(s);
}
