// Mapping transport and API errors to vmsnap's typed errors (and so to exit codes). A 403 names
// the exact verb and resource that is missing; credentials never appear in messages.
import { advice, option } from "../core/advice.js";
import { ErrorCode, VmsnapError } from "../core/errors.js";
import { KubeApiError, KubeUnreachableError } from "./client.js";
import { DeadlineExceededError } from "./watch.js";

export function toVmsnapError(err: unknown): VmsnapError {
  if (err instanceof VmsnapError) return err;
  if (err instanceof DeadlineExceededError) {
    return new VmsnapError(
      ErrorCode.DeadlineExceeded,
      err.message,
      advice`raise the deadline (${option("deadline")})`,
    );
  }
  if (err instanceof KubeUnreachableError) {
    return new VmsnapError(
      ErrorCode.Unreachable,
      err.message,
      advice`check the kubeconfig (${option("kubeconfig")}, ${option("context")}) and that the cluster is up`,
    );
  }
  if (err instanceof KubeApiError) {
    const msg = err.status.message ?? err.message;
    switch (err.code) {
      case 401:
        return new VmsnapError(
          ErrorCode.Forbidden,
          `unauthorized: ${msg}`,
          "the credentials in the kubeconfig were rejected; log in again",
        );
      case 403:
        return new VmsnapError(ErrorCode.Forbidden, `forbidden: ${msg}`, missingPermission(err), {
          verb: err.method,
          path: err.path,
        });
      case 404:
        return new VmsnapError(ErrorCode.NotFound, msg);
      case 409:
        return new VmsnapError(ErrorCode.Conflict, msg);
      case 400:
      case 422:
        return new VmsnapError(ErrorCode.InvalidInput, `rejected by the API server: ${msg}`);
      default:
        return new VmsnapError(ErrorCode.OperationFailed, `${err.method} ${err.path}: ${msg}`);
    }
  }
  return new VmsnapError(
    ErrorCode.OperationFailed,
    err instanceof Error ? err.message : String(err),
  );
}

function missingPermission(err: KubeApiError): string {
  // The API server says: User "u" cannot <verb> resource "<r>" in API group "<g>" in the namespace "<ns>".
  const m =
    /cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?/.exec(
      err.status.message ?? "",
    );
  if (!m) return "ask your cluster administrator for the permission (see deploy/rbac/)";
  const [, verb, resource, group, ns] = m;
  return `missing permission: verb "${verb}" on resource "${resource}"${group ? ` (API group "${group}")` : " (core API group)"}${ns ? ` in namespace "${ns}"` : " cluster-wide"}; see deploy/rbac/`;
}
