// vmsnap as a library: the same workflows and safety rules as the CLI and the MCP server.
//
// One call, with a confirmation port (a preset answer still goes through verifyConfirmation):
//   import { Session, presetConfirmation, createSnapshot } from "vmsnap";
//   const session = await Session.open({ namespace: "demo" });
//   const { snapshot } = await createSnapshot(session, { vm: "web" }, presetConfirmation({ confirmed: true }));
//   session.close();
//
// Or plan, consent, execute:
//   const plan = await planRestore(session, { vm: "web", snapshot: "web-before-upgrade" });
//   console.log(plan.preview, plan.lost);                       // show it to the human
//   const consent = verifyConfirmation(plan.confirmation!, answer); // the only maker of a Consent
//   const restore = await execute(session, plan, consent);
export * from "./workflows/index.js";
export { presetConfirmation, verifyConfirmation, Consent } from "./core/confirmation.js";
export type {
  ConfirmationAnswer,
  ConfirmationPort,
  ConfirmationRequest,
} from "./core/confirmation.js";
export type { Operation, PlanBase, Pins } from "./core/plan.js";
export { phrase, plainWords } from "./core/advice.js";
export type { Advice, Step, OptionRef, Words } from "./core/advice.js";
export { VmsnapError, ErrorCode, EXIT_CODES } from "./core/errors.js";
export { PLATFORM_NAMES, type PlatformName } from "./core/platform-names.js";
export {
  validateName,
  defaultSnapshotName,
  safetySnapshotName,
  NAME_PATTERN,
} from "./core/names.js";
export { consistencyFrom } from "./core/consistency.js";
export * as schema from "./core/schema.js";
export type {
  Preflight,
  Snapshot,
  SnapshotList,
  VirtualMachine,
  VirtualMachineList,
  Restore,
  Clone,
  Deletion,
  DeletionList,
  SnapshotBatch,
  SnapshotBatchItem,
} from "./core/schema.js";
