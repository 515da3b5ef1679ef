// The nine-step storage analysis of SPEC §4. Shared lookups (StorageClasses,
// VolumeSnapshotClasses, StorageProfiles, the namespace's claims) are read once per invocation.
import { advice, option, phrase, type Words } from "../../core/advice.js";
import { API_VERSION } from "../../core/api-version.js";
import type { Finding, Preflight, PreflightVolume } from "../../core/schema.js";
import { consistencyFrom } from "../../core/consistency.js";
import { quantityBytes } from "../../core/quantity.js";
import type { KubeReader } from "../../kube/client.js";
import { Core, Csi, IS_DEFAULT_VSC, KubeVirt, type KubeObject } from "../../kube/resources.js";
import {
  arr,
  isTrue,
  isWindows,
  obj,
  runStrategyOf,
  str,
  vmStatus,
  vmiOnlyHotplugs,
  volumesOf,
} from "./model.js";

/** Cluster-wide storage facts, read once (three list requests) and shared across VMs. */
export class StorageLookups {
  private loaded?: Promise<{
    classes: KubeObject[];
    snapshotClasses: KubeObject[];
    profiles: KubeObject[];
  }>;
  constructor(
    private readonly kube: KubeReader,
    private readonly cdiServed: boolean,
  ) {}

  load() {
    this.loaded ??= (async () => {
      const [classes, snapshotClasses, profiles] = await Promise.all([
        this.kube.list(Core.storageClasses),
        this.kube.list(Csi.volumeSnapshotClasses),
        this.cdiServed
          ? this.kube.list(KubeVirt.storageProfiles)
          : Promise.resolve({ items: [] as KubeObject[], metadata: {} }),
      ]);
      return {
        classes: classes.items,
        snapshotClasses: snapshotClasses.items,
        profiles: profiles.items,
      };
    })();
    return this.loaded;
  }
}

type ClassChoice = { className: string; via: string } | { problem: Finding };

/**
 * KubeVirt's choice, after kubevirt/kubevirt v1.9.0 pkg/storage/snapshot/snapshot.go
 * getVolumeSnapshotClassName: the StorageProfile's snapshotClass when that class exists (and
 * nothing else when it does not), else the one class of the provisioner's driver, else among
 * several the one carrying the default annotation — KubeVirt checks only that the key is there.
 */
export function chooseSnapshotClass(
  sc: KubeObject,
  snapshotClasses: KubeObject[],
  profiles: KubeObject[],
): ClassChoice {
  const scName = sc.metadata.name;
  const provisioner = str((sc as Record<string, unknown>).provisioner) ?? "";
  const profile = profiles.find((p) => p.metadata.name === scName);
  const fromProfile = str(obj(profile?.status).snapshotClass);
  if (fromProfile) {
    if (snapshotClasses.some((c) => c.metadata.name === fromProfile))
      return { className: fromProfile, via: `StorageProfile ${scName}` };
    return {
      problem: {
        message: `the CDI StorageProfile ${scName} names VolumeSnapshotClass ${fromProfile}, which does not exist (KubeVirt then tries no other class)`,
        fix: `create VolumeSnapshotClass ${fromProfile}, or set spec.snapshotClass in the StorageProfile ${scName} to an existing class`,
      },
    };
  }
  const candidates = snapshotClasses.filter(
    (c) => (c as Record<string, unknown>).driver === provisioner,
  );
  if (candidates.length === 0) {
    return {
      problem: {
        message: `no VolumeSnapshotClass for provisioner ${provisioner} (StorageClass ${scName})`,
        fix: `create a VolumeSnapshotClass with driver ${provisioner}, or move the disk to a StorageClass whose driver supports snapshots`,
      },
    };
  }
  if (candidates.length === 1)
    return { className: candidates[0]!.metadata.name, via: `driver ${provisioner}` };
  const defaults = candidates.filter((c) => IS_DEFAULT_VSC in (c.metadata.annotations ?? {}));
  if (defaults.length === 1) return { className: defaults[0]!.metadata.name, via: "default class" };
  const names = candidates.map((c) => c.metadata.name).join(", ");
  return {
    problem: {
      message: `${candidates.length} VolumeSnapshotClasses match provisioner ${provisioner} (${names}) and ${defaults.length ? "several are marked default (KubeVirt takes whichever it lists first)" : "none is marked default"}`,
      fix: `annotate exactly one with ${IS_DEFAULT_VSC}="true" (kubectl annotate volumesnapshotclass <name> ${IS_DEFAULT_VSC}=true), or set spec.snapshotClass in the CDI StorageProfile ${scName}`,
    },
  };
}

