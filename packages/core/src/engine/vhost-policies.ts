/**
 * One vhost's policies in the store's metadata (`policy/<vhost>/<name>`), applied to its queues
 * when set or removed, when a queue is created, and, over a shared store, when another node
 * changed one (the key's note reaches `applyMetaKey`).
 */
import type { MessageStore } from '../store/message-store.js';
import type { EngineQueue } from './engine-queue.js';
import { metaKeys, parseTopologyKey } from './meta-keys.js';
import { compilePolicy, PolicySet, type QueuePolicy } from './queue-policies.js';

export interface PolicyHost {
  readonly vhost: string;
  readonly store: MessageStore;
  readonly queues: ReadonlyMap<string, EngineQueue>;
}

export class VhostPolicies {
  readonly #set = new PolicySet();

  constructor(private readonly host: PolicyHost) {}

  forQueue(name: string): QueuePolicy | undefined {
    return this.#set.forQueue(name);
  }

  list(): QueuePolicy[] {
    return this.#set.list();
  }

  /** Adds or replaces a policy (same name); durable before it applies. */
  async set(policy: QueuePolicy): Promise<void> {
    compilePolicy(policy);
    await this.host.store.putMeta(metaKeys.policy(this.host.vhost, policy.name), policy);
    this.#set.set(policy);
    this.#reapply();
  }

  async delete(name: string): Promise<boolean> {
    if (!this.#set.get(name)) return false;
    await this.host.store.deleteMeta(metaKeys.policy(this.host.vhost, name));
    this.#set.delete(name);
    this.#reapply();
    return true;
  }

  /** At start (and on a full resync): every policy the store holds for this vhost. */
  async load(): Promise<void> {
    const entries = await this.host.store.loadMeta(metaKeys.policyPrefix(this.host.vhost));
    for (const policy of this.#set.list()) this.#set.delete(policy.name);
    for (const entry of entries) this.#set.set(entry.value as QueuePolicy);
    this.#reapply();
  }

  /** Shared store: a policy key changed on another node. False for a key that is not a policy's. */
  async applyMetaKey(key: string): Promise<boolean> {
    const what = parseTopologyKey(key);
    if (what?.kind !== 'policy' || what.vhost !== this.host.vhost) return false;
    const value = (await this.host.store.getMeta(key)) as QueuePolicy | undefined;
    if (value) this.#set.set(value);
    else this.#set.delete(what.name);
    this.#reapply();
    return true;
  }

  #reapply(): void {
    for (const queue of this.host.queues.values()) queue.applyPolicy(this.#set.forQueue(queue.name));
  }
}
