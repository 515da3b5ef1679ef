// Choosing the platform: --platform, else API discovery; with several platforms served, the one
// that has the named VM (or snapshot).
import { advice, option } from "../core/advice.js";
import { ErrorCode, VmsnapError } from "../core/errors.js";
import type { PlatformChoice, PlatformName } from "../core/platform-names.js";
import { DeckhousePlatform } from "./deckhouse/index.js";
import { KubeVirtPlatform } from "./kubevirt/index.js";
import { VmOperatorPlatform } from "./vmoperator/index.js";
import type { PlatformContext, SnapshotPlatform } from "./types.js";

export { parsePlatformChoice, type PlatformChoice } from "../core/platform-names.js";

const IMPLEMENTED: Record<PlatformName, (ctx: PlatformContext) => SnapshotPlatform> = {
  kubevirt: (ctx) => new KubeVirtPlatform(ctx),
  deckhouse: (ctx) => new DeckhousePlatform(ctx),
  vmoperator: (ctx) => new VmOperatorPlatform(ctx),
};

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
  if (names.length === 0) {
    throw new VmsnapError(
      ErrorCode.NoPlatform,
      "no supported virtualization platform found (KubeVirt, Deckhouse or VM Operator API groups)",
      advice`point vmsnap at a cluster with KubeVirt / OpenShift Virtualization, Deckhouse Virtualization or VM Operator (${option("kubeconfig")}, ${option("context")})`,
    );
  }
  return names.map((n) => IMPLEMENTED[n](ctx));
}
