import type { MetaEntry } from './message-store.js';
import { EmbeddedStore } from './embedded-store.js';

/** Everything in process memory; nothing survives the process. */
export class MemoryStore extends EmbeddedStore {
  readonly kind = 'memory';
  readonly durable = false;
  private readonly meta = new Map<string, unknown>();

  protected persistAdded(): undefined {
    return undefined;
  }
  protected persistDelivered(): void {}
  protected persistDelayed(): void {}
  protected persistRemoved(): void {}
  protected persistQueueDeleted(): void {}
  protected persistRemembered(): void {}
  protected async openStorage(): Promise<void> {}
  protected async closeStorage(): Promise<void> {
    this.queues.clear();
  }

  async loadMeta(prefix: string): Promise<MetaEntry[]> {
    this.check();
    const out: MetaEntry[] = [];
    for (const [key, value] of this.meta) {
      if (key.startsWith(prefix)) out.push({ key, value: structuredClone(value) });
    }
    // Key order, as the durable stores return it.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    this.check();
    // A copy, so later changes by the caller do not leak in (as with a store that serializes).
    this.meta.set(key, structuredClone(value));
  }

  async deleteMeta(key: string): Promise<void> {
    this.check();
    this.meta.delete(key);
  }

  async getMeta(key: string): Promise<unknown> {
    this.check();
    const value = this.meta.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  async takeMeta(key: string): Promise<unknown> {
    this.check();
    const value = this.meta.get(key);
    this.meta.delete(key);
    return value;
  }
}
