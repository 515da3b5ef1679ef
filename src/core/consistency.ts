// Consistency from snapshot indications (SPEC §5).

export type Consistency =
  "application-consistent" | "crash-consistent" | "consistent (VM stopped)" | "unknown";

export interface ConsistencyReport {
  consistency: Consistency;
  /** One explanation per indication worth explaining, unknown values as they are. */
  notes: string[];
}

const EXPLAIN: Record<string, string> = {
  GuestAgent: "the guest agent froze the filesystems during the snapshot",
  NoGuestAgent: "no guest agent: filesystems were not frozen",
  Online: "taken while the VM was running",
  QuiesceTimeout:
    "the guest freeze timed out (Windows VSS allows at most 10 s): the data may not be application-consistent",
  QuiesceFailed: "the guest freeze failed: the data may not be application-consistent",
  Paused: "taken while the VM was paused: memory state was not frozen by the agent",
  PartialSnapshot: "some volumes of the VM are not in this snapshot",
};

export function consistencyFrom(indications: readonly string[]): ConsistencyReport {
  const set = new Set(indications);
  let consistency: Consistency;
  if (set.size === 0) consistency = "consistent (VM stopped)";
  else if (set.has("GuestAgent") && !set.has("QuiesceTimeout") && !set.has("QuiesceFailed"))
    consistency = "application-consistent";
  else if (set.has("Online")) consistency = "crash-consistent";
  else consistency = "unknown";
  const notes = indications
    .filter((i) => i !== "Online" && i !== "GuestAgent")
    .map((i) => (EXPLAIN[i] ? `${i}: ${EXPLAIN[i]}` : `${i}: (reported by the platform)`));
  return { consistency, notes };
}
