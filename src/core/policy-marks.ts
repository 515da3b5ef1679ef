// The marks a snapshot policy puts on the snapshots it makes. Apart from core/policy so that the
// write guard (loaded by every command) does not load the policy module and its cron parser.

/** On every snapshot a policy makes: the policy's name (retention only ever considers these). */
export const POLICY_LABEL = "vmsnap.io/policy";
/** On every snapshot a policy makes: the scheduled time it was taken for (RFC 3339, UTC). */
export const SCHEDULED_TIME_ANNOTATION = "vmsnap.io/scheduled-time";
