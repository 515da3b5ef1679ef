// A session: one cluster connection, one discovery, the write guard, the words of the face that
// shows the results, a progress sink and (for the one-call operations) a confirmation port. Every
// face (CLI, MCP, library) opens one and calls the workflows with it.
import { plainWords, type Words } from "../core/advice.js";
import type { ConfirmationPort } from "../core/confirmation.js";
import { ErrorCode, nameNotFound } from "../core/errors.js";
import { validateName } from "../core/names.js";
import type { PlatformChoice } from "../core/platform-names.js";
import { KubeClient } from "../kube/client.js";
import { discover } from "../kube/discovery.js";
import { toVmsnapError } from "../kube/errors.js";
import { limiterFromEnv } from "../kube/rate-limit.js";
import { WriteGuard, type AllowedWrite } from "../kube/write-guard.js";
import { platformsFor } from "../platforms/index.js";
import { beforeAnyWrite, type Interrupt } from "./interrupt.js";
import type { PlatformContext, ProgressFn, SnapshotPlatform } from "../platforms/types.js";

export interface SessionOptions {
  kubeconfig?: string;
  context?: string;
  /** Use this bearer token as the credential, with the kubeconfig's cluster (MCP passthrough). */
  bearerToken?: string;
  namespace?: string;
  platform?: PlatformChoice;
  /** Asked by the one-call operations (createSnapshot, restoreSnapshot, …). */
  confirmation?: ConfirmationPort;
  progress?: ProgressFn;
  now?: () => Date;
  /** The writes this session may make (default: SPEC §2's; the policy controller: its own). */
  allowedWrites?: AllowedWrite[];
  /** User-Agent of its requests (the policy controller names its replica). */
  userAgent?: string;
  /** How results name options and operations (default: neutral words). */
  words?: Words;
  /** Interrupts of the operations run with this session (the CLI: Ctrl-C, SIGTERM). */
  interrupt?: Interrupt;
  /**
   * A client-side dry run (--dry-run=client): the write guard sends no write at all, not even the
   * server-side dry runs of the plan (reads still go to the cluster).
   */
  clientDryRun?: boolean;
}

/** The parts of a session, as Session.open makes them (tests assemble them from fakes). */
export interface SessionParts {
  client: KubeClient;
  ctx: PlatformContext;
  platforms: SnapshotPlatform[];
  namespace: string;
  confirmation?: ConfirmationPort;
  progress?: ProgressFn;
  interrupt?: Interrupt;
}

export class Session {
  readonly client: KubeClient;
  readonly ctx: PlatformContext;
  readonly platforms: SnapshotPlatform[];
  readonly namespace: string;
  readonly confirmation?: ConfirmationPort;
  readonly progress: ProgressFn;
  readonly interrupt: Interrupt;

  private constructor(parts: SessionParts) {
    this.client = parts.client;
    this.ctx = parts.ctx;
    this.platforms = parts.platforms;
    this.namespace = parts.namespace;
    this.confirmation = parts.confirmation;
    this.progress = parts.progress ?? (() => {});
    this.interrupt = parts.interrupt ?? {};
  }

  static async open(options: SessionOptions): Promise<Session> {
    // Names are checked before anything is sent.
    if (options.namespace !== undefined) validateName("namespace", options.namespace);
    let client: KubeClient | undefined;
    try {
      client = await KubeClient.fromConfig({
        kubeconfig: options.kubeconfig,
        context: options.context,
        bearerToken: options.bearerToken,
      });
      const signal = options.interrupt?.signal;
      // Retries (429 Retry-After, transient network errors) are reported like progress.
      if (options.progress) client.onRetry = options.progress;
      client.limiter = limiterFromEnv();
      client.userAgent = options.userAgent;
      const namespace = validateName("namespace", options.namespace ?? client.defaultNamespace);
      const discovery = await beforeAnyWrite(discover(client), signal);
      const ctx: PlatformContext = {
        kube: client,
        guard: new WriteGuard(client, options.allowedWrites, {
          sendNothing: options.clientDryRun,
        }),
        discovery,
        now: options.now ?? (() => new Date()),
        words: options.words ?? plainWords,
      };
      const platforms = platformsFor(ctx, options.platform ?? "auto");
      return new Session({
        client,
        ctx,
        platforms,
        namespace,
        confirmation: options.confirmation,
        progress: options.progress,
        interrupt: options.interrupt,
      });
    } catch (err) {
      client?.close();
      throw toVmsnapError(err);
    }
  }

  /** A session over parts already made (unit tests with fake platforms; embedding). */
  static assemble(parts: SessionParts): Session {
    return new Session(parts);
  }

  get guard(): WriteGuard {
    return this.ctx.guard;
  }

  get words(): Words {
    return this.ctx.words;
  }

  now(): Date {
    return this.ctx.now();
  }

  /** The platform that has this VM (one GET per served platform when several are). */
  async platformForVm(namespace: string, vm: string): Promise<SnapshotPlatform> {
    if (this.platforms.length === 1) return this.platforms[0]!;
    for (const p of this.platforms) {
      if (
        await p.getVm(namespace, vm).then(
          () => true,
          (err: unknown) => {
            // Absent (or not readable) on this platform: try the next. Anything else (an
            // unreachable cluster, a 429 not retried) is the answer, not a "not found".
            const code = toVmsnapError(err).code;
            if (code === ErrorCode.NotFound || code === ErrorCode.Forbidden) return false;
            throw err;
          },
        )
      )
        return p;
    }
    throw nameNotFound(
      { kind: "VM", namespace, name: vm },
      `VirtualMachine ${namespace}/${vm} not found on ${this.platforms.map((p) => p.name).join(" or ")}`,
    );
  }

  /** The platform that has this snapshot. */
  async platformForSnapshot(namespace: string, snapshot: string): Promise<SnapshotPlatform> {
    if (this.platforms.length === 1) return this.platforms[0]!;
    for (const p of this.platforms) {
      if (await p.getSnapshot(namespace, snapshot)) return p;
    }
    throw nameNotFound(
      { kind: "snapshot", namespace, name: snapshot },
      `snapshot ${namespace}/${snapshot} not found`,
    );
  }

  close(): void {
    this.client.close();
  }
}
