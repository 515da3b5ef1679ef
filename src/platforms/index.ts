// Choosing the platform: --platform, else API discovery; with several platforms served, the one
// that has the named VM (or snapshot).
import { ErrorCode, VmsnapError, invalidInput } from "../core/errors.js";
import type { PlatformName } from "../kube/discovery.js";
import { DeckhousePlatform } from "./deckhouse/index.js";
import { KubeVirtPlatform } from "./kubevirt/index.js";
import { VmOperatorPlatform } from "./vmoperator/index.js";
import type { PlatformContext, SnapshotPlatform } from "./types.js";

export type PlatformChoice = "auto" | PlatformName;

const IMPLEMENTED: Partial<Record<PlatformName, (ctx: PlatformContext) => SnapshotPlatform>> = {
  kubevirt: (ctx) => new KubeVirtPlatform(ctx),
  deckhouse: (ctx) => new DeckhousePlatform(ctx),
  vmoperator: (ctx) => new VmOperatorPlatform(ctx),
};

export function parsePlatformChoice(value: string | undefined): PlatformChoice {
  const v = value ?? "auto";
  if (v === "auto" || v === "kubevirt" || v === "deckhouse" || v === "vmoperator") return v;
  throw invalidInput(
    `invalid --platform ${JSON.stringify(v)}`,
    "use auto, kubevirt, deckhouse or vmoperator",
  );
}

/** The platforms to work with: the chosen one, or every served and supported one. */
export function platformsFor(ctx: PlatformContext, choice: PlatformChoice): SnapshotPlatform[] {
  const served = ctx.discovery.platforms;
  const names = choice === "auto" ? served : [choice];
  if (choice !== "auto" && !served.includes(choice)) {
    throw new VmsnapError(
      ErrorCode.NoPlatform,
      `platform ${choice} is not served by this cluster (its API groups are missing)`,
      `served: ${served.join(", ") || "none"}`,
    );
  }
  const usable = names.filter((n) => IMPLEMENTED[n]);
  if (usable.length === 0) {
    throw new VmsnapError(
      ErrorCode.NoPlatform,
      served.length
        ? `no supported platform: this cluster serves ${served.join(", ")}, which vmsnap does not support yet`
        : "no supported virtualization platform found (KubeVirt, Deckhouse or VM Operator API groups)",
      "point vmsnap at a cluster with KubeVirt / OpenShift Virtualization (--kubeconfig, --context)",
    );
  }
  return usable.map((n) => IMPLEMENTED[n]!(ctx));
}
