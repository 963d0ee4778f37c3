/**
 * A virtual host's definitions: which of its exchanges, queues and bindings are recorded in the
 * store's metadata, and, over a shared store, keeping this node's routing table in step with what
 * other nodes recorded. The virtual host asks it to record or forget a declaration; it never
 * publishes, delivers or settles.
 */
import { ExchangeNotFoundError, QueueNotFoundError } from '../errors.js';
import type { Headers } from '../message.js';
import type {
  BindingDestination,
  ExchangeKind,
  ExchangeOptions,
  RoutingTable,
  TopologyChanges,
} from '../routing/index.js';
import type { MessageStore } from '../store/message-store.js';
import type { EngineQueue } from './engine-queue.js';
import type { MemoryMonitor } from './memory-monitor.js';
import {
  metaKeys,
  parseTopologyKey,
  queueKey,
  type BindingRecord,
  type ExchangeRecord,
  type QueueRecord,
} from './meta-keys.js';
import { equivalentOptions, outlivesItsNode, type ResolvedQueueOptions } from './queue-options.js';

/** What the definitions need of their virtual host. */
export interface DefinitionsHost {
  readonly vhost: string;
  readonly store: MessageStore;
  readonly memory: MemoryMonitor;
  readonly routing: RoutingTable;
  /** This vhost's queue objects, by name. */
  readonly queues: ReadonlyMap<string, EngineQueue>;
  /** This node is deleting the queue: a topology read taken before must not bring it back. */
  isDeleting(name: string): boolean;
  /** A queue object (and its storage unless `restoring` over a shared store). */
  createQueue(
    name: string,
    options: ResolvedQueueOptions,
    owner: string | undefined,
    restoring: boolean,
  ): Promise<EngineQueue>;
  /** Drops a queue another node deleted: local state only (its storage is already gone). */
  forgetQueue(queue: EngineQueue): void;
  /** Shared store: brings this node up to the store's topology (one key, or all of it). */
  catchUp(key?: string): Promise<void>;
}

export class Definitions {
  /**
   * Exchanges and binding keys whose declaration is in the store's metadata, each with whether
   * it is durable: removing a transient record need not wait for replicas (`MetaWriteOptions`).
   */
  readonly #recordedExchanges = new Map<string, boolean>();
  readonly #recordedBindings = new Map<string, boolean>();

  constructor(private readonly host: DefinitionsHost) {}

