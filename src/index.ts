// vmsnap as a library: the same workflows and safety rules as the CLI and the MCP server.
//
//   import { Session, presetConfirmation, createSnapshot } from "vmsnap";
//   const session = await Session.open({ namespace: "demo", confirmation: presetConfirmation({ confirmed: true }) });
//   const { snapshot } = await createSnapshot(session, { vm: "web" });
//   session.close();
export * from "./workflows/index.js";
export { presetConfirmation, verifyConfirmation } from "./core/confirmation.js";
export type {
  ConfirmationAnswer,
  ConfirmationPort,
  ConfirmationRequest,
} from "./core/confirmation.js";
export { VmsnapError, ErrorCode, EXIT_CODES } from "./core/errors.js";
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
  SnapshotBatch,
  SnapshotBatchItem,
} from "./core/schema.js";
