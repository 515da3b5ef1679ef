// Reads shared within one invocation: the same object is fetched once, however many steps ask.
import type { KubeReader } from "./client.js";
import type { KubeObject, ResourceType } from "./resources.js";

export class ReadOnce {
  private readonly reads = new Map<string, Promise<KubeObject | undefined>>();

  constructor(private readonly kube: KubeReader) {}

  get(type: ResourceType, namespace: string, name: string): Promise<KubeObject | undefined> {
    const key = `${type.group}/${type.plural}/${namespace}/${name}`;
    let read = this.reads.get(key);
    if (!read) {
      read = this.kube.getIfExists(type, name, namespace);
      this.reads.set(key, read);
    }
    return read;
  }
}
