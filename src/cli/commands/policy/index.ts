// vmsnap policy create|list|describe|delete: SnapshotPolicy objects (docs/policies.md).
import type { Command } from "commander";
import { registerPolicyCreate } from "./create.js";
import { registerPolicyDelete } from "./delete.js";
import { registerPolicyDescribe } from "./describe.js";
import { registerPolicyList } from "./list.js";

export function registerPolicy(program: Command): void {
  const policy = program
    .command("policy")
    .description("scheduled snapshots with retention, run by `vmsnap controller`");
  for (const register of [
    registerPolicyCreate,
    registerPolicyList,
    registerPolicyDescribe,
    registerPolicyDelete,
  ])
    register(policy);
}
