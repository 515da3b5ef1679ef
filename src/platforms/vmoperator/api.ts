// What every part of the VM Operator platform shares: the served API version's types and one
// read of each VM per invocation.
import { ReadOnce } from "../../kube/read-once.js";
import type { KubeObject } from "../../kube/resources.js";
import type { PlatformContext } from "../types.js";
import { apiVersionFor, types } from "./model.js";

export class VmopApi {
  readonly t: ReturnType<typeof types>;
  constructor(readonly ctx: PlatformContext) {
    this.t = types(apiVersionFor(ctx.discovery));
  }

  get kube() {
    return this.ctx.kube;
  }

  // One read of a VM per invocation: platform resolution and the operation share it.
  private onceReads?: ReadOnce;
  private get once(): ReadOnce {
    return (this.onceReads ??= new ReadOnce(this.ctx.kube));
  }
  readVm(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.once.get(this.t.vms, namespace, name);
  }
}
