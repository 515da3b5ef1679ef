// Which storage (CSI) errors end a snapshot. A VolumeSnapshot's status.error is "the last observed
// error"; the CSI snapshotter decides from the gRPC code whether creating the snapshot may still be
// in progress: Canceled, DeadlineExceeded, Unavailable, ResourceExhausted and Aborted may be; every
// other code means it "either did not even start or failed" (kubernetes-csi/external-snapshotter,
// pkg/sidecar-controller/snapshot_controller.go, isCSIFinalError). vmsnap stops waiting on those
// at once instead of at the snapshot's deadline.

const MAY_STILL_BE_IN_PROGRESS = new Set([
  "Canceled",
  "DeadlineExceeded",
  "Unavailable",
  "ResourceExhausted",
  "Aborted",
]);

/** The gRPC code of a CSI error message ("rpc error: code = Internal desc = …"), if any. */
export function csiErrorCode(message: string): string | undefined {
  return /rpc error: code = (\w+)/.exec(message)?.[1];
}

/** The message reports a CSI error after which the snapshot is for sure not being taken. */
export function isFinalCsiError(message: string | null | undefined): boolean {
  const code = message ? csiErrorCode(message) : undefined;
  return code !== undefined && !MAY_STILL_BE_IN_PROGRESS.has(code);
}