export interface PreflightInput {
  vm: KubeObject;
  vmi: KubeObject | undefined;
  claims: KubeObject[];
  existingSnapshots: number;
  storage: { classes: KubeObject[]; snapshotClasses: KubeObject[]; profiles: KubeObject[] };
  /** How the face that shows the result names options and operations. */
  words: Words;
}

/** The analysis itself: pure, over objects already read. */
export function analyse(input: PreflightInput): Preflight {
  const { vm, vmi, claims, storage, words } = input;
  const ns = vm.metadata.namespace ?? "";
  const problems: Finding[] = [];
  const warnings: Finding[] = [];
  const volumes: PreflightVolume[] = [];
  const platformStatuses = arr(vmStatus(vm).volumeSnapshotStatuses);

  // Steps 1–5: every volume of the VM spec.
  for (const v of volumesOf(vm)) {
    const base: PreflightVolume = {
      name: v.name,
      type: v.type,
      claimName: v.claimName ?? null,
      storageClass: null,
      provisioner: null,
      volumeSnapshotClass: null,
      hotplug: v.hotpluggable ? "persisted" : "none",
      included: false,
      reason: null,
      requestedBytes: null,
    };
    if (!v.claimName) {
      base.reason =
        v.type === "containerDisk"
          ? "containerDisk is an ephemeral image, not persistent data"
          : v.type.startsWith("cloudInit") ||
              v.type === "sysprep" ||
              v.type === "configMap" ||
              v.type === "secret"
            ? `${v.type} is generated configuration, not persistent data`
            : `${v.type} volumes cannot be snapshotted`;
      volumes.push(base);
      continue;
    }
    const pvc = claims.find((c) => c.metadata.name === v.claimName);
    if (!pvc) {
      base.reason = `PersistentVolumeClaim ${v.claimName} not found`;
      problems.push({
        message: `volume ${v.name}: claim ${v.claimName} does not exist`,
        fix: `create the claim ${v.claimName} or remove the volume from the VM`,
      });
      volumes.push(base);
      continue;
    }
    const pvcSpec = obj(pvc.spec);
    base.requestedBytes = quantityBytes(obj(obj(pvcSpec.resources).requests).storage);
    // KubeVirt reads the claim's own storageClassName (getSnapshotPVC): a claim without one
    // is left out of the snapshot, whatever the default StorageClass is.
    const scName = str(pvcSpec.storageClassName);
    base.storageClass = scName ?? null;
    if (str(obj(pvc.status).phase) !== "Bound") {
      base.reason = `claim ${v.claimName} is ${str(obj(pvc.status).phase) ?? "not bound"}`;
      problems.push({
        message: `volume ${v.name}: claim ${v.claimName} is not Bound`,
        fix: "wait until the claim is Bound (WaitForFirstConsumer claims bind when the VM first starts)",
      });
      volumes.push(base);
      continue;
    }
    if (!scName) {
      base.reason = `claim ${v.claimName} names no StorageClass`;
      problems.push({
        message: `volume ${v.name} would be left out of the snapshot: its claim ${v.claimName} names no StorageClass (KubeVirt snapshots only claims that do); a restore would not bring its data back`,
        fix: "move the disk to a claim with spec.storageClassName set (it cannot be changed on an existing claim)",
      });
      volumes.push(base);
      continue;
    }
    const sc = storage.classes.find((c) => c.metadata.name === scName);
    if (!sc) {
      base.reason = `StorageClass ${scName ?? "(none)"} not found`;
      problems.push({
        message: `volume ${v.name}: StorageClass ${scName ?? "(none)"} not found`,
        fix: "snapshots need the claim's StorageClass to exist",
      });
      volumes.push(base);
      continue;
    }
    base.provisioner = str((sc as Record<string, unknown>).provisioner) ?? null;
    const choice = chooseSnapshotClass(sc, storage.snapshotClasses, storage.profiles);
    if ("problem" in choice) {
      base.reason = choice.problem.message;
      problems.push({
        message: `volume ${v.name} would be left out of the snapshot: ${choice.problem.message}; a restore would not bring its data back`,
        fix: choice.problem.fix,
      });
    } else {
      base.included = true;
      base.volumeSnapshotClass = choice.className;
    }
    // Step 5: cross-check with what KubeVirt itself reports.
    const reported = platformStatuses.find((s) => s.name === v.name);
    if (reported && reported.enabled === false && base.included) {
      warnings.push({
        message: `KubeVirt reports volume ${v.name} as not snapshottable: ${str(reported.reason) ?? "no reason given"}`,
        fix: "check the StorageClass and VolumeSnapshotClass configuration",
      });
    }
    if (v.hotpluggable)
      warnings.push({ message: `volume ${v.name} is a persisted hot-plug: it is included` });
    volumes.push(base);
  }

  // Step 2: hot-plugs that live only on the VMI are not in the snapshot.
  for (const h of vmiOnlyHotplugs(vm, vmi)) {
    volumes.push({
      name: h.name,
      type: "persistentVolumeClaim",
      claimName: h.claimName ?? null,
      storageClass: null,
      provisioner: null,
      volumeSnapshotClass: null,
      hotplug: "vmi-only",
      included: false,
      reason: "hot-plugged into the running VM only, not persisted in the VM spec",
      requestedBytes: null,
    });
    warnings.push({
      message: `volume ${h.name} is hot-plugged into the running VM only: it is not in the snapshot`,
      fix: `persist it (virtctl addvolume ${vm.metadata.name} --volume-name=${h.claimName ?? h.name} --persist) before snapshotting if its data matters`,
    });
  }

  // Step 6: run state and guest agent.
  const st = vmStatus(vm);
  const online = Boolean(vmi);
  const agent = online && isTrue(vmi, "AgentConnected");
  const paused = online && (isTrue(vmi, "Paused") || st.printableStatus === "Paused");
  const indications = online
    ? ["Online", paused ? "Paused" : agent ? "GuestAgent" : "NoGuestAgent"]
    : [];
  const expectedConsistency = consistencyFrom(indications).consistency;
  if (online && !agent && !paused) {
    warnings.push({
      message:
        "no guest agent connected: the snapshot will be crash-consistent (filesystems are not frozen)",
      fix: phrase(
        advice`install and start qemu-guest-agent in the guest for application-consistent snapshots, or stop the VM for an offline snapshot (${option("stop", true)})`,
        words,
      ),
    });
  }
  if (paused)
    warnings.push({
      message:
        "the VM is paused: the guest agent cannot freeze the filesystems (indication Paused)",
      fix: "unpause the VM for an application-consistent snapshot, or stop it for an offline one",
    });
  if (!online && runStrategyOf(vm) === "RerunOnFailure") {
    problems.push({
      message:
        "the VM is stopped with runStrategy RerunOnFailure: KubeVirt cannot lock it and the snapshot fails at its deadline (kubevirt#12515)",
      fix: "set spec.runStrategy to Halted while the VM is stopped, or start the VM and take an online snapshot",
    });
  }
  if (st.snapshotInProgress)
    problems.push({
      message: `snapshot ${String(st.snapshotInProgress)} of this VM is in progress`,
      fix: phrase(
        advice`wait for it to finish (${{ do: "describe", namespace: ns, snapshot: String(st.snapshotInProgress) }})`,
        words,
      ),
    });
  if (st.restoreInProgress)
    problems.push({
      message: `restore ${String(st.restoreInProgress)} of this VM is in progress`,
      fix: "wait for the restore to complete",
    });

  // Step 7: Windows guests.
  if (isWindows(vmi)) {
    warnings.push({
      message:
        "Windows guest: VSS limits the filesystem freeze to 10 seconds; a slow freeze is reported as QuiesceTimeout",
      fix: "snapshot at a quiet time, or stop the VM for an offline snapshot",
    });
  }

  // Steps 8–9: estimate and verdict.
  const included = volumes.filter((v) => v.included);
  if (included.length === 0 && problems.length === 0)
    problems.push({
      message: "the VM has no volume that can be snapshotted",
      fix: "snapshots save PVC and DataVolume disks; this VM has none",
    });
  return {
    apiVersion: API_VERSION,
    kind: "Preflight",
    namespace: ns,
    vm: vm.metadata.name,
    platform: "kubevirt",
    snapshottable: problems.length === 0,
    mode: online ? "online" : "offline",
    expectedConsistency,
    volumes,
    problems,
    warnings,
    existingSnapshots: input.existingSnapshots,
    estimatedBytes: included.reduce((sum, v) => sum + (v.requestedBytes ?? 0), 0),
  };
}
