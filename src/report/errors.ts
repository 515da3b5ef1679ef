// An error as the documented Error object (-o json, MCP structuredContent), its hint phrased in the
// face's words.
import { phrase, type Words } from "../core/advice.js";
import { API_VERSION } from "../core/api-version.js";
import type { VmsnapError } from "../core/errors.js";
import type { ErrorObject } from "../core/schema.js";

export function errorObject(e: VmsnapError, words: Words): ErrorObject {
  const hint = phrase(e.advice, words);
  return {
    apiVersion: API_VERSION,
    kind: "Error",
    code: e.code,
    exitCode: e.exitCode,
    message: e.message,
    ...(hint ? { hint } : {}),
  };
}
