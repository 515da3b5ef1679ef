// Kubernetes Events about policies (core/v1, as `kubectl describe snapshotpolicy` shows them).
// The same reason and message for the same policy is not repeated within ten minutes, so that a
// level-triggered reconcile does not flood the namespace.
import { randomBytes } from "node:crypto";
import type { KubeObject } from "../kube/resources.js";
import { Core } from "../kube/resources.js";
import type { WriteGuard } from "../kube/write-guard.js";

const DEDUP_MS = 10 * 60_000;
const MAX_MESSAGE = 1024;

export type EventType = "Normal" | "Warning";

export class EventRecorder {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly guard: WriteGuard,
    private readonly instance: string,
    private readonly now: () => Date = () => new Date(),
    private readonly log: (line: string) => void = () => {},
  ) {}

  async record(about: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const ns = about.metadata.namespace ?? "default";
    const key = `${ns}/${about.metadata.name}/${reason}/${message}`;
    const at = Date.now();
    if ((this.recent.get(key) ?? 0) > at - DEDUP_MS) return;
    this.recent.set(key, at);
    if (this.recent.size > 10_000)
      for (const [k, t] of this.recent) if (t <= at - DEDUP_MS) this.recent.delete(k);
    const when = this.now().toISOString();
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
    try {
      await this.guard.create(Core.events, {
        apiVersion: "v1",
        kind: "Event",
        metadata: {
          name: `${about.metadata.name}.${randomBytes(8).toString("hex")}`,
          namespace: ns,
        },
        involvedObject: {
          apiVersion: about.apiVersion,
          kind: about.kind,
          name: about.metadata.name,
          namespace: ns,
          uid: about.metadata.uid,
          resourceVersion: about.metadata.resourceVersion,
        },
        type,
        reason,
        message: text,
        count: 1,
        firstTimestamp: when,
        lastTimestamp: when,
        source: { component: "vmsnap-controller" },
        reportingComponent: "vmsnap.io/controller",
        reportingInstance: this.instance.slice(0, 128),
      });
    } catch (err) {
      // An event is information: failing to record one never stops a reconcile.
      this.log(`event ${reason} for ${ns}/${about.metadata.name}: ${(err as Error).message}`);
    }
  }
}
