// Errors as the faces see them: every failure (API, transport, platform) as a typed VmsnapError.
export { toVmsnapError } from "../kube/errors.js";
export { ConcurrentRestoreError, OperationInProgressError } from "../platforms/errors.js";