  get #store(): MessageStore {
    return this.host.store;
  }

  get #routing(): RoutingTable {
    return this.host.routing;
  }

  get shared(): boolean {
    return this.#store.cluster !== undefined;
  }

  /**
   * Whether a declaration goes into the store's metadata: durable ones always; with a shared
   * store every one, so that all nodes route alike.
   */
  #records(durable: boolean): boolean {
    return durable || this.shared;
  }

  /** Shared store: a transient declaration lives and dies with the node that made it. */
  #nodeOf(transient: boolean): { node?: string } {
    const node = this.#store.cluster?.nodeId;
    return transient && node !== undefined ? { node } : {};
  }

  /**
   * Shared store: a queue or exchange another node declared a moment ago may not be here yet (its
   * note is on the way): on "not found", read that one declaration from the store and try again.
   */
  async withTopology<T>(action: () => T | Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      if (!this.shared) throw err;
      if (err instanceof QueueNotFoundError)
        await this.host.catchUp(metaKeys.queue(this.host.vhost, err.queue));
      else if (err instanceof ExchangeNotFoundError)
        await this.host.catchUp(metaKeys.exchange(this.host.vhost, err.exchange));
      else throw err;
      return action();
    }
  }

  // ---------------------------------------------------------------- exchanges and bindings

  /** Declares an exchange in the routing table and, when new, records it. */
  async declareExchange(
    name: string,
    kind: ExchangeKind,
    options: ExchangeOptions,
    context: { passive?: boolean },
  ): Promise<void> {
    const { exchange, created } = await this.withTopology(() =>
      this.#routing.declareExchange(name, kind, options, context),
    );
    if (created) await this.exchangeDeclared(name, kind, options, exchange.options.durable);
  }

  /** Deletes an exchange with the records of it and of the bindings that went with it. */
  async deleteExchange(name: string, options: { ifUnused?: boolean }): Promise<void> {
    const before = this.bindingKeys();
    const changes = this.#routing.deleteExchange(name, options);
    await this.exchangeDeleted(name);
    // The changes name it too: its record is gone already, and its durability with it.
    await this.forgetBindings(
      before,
      changes.deletedExchanges.filter((n) => n !== name),
    );
  }

  async bind(
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers,
  ): Promise<void> {
    await this.withTopology(() => this.#routing.bind(source, destination, routingKey, args));
    await this.bindingAdded(source, destination, routingKey, args);
  }

  /** Removes a binding; one whose source or destination is gone is gone already (RabbitMQ since 3.2). */
  async unbind(
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers,
  ): Promise<void> {
    let changes: TopologyChanges;
    try {
      changes = await this.withTopology(() => this.#routing.unbind(source, destination, routingKey, args));
    } catch (err) {
      if (err instanceof QueueNotFoundError || err instanceof ExchangeNotFoundError) return;
      throw err;
    }
    await this.bindingRemoved(source, destination, routingKey, args, changes.deletedExchanges);
  }

  // ---------------------------------------------------------------- recording

  async exchangeDeclared(
    name: string,
    kind: ExchangeKind,
    options: ExchangeOptions,
    durable: boolean,
  ): Promise<void> {
    if (!this.#records(durable)) return;
    const record: ExchangeRecord = { name, kind, options, ...this.#nodeOf(!durable) };
    await this.#store.putMeta(metaKeys.exchange(this.host.vhost, name), record, { durable });
    this.#recordedExchanges.set(name, durable);
  }

  async exchangeDeleted(name: string): Promise<void> {
    const durable = this.#recordedExchanges.get(name) ?? true;
    this.#recordedExchanges.delete(name);
    await this.#store.deleteMeta(metaKeys.exchange(this.host.vhost, name), { durable });
  }

  async bindingAdded(
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers,
  ): Promise<void> {
    const durable = this.#bindingIsDurable(source, destination);
    if (!this.#records(durable)) return;
    const record: BindingRecord = { source, destination, routingKey, arguments: args };
    const key = metaKeys.binding(this.host.vhost, source, destination, routingKey, args);
    await this.#store.putMeta(key, record, { durable });
    this.#recordedBindings.set(key, durable);
  }

  async bindingRemoved(
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers,
    deletedExchanges: readonly string[],
  ): Promise<void> {
    const key = metaKeys.binding(this.host.vhost, source, destination, routingKey, args);
    await this.#forgetBinding(key);
    for (const name of deletedExchanges) await this.exchangeDeleted(name);
  }

  /** Removes a binding's record; one another node recorded counts as durable (it may be). */
  async #forgetBinding(key: string): Promise<void> {
    const durable = this.#recordedBindings.get(key) ?? true;
    this.#recordedBindings.delete(key);
    await this.#store.deleteMeta(key, { durable });
  }

  /** Both ends outlive this node: a binding to an exclusive queue ends with it. */
  #bindingIsDurable(source: string, destination: BindingDestination): boolean {
    const sourceDurable = this.#routing.getExchange(source)?.options.durable === true;
    if (destination.kind === 'exchange')
      return sourceDurable && this.#routing.getExchange(destination.name)?.options.durable === true;
    const queue = this.host.queues.get(destination.name);
    return sourceDurable && queue !== undefined && outlivesItsNode(queue.declared);
  }

  /** The keys of the routing table's bindings now: take before a change, pass to `forgetBindings`. */
  bindingKeys(): Set<string> {
    return new Set(this.#routing.bindings().map((b) => bindingKey(this.host.vhost, b)));
  }

  /** Deletes the metadata of bindings that the routing table dropped (and of auto-deleted exchanges). */
  async forgetBindings(before: Set<string>, deletedExchanges: readonly string[]): Promise<void> {
    const after = this.bindingKeys();
    for (const key of before) {
      if (!after.has(key)) await this.#forgetBinding(key);
    }
    for (const name of deletedExchanges) await this.exchangeDeleted(name);
  }

  /** Records a new queue (durable ones; every one over a shared store). */
  async queueDeclared(queue: EngineQueue): Promise<void> {
    const options = queue.declared;
    queue.homeNode = this.#store.cluster?.nodeId;
    const durable = outlivesItsNode(options);
    if (!this.#records(durable)) return;
    const record: QueueRecord = {
      name: queue.name,
      options,
      ...this.#nodeOf(!durable),
      ...(queue.owner === undefined ? {} : { owner: queue.owner }),
      ...(queue.homeNode === undefined ? {} : { home: queue.homeNode }),
    };
    await this.#store.putMeta(metaKeys.queue(this.host.vhost, queue.name), record, { durable });
    queue.persisted = true;
  }

  /** A queue this node deleted: its record goes, and so do the bindings to it. */
  async queueDeleted(
    queue: EngineQueue,
    before: Set<string>,
    deletedExchanges: readonly string[],
  ): Promise<void> {
    const { vhost } = this.host;
    const { name } = queue;
    // A binding is durable only when its queue is, so a transient queue's bindings are transient too.
    const durable = outlivesItsNode(queue.declared);
    await this.#store.deleteMeta(metaKeys.queue(vhost, name), { durable });
    await this.forgetBindings(before, deletedExchanges);
    if (!this.shared) return;
    // Bindings to it that another node recorded a moment ago and this one has not seen yet.
    for (const { key, value } of await this.#store.loadMeta(metaKeys.bindingPrefix(vhost))) {
      const b = value as BindingRecord;
      if (b.destination.kind === 'queue' && b.destination.name === name)
        await this.#store.deleteMeta(key, { durable });
    }
  }

  /** Store keys of the queues whose declaration is in the store's metadata. */
  persistedQueueKeys(): string[] {
    return [...this.host.queues.values()].filter((q) => q.persisted).map((q) => q.key);
  }

  // ---------------------------------------------------------------- following the store

  /**
   * Brings this vhost up to the topology in the store's metadata: at start (recovery), and with a
   * shared store whenever any node changed it or a node left. What others declared appears; what
   * others deleted or unbound goes; what a departed node owned (its exclusive and transient
   * queues and exchanges) is deleted from the store, by whichever node gets there first.
   */
  async syncTopology(): Promise<void> {
    const { vhost, queues: localQueues } = this.host;
    const store = this.#store;
    const routing = this.#routing;
    const load = async <T>(prefix: string): Promise<T[]> =>
      (await store.loadMeta(prefix)).map((entry) => entry.value as T);
    // Only what was recorded before this read may go for being absent from it: a declaration
    // made here while the read runs is not in it yet.
    const knownExchanges = new Set(this.#recordedExchanges.keys());
    const knownQueues = [...localQueues.values()].filter((q) => q.persisted);
    const knownBindings = new Set(this.#recordedBindings.keys());
    const live = await store.cluster?.liveNodes();
    const departed = (node: string | undefined): boolean =>
      node !== undefined && live !== undefined && node !== store.cluster?.nodeId && !live.has(node);
    const exchanges = await load<ExchangeRecord>(metaKeys.exchangePrefix(vhost));
    const queues = await load<QueueRecord>(metaKeys.queuePrefix(vhost));
    let bindings = await load<BindingRecord>(metaKeys.bindingPrefix(vhost));

    const gone = new Set<string>();
    for (const e of exchanges.filter((x) => departed(x.node))) {
      gone.add(`x:${e.name}`);
      await store.deleteMeta(metaKeys.exchange(vhost, e.name), { durable: false });
    }
    for (const q of queues.filter((x) => departed(x.node))) {
      gone.add(`q:${q.name}`);
      await store.deleteQueue(queueKey(vhost, q.name));
      await store.deleteMeta(metaKeys.queue(vhost, q.name), { durable: false });
    }
    if (gone.size > 0) {
      const ends = (b: BindingRecord) => [
        `x:${b.source}`,
        `${b.destination.kind === 'queue' ? 'q' : 'x'}:${b.destination.name}`,
      ];
      for (const b of bindings.filter((x) => ends(x).some((end) => gone.has(end))))
        await store.deleteMeta(bindingKey(vhost, b), { durable: false });
      bindings = bindings.filter((x) => !ends(x).some((end) => gone.has(end)));
    }

    const exchangeNames = new Set<string>();
    for (const e of exchanges) {
      if (gone.has(`x:${e.name}`)) continue;
      exchangeNames.add(e.name);
      if (!routing.hasExchange(e.name))
        routing.declareExchange(e.name, e.kind, e.options, { allowReserved: true });
      this.#recordedExchanges.set(e.name, e.node === undefined);
    }
    for (const name of knownExchanges) {
      if (exchangeNames.has(name)) continue;
      routing.deleteExchange(name, { allowReserved: true });
      this.#recordedExchanges.delete(name);
    }

    const declared = new Set<string>();
    const restored: EngineQueue[] = [];
    for (const q of queues) {
      if (gone.has(`q:${q.name}`)) continue;
      declared.add(q.name);
      const local = localQueues.get(q.name);
      if (local?.persisted && knownQueues.includes(local) && !equivalentOptions(local.declared, q.options))
        this.host.forgetQueue(local); // deleted and declared anew elsewhere
      if (!localQueues.has(q.name) && !this.host.isDeleting(q.name))
        restored.push(await this.#restoreQueue(q));
    }
    for (const queue of knownQueues) {
      if (!declared.has(queue.name) && localQueues.get(queue.name) === queue) this.host.forgetQueue(queue);
    }

    const local = new Map(routing.bindings().map((b) => [bindingKey(vhost, b), b]));
    const recorded = new Set<string>();
    for (const b of bindings) {
      const key = bindingKey(vhost, b);
      if (!this.#endsExist(b)) continue;
      if (!local.has(key)) routing.bind(b.source, b.destination, b.routingKey, b.arguments);
      recorded.add(key);
      this.#recordedBindings.set(key, this.#bindingIsDurable(b.source, b.destination));
    }
    for (const key of knownBindings) {
      const b = local.get(key);
      if (recorded.has(key) || !b) continue;
      routing.unbind(b.source, b.destination, b.routingKey, b.arguments);
    }
    this.#forgetUnboundRecords();
    // After the bindings: a recovered queue's first sweep may dead-letter through them.
    for (const queue of restored) await queue.recover();
  }

  /**
   * Shared store: brings one topology key of this vhost up to its current value in the store
   * (another node changed it). Reads the value now, so a late or repeated note is harmless.
   */
  async applyMetaKey(key: string): Promise<void> {
    const what = parseTopologyKey(key);
    if (!what || what.vhost !== this.host.vhost || what.kind === 'vhost' || what.kind === 'policy') return;
    const routing = this.#routing;
    const value = await this.#store.getMeta(key);
    if (what.kind === 'exchange') {
      const e = value as ExchangeRecord | undefined;
      if (e) {
        if (!routing.hasExchange(e.name))
          routing.declareExchange(e.name, e.kind, e.options, { allowReserved: true });
        this.#recordedExchanges.set(e.name, e.node === undefined);
      } else if (this.#recordedExchanges.delete(what.name)) {
        routing.deleteExchange(what.name, { allowReserved: true });
        this.#forgetUnboundRecords();
      }
    } else if (what.kind === 'queue') {
      const q = value as QueueRecord | undefined;
      const local = this.host.queues.get(what.name);
      if (q && local?.persisted && !equivalentOptions(local.declared, q.options)) {
        // Deleted and declared anew with other options (the two notes may arrive as one, both
        // after the new record): the old queue goes, the new one comes with its bindings.
        this.host.forgetQueue(local);
        await this.syncTopology();
      } else if (q && !local && !this.host.isDeleting(q.name)) await (await this.#restoreQueue(q)).recover();
      else if (!q && local?.persisted) {
        this.host.forgetQueue(local);
        this.#forgetUnboundRecords();
      }
    } else {
      const b = value as BindingRecord | undefined;
      if (b) {
        if (!this.#endsExist(b)) return;
        routing.bind(b.source, b.destination, b.routingKey, b.arguments);
        this.#recordedBindings.set(key, this.#bindingIsDurable(b.source, b.destination));
      } else if (this.#recordedBindings.delete(key)) {
        const local = routing.bindings().find((x) => bindingKey(this.host.vhost, x) === key);
        if (local) routing.unbind(local.source, local.destination, local.routingKey, local.arguments);
        this.#forgetUnboundRecords();
      }
    }
  }

  /** Both ends of a recorded binding are here (a binding may arrive before its queue). */
  #endsExist(b: BindingRecord): boolean {
    const destination =
      b.destination.kind === 'queue'
        ? this.host.queues.has(b.destination.name)
        : this.#routing.hasExchange(b.destination.name);
    return destination && this.#routing.hasExchange(b.source);
  }

  /** Recorded bindings and exchanges the routing table no longer has (removed with an end, auto-deleted). */
  #forgetUnboundRecords(): void {
    const current = this.bindingKeys();
    for (const key of this.#recordedBindings.keys())
      if (!current.has(key)) this.#recordedBindings.delete(key);
    for (const name of this.#recordedExchanges.keys())
      if (!this.#routing.hasExchange(name)) this.#recordedExchanges.delete(name);
  }

  /** A queue from the store's metadata, with the bytes it already holds counted. */
  async #restoreQueue(record: QueueRecord): Promise<EngineQueue> {
    // Another node's exclusive queue: routable here, but nobody here may use it.
    const owner =
      record.owner === undefined || record.node === this.#store.cluster?.nodeId
        ? record.owner
        : `remote:${record.node ?? ''}/${record.owner}`;
    const queue = await this.host.createQueue(record.name, record.options, owner, true);
    queue.persisted = true;
    queue.homeNode = record.home;
    const counts = await this.#store.counts(queue.key);
    this.host.memory.add(counts.bytes);
    return queue;
  }
}

export function bindingKey(
  vhost: string,
  b: { source: string; destination: BindingDestination; routingKey: string; arguments: Headers },
): string {
  return metaKeys.binding(vhost, b.source, b.destination, b.routingKey, b.arguments);
}
