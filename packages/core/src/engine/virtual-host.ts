import { randomBytes } from 'node:crypto';
import {
  BrokerClosedError,
  ExchangeNotFoundError,
  InvalidArgumentError,
  MessageTooLargeError,
  QueueInUseError,
  QueueNotEmptyError,
  QueueNotFoundError,
  ResourceLockedError,
} from '../errors.js';
import {
  bodyBytes,
  type Headers,
  type MessageData,
  type OutgoingMessage,
  type PeekedMessage,
} from '../message.js';
import {
  RoutingTable,
  type BindingDestination,
  type ExchangeKind,
  type ExchangeOptions,
} from '../routing/index.js';
import type { MessageStore, PeekOptions, QueueCounts } from '../store/message-store.js';
import { ConsumerState, type CancelOptions, type ConsumeOptions, type ConsumerHandle } from './consumer.js';
import { lastDeathQueue, redrivenMessage } from './dead-letter.js';
import type { Delivery, DeliveryHandler } from './delivery.js';
import { EngineQueue, type AcceptOutcome, type AcceptRequest } from './engine-queue.js';
import type { EngineObserver } from './engine-observer.js';
import type { MemoryMonitor } from './memory-monitor.js';
import {
  metaKeys,
  parseTopologyKey,
  queueKey,
  type BindingRecord,
  type ExchangeRecord,
  type QueueRecord,
} from './meta-keys.js';
import type { QueueHost } from './queue-host.js';
import {
  assertEquivalent,
  resolveQueueOptions,
  type DeadLetterTarget,
  type QueueOptions,
  type ResolvedQueueOptions,
} from './queue-options.js';

export interface DeclareQueueContext {
  /** Only check that the queue exists (AMQP passive declare). */
  passive?: boolean;
  /** The connection or session declaring it: required for exclusive queues. */
  owner?: string;
}

export interface QueueInfo {
  vhost: string;
  name: string;
  options: ResolvedQueueOptions;
  /** Ready messages (what AMQP reports in declare-ok). */
  messageCount: number;
  consumerCount: number;
}

export interface QueueStats extends QueueCounts {
  /** Cumulative since the broker started: copies enqueued, handed out, acked, dead-lettered. */
  published: number;
  delivered: number;
  acked: number;
  deadLettered: number;
  consumers: number;
  /** Pull receivers waiting for a message. */
  waiting: number;
}

export interface PublishOptions {
  /** Only the routing result matters to the caller; AMQP returns an unroutable mandatory message. */
  mandatory?: boolean;
}

export interface PublishResult {
  /** Queues the message was routed to. */
  queues: readonly string[];
  /** Routed to no queue at all. */
  unroutable: boolean;
  /** Queues that refused it (full, overflow reject-publish). */
  rejected: readonly string[];
  /** Queues that already had its message id within their duplicate window. */
  duplicates: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);
/** Publishers may not publish to internal exchanges (AMQP 403); dead-lettering may. */
const CLIENT_ROUTE = Object.freeze({ rejectInternal: true });
const UNROUTABLE: PublishResult = Object.freeze({
  queues: NONE,
  unroutable: true,
  rejected: NONE,
  duplicates: NONE,
});

function singleQueueResult(queue: string, outcome: AcceptOutcome): PublishResult {
  const queues = outcome === 'rejected' ? NONE : [queue];
  return {
    queues,
    unroutable: false,
    rejected: outcome === 'rejected' ? [queue] : NONE,
    duplicates: outcome === 'duplicate' ? [queue] : NONE,
  };
}

export interface ReceiveOptions {
  /** Most messages to return. Default 1. */
  max?: number;
  /** Wait up to this long for a message when none is ready. Default 0: answer at once. */
  waitMs?: number;
  /** Lease (visibility timeout); default the queue's `leaseMs`, else the broker's. `Infinity`: held until settled or released. */
  leaseMs?: number;
  /** Hold for this holder id (e.g. an AMQP channel's basic.get), released with `releaseHolder`; default a fresh one. */
  holder?: string;
}

export interface NackOptions {
  /** Back to the queue (true, default) or to the dead-letter target (false: reason `rejected`). */
  requeue?: boolean;
  /** Ready again only after this delay. */
  delayMs?: number;
}

export interface RedriveOptions {
  /** Queue to move to; default each message's original queue (from its death headers). */
  to?: string;
  /** At most this many. Default all ready messages. */
  max?: number;
}

export interface SubscribeOptions {
  /** A durable subscription's name (its queue's name); absent: a private queue that goes with its last consumer. */
  name?: string;
  /** Topic exchange to bind to. Default `amq.topic`. */
  exchange?: string;
  /** Options of the subscription's queue (TTL, DLQ, limits, …). */
  queue?: QueueOptions;
}

export interface VirtualHostSettings {
  store: MessageStore;
  memory: MemoryMonitor;
  maxMessageBytes: number;
  defaultLeaseMs: number;
  onError: (err: unknown) => void;
  assertOpen: () => void;
  observer: EngineObserver;
  /**
   * Shared store: brings this node up to the store's topology, for one metadata key or (none) all
   * of it, behind the changes already queued; resolves after.
   */
  catchUp: (key?: string) => Promise<void>;
}

let consumerSeq = 0;

/** A virtual host: its own exchanges, bindings and queues over the broker's store. */
export class VirtualHost implements QueueHost {
  readonly routing: RoutingTable;
  readonly #queues = new Map<string, EngineQueue>();
  readonly #consumers = new Map<string, { queue: EngineQueue; state: ConsumerState }>();
  /** Exchanges and binding keys whose declaration is in the store's metadata. */
  readonly #recordedExchanges = new Set<string>();
  readonly #recordedBindings = new Set<string>();
  /** Queues this node is deleting: a topology read taken before the deletion must not bring them back. */
  readonly #deleting = new Set<string>();

  constructor(
    readonly vhost: string,
    private readonly settings: VirtualHostSettings,
  ) {
    this.routing = new RoutingTable({ queueExists: (name) => this.#queues.has(name) });
  }

  get store(): MessageStore {
    return this.settings.store;
  }

  get memory(): MemoryMonitor {
    return this.settings.memory;
  }

  get observer(): EngineObserver {
    return this.settings.observer;
  }

  now(): number {
    return Date.now();
  }

  backgroundError(err: unknown): void {
    // A background step (an auto-delete, a sweep) that lost the race with close is not news.
    if (err instanceof BrokerClosedError) return;
    this.settings.onError(err);
  }

  get #shared(): boolean {
    return this.store.cluster !== undefined;
  }

  /**
   * Whether a declaration goes into the store's metadata: durable ones always; with a shared
   * store every one, so that all nodes route alike.
   */
  #records(durable: boolean): boolean {
    return durable || this.#shared;
  }

  /** Shared store: a transient declaration lives and dies with the node that made it. */
  #nodeOf(transient: boolean): { node?: string } {
    const node = this.store.cluster?.nodeId;
    return this.#shared && transient && node !== undefined ? { node } : {};
  }

  /**
   * Shared store: a queue or exchange another node declared a moment ago may not be here yet (its
   * note is on the way): on "not found", read that one declaration from the store and try again.
   */
  async #withTopology<T>(action: () => T | Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      if (!this.#shared) throw err;
      if (err instanceof QueueNotFoundError)
        await this.settings.catchUp(metaKeys.queue(this.vhost, err.queue));
      else if (err instanceof ExchangeNotFoundError)
        await this.settings.catchUp(metaKeys.exchange(this.vhost, err.exchange));
      else throw err;
      return action();
    }
  }

  // ---------------------------------------------------------------- exchanges and bindings

  async declareExchange(
    name: string,
    kind: ExchangeKind,
    options: ExchangeOptions = {},
    context: { passive?: boolean } = {},
  ): Promise<void> {
    this.settings.assertOpen();
    const { exchange, created } = await this.#withTopology(() =>
      this.routing.declareExchange(name, kind, options, context),
    );
    if (created && this.#records(exchange.options.durable)) {
      const record: ExchangeRecord = { name, kind, options, ...this.#nodeOf(!exchange.options.durable) };
      await this.store.putMeta(metaKeys.exchange(this.vhost, name), record);
      this.#recordedExchanges.add(name);
    }
  }

  async deleteExchange(name: string, options: { ifUnused?: boolean } = {}): Promise<void> {
    this.settings.assertOpen();
    const before = new Set(this.routing.bindings().map((b) => bindingKey(this.vhost, b)));
    const changes = this.routing.deleteExchange(name, options);
    this.#recordedExchanges.delete(name);
    await this.store.deleteMeta(metaKeys.exchange(this.vhost, name));
    await this.#forgetBindings(before, changes.deletedExchanges);
  }

  async bindQueue(
    queue: string,
    exchange: string,
    routingKey: string,
    args: Headers = {},
    owner?: string,
  ): Promise<void> {
    this.settings.assertOpen();
    (await this.#queueHere(queue)).checkOwner(owner);
    await this.#bind(exchange, { kind: 'queue', name: queue }, routingKey, args);
  }

  async unbindQueue(
    queue: string,
    exchange: string,
    routingKey: string,
    args: Headers = {},
    owner?: string,
  ): Promise<void> {
    this.settings.assertOpen();
    (await this.#queueHere(queue)).checkOwner(owner);
    await this.#unbind(exchange, { kind: 'queue', name: queue }, routingKey, args);
  }

  async bindExchange(
    destination: string,
    source: string,
    routingKey: string,
    args: Headers = {},
  ): Promise<void> {
    this.settings.assertOpen();
    await this.#bind(source, { kind: 'exchange', name: destination }, routingKey, args);
  }

  async unbindExchange(
    destination: string,
    source: string,
    routingKey: string,
    args: Headers = {},
  ): Promise<void> {
    this.settings.assertOpen();
    await this.#unbind(source, { kind: 'exchange', name: destination }, routingKey, args);
  }

  async #bind(
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers,
  ): Promise<void> {
    await this.#withTopology(() => this.routing.bind(source, destination, routingKey, args));
    if (this.#records(this.#bindingIsDurable(source, destination))) {
      const record: BindingRecord = { source, destination, routingKey, arguments: args };
      const key = metaKeys.binding(this.vhost, source, destination, routingKey, args);
      await this.store.putMeta(key, record);
      this.#recordedBindings.add(key);
    }
  }

  async #unbind(
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers,
  ): Promise<void> {
    const changes = await this.#withTopology(() =>
      this.routing.unbind(source, destination, routingKey, args),
    );
    const key = metaKeys.binding(this.vhost, source, destination, routingKey, args);
    this.#recordedBindings.delete(key);
    await this.store.deleteMeta(key);
    for (const name of changes.deletedExchanges) {
      this.#recordedExchanges.delete(name);
      await this.store.deleteMeta(metaKeys.exchange(this.vhost, name));
    }
  }

  #bindingIsDurable(source: string, destination: BindingDestination): boolean {
    const sourceDurable = this.routing.getExchange(source)?.options.durable === true;
    const destDurable =
      destination.kind === 'queue'
        ? this.#queues.get(destination.name)?.options.durable === true
        : this.routing.getExchange(destination.name)?.options.durable === true;
    return sourceDurable && destDurable;
  }

  /** Deletes the metadata of bindings that the routing table dropped (and of auto-deleted exchanges). */
  async #forgetBindings(before: Set<string>, deletedExchanges: readonly string[]): Promise<void> {
    const after = new Set(this.routing.bindings().map((b) => bindingKey(this.vhost, b)));
    for (const key of before) {
      if (after.has(key)) continue;
      this.#recordedBindings.delete(key);
      await this.store.deleteMeta(key);
    }
    for (const name of deletedExchanges) {
      this.#recordedExchanges.delete(name);
      await this.store.deleteMeta(metaKeys.exchange(this.vhost, name));
    }
  }

  // ---------------------------------------------------------------- queues

  async declareQueue(
    name: string,
    options: QueueOptions = {},
    context: DeclareQueueContext = {},
  ): Promise<QueueInfo> {
    this.settings.assertOpen();
    if (context.passive) {
      const existing = await this.#queueHere(name);
      existing.checkOwner(context.owner);
      existing.touch();
      return this.#info(existing);
    }
    const existing = this.#queues.get(name);
    const resolved = resolveQueueOptions(options);
    if (existing) {
      existing.checkOwner(context.owner);
      assertEquivalent(name, existing.options, resolved);
      existing.touch();
      return this.#info(existing);
    }
    if (resolved.exclusive && context.owner === undefined) {
      throw new InvalidArgumentError(`exclusive queue '${name}' needs an owner`);
    }
    const queueName = name === '' ? `amq.gen-${randomBytes(16).toString('base64url')}` : name;
    const owner = resolved.exclusive ? context.owner : undefined;
    const queue = await this.#createQueue(queueName, resolved, owner);
    queue.homeNode = this.store.cluster?.nodeId;
    if (this.#records(resolved.durable && !resolved.exclusive)) {
      const record: QueueRecord = {
        name: queueName,
        options: resolved,
        ...this.#nodeOf(!resolved.durable || resolved.exclusive),
        ...(owner === undefined ? {} : { owner }),
        ...(queue.homeNode === undefined ? {} : { home: queue.homeNode }),
      };
      await this.store.putMeta(metaKeys.queue(this.vhost, queueName), record);
      queue.persisted = true;
    }
    return this.#info(queue);
  }

  async #createQueue(
    name: string,
    options: ResolvedQueueOptions,
    owner: string | undefined,
    restoring = false,
  ): Promise<EngineQueue> {
    const key = queueKey(this.vhost, name);
    // A shared store's queue that another node declared exists there already (or was just deleted).
    if (!restoring || !this.#shared) await this.store.createQueue(key);
    // Another node's declaration of the same name may have arrived meanwhile: one queue object.
    const arrived = this.#queues.get(name);
    if (arrived) return arrived;
    const queue = new EngineQueue(this, name, key, options, owner);
    this.#queues.set(name, queue);
    return queue;
  }

  /**
   * Brings this vhost up to the topology in the store's metadata: at start (recovery), and with a
   * shared store whenever any node changed it or a node left. What others declared appears; what
   * others deleted or unbound goes; what a departed node owned (its exclusive and transient
   * queues and exchanges) is deleted from the store, by whichever node gets there first.
   */
  async syncTopology(): Promise<void> {
    const load = async <T>(prefix: string): Promise<T[]> =>
      (await this.store.loadMeta(prefix)).map((entry) => entry.value as T);
    // Only what was recorded before this read may go for being absent from it: a declaration
    // made here while the read runs is not in it yet.
    const knownExchanges = new Set(this.#recordedExchanges);
    const knownQueues = [...this.#queues.values()].filter((q) => q.persisted);
    const knownBindings = new Set(this.#recordedBindings);
    const live = await this.store.cluster?.liveNodes();
    const departed = (node: string | undefined): boolean =>
      node !== undefined && live !== undefined && node !== this.store.cluster?.nodeId && !live.has(node);
    const exchanges = await load<ExchangeRecord>(metaKeys.exchangePrefix(this.vhost));
    const queues = await load<QueueRecord>(metaKeys.queuePrefix(this.vhost));
    let bindings = await load<BindingRecord>(metaKeys.bindingPrefix(this.vhost));

    const gone = new Set<string>();
    for (const e of exchanges.filter((x) => departed(x.node))) {
      gone.add(`x:${e.name}`);
      await this.store.deleteMeta(metaKeys.exchange(this.vhost, e.name));
    }
    for (const q of queues.filter((x) => departed(x.node))) {
      gone.add(`q:${q.name}`);
      await this.store.deleteQueue(queueKey(this.vhost, q.name));
      await this.store.deleteMeta(metaKeys.queue(this.vhost, q.name));
    }
    if (gone.size > 0) {
      const ends = (b: BindingRecord) => [
        `x:${b.source}`,
        `${b.destination.kind === 'queue' ? 'q' : 'x'}:${b.destination.name}`,
      ];
      for (const b of bindings.filter((x) => ends(x).some((end) => gone.has(end))))
        await this.store.deleteMeta(bindingKey(this.vhost, b));
      bindings = bindings.filter((x) => !ends(x).some((end) => gone.has(end)));
    }

    const exchangeNames = new Set<string>();
    for (const e of exchanges) {
      if (gone.has(`x:${e.name}`)) continue;
      exchangeNames.add(e.name);
      if (!this.routing.hasExchange(e.name))
        this.routing.declareExchange(e.name, e.kind, e.options, { allowReserved: true });
      this.#recordedExchanges.add(e.name);
    }
    for (const name of knownExchanges) {
      if (exchangeNames.has(name)) continue;
      this.routing.deleteExchange(name, { allowReserved: true });
      this.#recordedExchanges.delete(name);
    }

    const declared = new Set<string>();
    const restored: EngineQueue[] = [];
    for (const q of queues) {
      if (gone.has(`q:${q.name}`)) continue;
      declared.add(q.name);
      if (!this.#queues.has(q.name) && !this.#deleting.has(q.name))
        restored.push(await this.#restoreQueue(q));
    }
    for (const queue of knownQueues) {
      if (!declared.has(queue.name) && this.#queues.get(queue.name) === queue) this.#forgetQueue(queue);
    }

    const local = new Map(this.routing.bindings().map((b) => [bindingKey(this.vhost, b), b]));
    const recorded = new Set<string>();
    for (const b of bindings) {
      const key = bindingKey(this.vhost, b);
      if (!this.#endsExist(b)) continue;
      if (!local.has(key)) this.routing.bind(b.source, b.destination, b.routingKey, b.arguments);
      recorded.add(key);
      this.#recordedBindings.add(key);
    }
    for (const key of knownBindings) {
      const b = local.get(key);
      if (recorded.has(key) || !b) continue;
      this.routing.unbind(b.source, b.destination, b.routingKey, b.arguments);
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
    if (!what || what.vhost !== this.vhost || what.kind === 'vhost') return;
    const value = await this.store.getMeta(key);
    if (what.kind === 'exchange') {
      const e = value as ExchangeRecord | undefined;
      if (e) {
        if (!this.routing.hasExchange(e.name))
          this.routing.declareExchange(e.name, e.kind, e.options, { allowReserved: true });
        this.#recordedExchanges.add(e.name);
      } else if (this.#recordedExchanges.delete(what.name)) {
        this.routing.deleteExchange(what.name, { allowReserved: true });
        this.#forgetUnboundRecords();
      }
    } else if (what.kind === 'queue') {
      const q = value as QueueRecord | undefined;
      const local = this.#queues.get(what.name);
      if (q && !local && !this.#deleting.has(q.name)) await (await this.#restoreQueue(q)).recover();
      else if (!q && local?.persisted) {
        this.#forgetQueue(local);
        this.#forgetUnboundRecords();
      }
    } else {
      const b = value as BindingRecord | undefined;
      if (b) {
        if (!this.#endsExist(b)) return;
        this.routing.bind(b.source, b.destination, b.routingKey, b.arguments);
        this.#recordedBindings.add(key);
      } else if (this.#recordedBindings.delete(key)) {
        const local = this.routing.bindings().find((x) => bindingKey(this.vhost, x) === key);
        if (local) this.routing.unbind(local.source, local.destination, local.routingKey, local.arguments);
        this.#forgetUnboundRecords();
      }
    }
  }

  /** Both ends of a recorded binding are here (a binding may arrive before its queue). */
  #endsExist(b: BindingRecord): boolean {
    const destination =
      b.destination.kind === 'queue'
        ? this.#queues.has(b.destination.name)
        : this.routing.hasExchange(b.destination.name);
    return destination && this.routing.hasExchange(b.source);
  }

  /** Recorded bindings and exchanges the routing table no longer has (removed with an end, auto-deleted). */
  #forgetUnboundRecords(): void {
    const current = new Set(this.routing.bindings().map((b) => bindingKey(this.vhost, b)));
    for (const key of this.#recordedBindings) if (!current.has(key)) this.#recordedBindings.delete(key);
    for (const name of this.#recordedExchanges)
      if (!this.routing.hasExchange(name)) this.#recordedExchanges.delete(name);
  }

  /** Drops a queue another node deleted: local state only (its storage is already gone). */
  #forgetQueue(queue: EngineQueue): void {
    this.#queues.delete(queue.name);
    for (const c of queue.close('queue-deleted')) this.#consumers.delete(consumerKey(queue.name, c.tag));
    this.routing.removeQueue(queue.name);
  }

  /** A queue from the store's metadata, with the bytes it already holds counted. */
  async #restoreQueue(record: QueueRecord): Promise<EngineQueue> {
    // Another node's exclusive queue: routable here, but nobody here may use it.
    const owner =
      record.owner === undefined || record.node === this.store.cluster?.nodeId
        ? record.owner
        : `remote:${record.node ?? ''}/${record.owner}`;
    const queue = await this.#createQueue(record.name, record.options, owner, true);
    queue.persisted = true;
    queue.homeNode = record.home;
    const counts = await this.store.counts(queue.key);
    this.memory.add(counts.bytes);
    return queue;
  }

  /** Store keys of the queues whose declaration is in the store's metadata. */
  persistedQueueKeys(): string[] {
    return [...this.#queues.values()].filter((q) => q.persisted).map((q) => q.key);
  }

  async #info(queue: EngineQueue): Promise<QueueInfo> {
    const counts = await this.store.counts(queue.key);
    return {
      vhost: this.vhost,
      name: queue.name,
      options: queue.options,
      messageCount: counts.ready,
      consumerCount: queue.consumers.length,
    };
  }

  /** Deletes a queue with its messages; returns how many messages it held. */
  async deleteQueue(
    name: string,
    options: { ifUnused?: boolean; ifEmpty?: boolean; owner?: string } = {},
  ): Promise<number> {
    this.settings.assertOpen();
    const queue = await this.#queueHere(name);
    queue.checkOwner(options.owner);
    const counts = await this.store.counts(queue.key);
    if (options.ifUnused && queue.consumers.length > 0) throw new QueueInUseError(name);
    if (options.ifEmpty && counts.ready + counts.inFlight + counts.delayed > 0)
      throw new QueueNotEmptyError(name);
    await this.#dropQueue(queue, 'queue-deleted');
    return counts.ready + counts.inFlight + counts.delayed;
  }

  async #dropQueue(queue: EngineQueue, reason: 'queue-deleted' | 'owner-gone'): Promise<void> {
    if (queue.deleted || this.#queues.get(queue.name) !== queue) return;
    this.#deleting.add(queue.name);
    try {
      await this.#deleteQueueState(queue, reason);
    } finally {
      this.#deleting.delete(queue.name);
    }
  }

  async #deleteQueueState(queue: EngineQueue, reason: 'queue-deleted' | 'owner-gone'): Promise<void> {
    const counts = await this.store.counts(queue.key);
    this.#queues.delete(queue.name);
    for (const c of queue.close(reason)) this.#consumers.delete(consumerKey(queue.name, c.tag));
    const before = new Set(this.routing.bindings().map((b) => bindingKey(this.vhost, b)));
    const changes = this.routing.removeQueue(queue.name);
    await this.store.deleteQueue(queue.key);
    this.memory.remove(counts.bytes);
    await this.store.deleteMeta(metaKeys.queue(this.vhost, queue.name));
    await this.#forgetBindings(before, changes.deletedExchanges);
    if (this.#shared) {
      // Bindings to it that another node recorded a moment ago and this one has not seen yet.
      for (const { key, value } of await this.store.loadMeta(metaKeys.bindingPrefix(this.vhost))) {
        const b = value as BindingRecord;
        if (b.destination.kind === 'queue' && b.destination.name === queue.name)
          await this.store.deleteMeta(key);
      }
    }
  }

  queueUnused(queue: EngineQueue): void {
    if (queue.consumers.length > 0 || queue.deleted) return;
    // Shared store: only the declaring node counts consumers for auto-delete and expiry.
    if (queue.homeNode !== undefined && queue.homeNode !== this.store.cluster?.nodeId) return;
    this.#dropQueue(queue, 'queue-deleted').catch((err: unknown) => this.backgroundError(err));
  }

  /** Removes every ready and delayed message; returns how many. */
  async purgeQueue(name: string, owner?: string): Promise<number> {
    this.settings.assertOpen();
    const queue = await this.#queueHere(name);
    queue.checkOwner(owner);
    const before = await this.store.counts(queue.key);
    const purged = await this.store.purge(queue.key);
    const after = await this.store.counts(queue.key);
    this.memory.remove(before.bytes - after.bytes);
    return purged;
  }

  hasQueue(name: string): boolean {
    return this.#queues.has(name);
  }

  async queueInfo(name: string): Promise<QueueInfo> {
    return this.#info(await this.#queueHere(name));
  }

  async listQueues(): Promise<QueueInfo[]> {
    return Promise.all([...this.#queues.values()].map((q) => this.#info(q)));
  }

  /** Counters of one queue (kept by the store, not scanned). */
  async count(name: string): Promise<QueueStats> {
    const queue = await this.#queueHere(name);
    const counts = await this.store.counts(queue.key);
    return {
      ...counts,
      published: queue.published,
      delivered: queue.delivered,
      acked: queue.acked,
      deadLettered: queue.deadLettered,
      consumers: queue.consumers.length,
      waiting: queue.waiting,
    };
  }

  /** A connection or session went away: its exclusive queues go, its consumers are cancelled (deliveries released). */
  async releaseOwner(owner: string): Promise<void> {
    for (const { queue, state } of [...this.#consumers.values()]) {
      if (state.options.owner === owner) await this.#cancel(queue, state, true, 'owner-gone');
    }
    for (const queue of [...this.#queues.values()]) {
      if (queue.options.exclusive && queue.owner === owner) await this.#dropQueue(queue, 'owner-gone');
    }
  }

  /** The queue, waiting for the store's topology once when it is not here yet (shared store). */
  #queueHere(name: string): Promise<EngineQueue> {
    const queue = this.#queues.get(name);
    return queue ? Promise.resolve(queue) : this.#withTopology(() => this.#queue(name));
  }

  #queue(name: string): EngineQueue {
    const queue = this.#queues.get(name);
    if (!queue) throw new QueueNotFoundError(name, this.vhost);
    return queue;
  }

  queues(): IterableIterator<EngineQueue> {
    return this.#queues.values();
  }

  /**
   * Broadcast: a subscription is a queue bound to a topic exchange with `pattern` (`*` one word,
   * `#` any words, `.`-separated), so every subscriber group gets its own copy, with leases, DLQ
   * and TTL like any queue. Returns the subscription's queue name. Publish with
   * `publish('amq.topic', topic, message)`.
   */
  async subscribe(pattern: string, options: SubscribeOptions = {}): Promise<string> {
    const queueOptions: QueueOptions =
      options.name === undefined
        ? { durable: false, autoDelete: true, ...options.queue }
        : { durable: true, ...options.queue };
    const info = await this.declareQueue(options.name ?? '', queueOptions);
    await this.bindQueue(info.name, options.exchange ?? 'amq.topic', pattern);
    return info.name;
  }

  // ---------------------------------------------------------------- publishing

  /** Routes a message through `exchange`; resolves once every copy is stored (durable ones synced). */
  publish(
    exchange: string,
    routingKey: string,
    outgoing: OutgoingMessage,
    _options: PublishOptions = {},
  ): Promise<PublishResult> {
    try {
      this.settings.assertOpen();
      const message = this.#messageData(exchange, routingKey, outgoing);
      const headers = message.properties.headers ?? {};
      const { queues } = this.routing.route(exchange, routingKey, headers, CLIENT_ROUTE);
      // Shared store: a queue named directly may have been declared on another node a moment ago.
      if (queues.length === 0 && exchange === '' && this.#shared)
        return this.#publishAfterCatchUp(
          metaKeys.queue(this.vhost, routingKey),
          exchange,
          routingKey,
          outgoing,
        );
      return this.#deliverTo(queues, message, outgoing);
    } catch (err) {
      if (err instanceof ExchangeNotFoundError && this.#shared)
        return this.#publishAfterCatchUp(
          metaKeys.exchange(this.vhost, err.exchange),
          exchange,
          routingKey,
          outgoing,
        );
      return Promise.reject(err);
    }
  }

  /** Shared store: routes once more after reading the missing declaration from the store. */
  async #publishAfterCatchUp(
    key: string,
    exchange: string,
    routingKey: string,
    outgoing: OutgoingMessage,
  ): Promise<PublishResult> {
    await this.settings.catchUp(key);
    const message = this.#messageData(exchange, routingKey, outgoing);
    const headers = message.properties.headers ?? {};
    const { queues } = this.routing.route(exchange, routingKey, headers, CLIENT_ROUTE);
    return this.#deliverTo(queues, message, outgoing);
  }

  /** Straight to one queue (the default exchange); an unknown queue is an error, not a silent drop. */
  send(queue: string, outgoing: OutgoingMessage): Promise<PublishResult> {
    try {
      this.settings.assertOpen();
      if (!this.#queues.has(queue) && this.#shared)
        return this.#queueHere(queue).then(() => this.send(queue, outgoing));
      this.#queue(queue);
      return this.#deliverTo([queue], this.#messageData('', queue, outgoing), outgoing);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #messageData(exchange: string, routingKey: string, outgoing: OutgoingMessage): MessageData {
    const body = bodyBytes(outgoing.body);
    if (body.byteLength > this.settings.maxMessageBytes)
      throw new MessageTooLargeError(body.byteLength, this.settings.maxMessageBytes);
    return { exchange, routingKey, properties: outgoing.properties ?? {}, body };
  }

  // Publishing is the hottest path: no async function, no spreads, one promise per copy batch.
  #deliverTo(
    names: readonly string[],
    message: MessageData,
    outgoing: OutgoingMessage,
  ): Promise<PublishResult> {
    const now = Date.now();
    const request: AcceptRequest = {
      message,
      now,
      readyAt: outgoing.deliverAt ?? (outgoing.delayMs !== undefined ? now + outgoing.delayMs : undefined),
      ttlMs: message.properties.expiration,
    };
    if (names.length === 1) {
      const name = names[0]!;
      const queue = this.#queues.get(name);
      if (queue) {
        const { done, index } = queue.accept(request);
        return done.then((outcomes) => singleQueueResult(name, outcomes[index]!));
      }
    }
    const tickets: { queue: string; done: Promise<AcceptOutcome[]>; index: number }[] = [];
    for (const name of names) {
      const queue = this.#queues.get(name);
      if (queue) tickets.push({ queue: name, ...queue.accept(request) });
    }
    if (tickets.length === 0) return Promise.resolve(UNROUTABLE);
    return Promise.all(tickets.map((t) => t.done)).then((all) => {
      const result = {
        queues: [] as string[],
        unroutable: false,
        rejected: [] as string[],
        duplicates: [] as string[],
      };
      tickets.forEach((ticket, i) => {
        const outcome = all[i]![ticket.index];
        if (outcome === 'rejected') result.rejected.push(ticket.queue);
        else {
          result.queues.push(ticket.queue);
          if (outcome === 'duplicate') result.duplicates.push(ticket.queue);
        }
      });
      return result;
    });
  }

  deadLetterQueues(target: DeadLetterTarget, message: MessageData): EngineQueue[] {
    if (!this.routing.hasExchange(target.exchange)) return [];
    const { queues } = this.routing.route(
      target.exchange,
      message.routingKey,
      message.properties.headers ?? {},
    );
    const result: EngineQueue[] = [];
    for (const name of queues) {
      const q = this.#queues.get(name);
      if (q) result.push(q);
    }
    return result;
  }

  // ---------------------------------------------------------------- receiving

  /** Pull: leased deliveries, optionally waiting for one to arrive. */
  async receive(name: string, options: ReceiveOptions = {}, owner?: string): Promise<Delivery[]> {
    this.settings.assertOpen();
    const queue = await this.#queueHere(name);
    queue.checkOwner(owner);
    const max = options.max ?? 1;
    if (!Number.isInteger(max) || max < 1)
      throw new InvalidArgumentError(`receive max must be a positive integer, got ${max}`);
    return queue.receive(max, this.#leaseMs(queue, options.leaseMs), options.waitMs ?? 0, options.holder);
  }

  /** Non-destructive look at the next messages. */
  async peek(name: string, max = 1, options: PeekOptions = {}): Promise<PeekedMessage[]> {
    this.settings.assertOpen();
    return this.store.peek((await this.#queueHere(name)).key, max, options);
  }

  /** Leases one peeked message by id, or throws MessageGoneError. */
  async take(
    name: string,
    id: string,
    options: { leaseMs?: number; holder?: string } = {},
  ): Promise<Delivery> {
    this.settings.assertOpen();
    const queue = await this.#queueHere(name);
    return queue.take(id, this.#leaseMs(queue, options.leaseMs), options.holder);
  }

  /** Everything `holder` holds, in every queue, is ready again (delivery counts stay raised). */
  async releaseHolder(holder: string): Promise<number> {
    this.settings.assertOpen();
    const released = await this.store.releaseHolder(holder);
    for (const queue of this.#queues.values()) queue.forgetHolder(holder);
    return released;
  }

  #leaseMs(queue: EngineQueue, requested: number | undefined): number {
    const leaseMs = requested ?? queue.options.leaseMs ?? this.settings.defaultLeaseMs;
    if (!(leaseMs > 0)) throw new InvalidArgumentError(`lease must be positive, got ${leaseMs}`);
    return leaseMs;
  }

  /** Push: the handler gets deliveries within the consumer's credit window until it is cancelled. */
  consume(name: string, handler: DeliveryHandler, options: ConsumeOptions = {}): ConsumerHandle {
    this.settings.assertOpen();
    const queue = this.#queue(name);
    queue.checkOwner(options.owner);
    const tag = options.tag ?? `ctag-${++consumerSeq}`;
    const key = consumerKey(name, tag);
    if (this.#consumers.has(key))
      throw new ResourceLockedError(`consumer tag '${tag}' is already in use on queue '${name}'`);
    const state = new ConsumerState(
      tag,
      name,
      options.holder ?? EngineQueue.nextHolder('consumer'),
      handler,
      options,
    );
    queue.addConsumer(state);
    this.#consumers.set(key, { queue, state });
    return {
      tag,
      queue: name,
      holder: state.holder,
      get inFlight() {
        return state.held.size;
      },
      pause: () => {
        state.paused = true;
      },
      resume: () => {
        state.paused = false;
        queue.pump();
      },
      setPrefetch: (prefetch: number) => {
        if (!Number.isInteger(prefetch) || prefetch < 0)
          throw new InvalidArgumentError(`prefetch must be a non-negative integer, got ${prefetch}`);
        state.options.prefetch = prefetch;
        queue.pump();
      },
      cancel: (cancelOptions: CancelOptions = {}) =>
        this.#cancel(queue, state, cancelOptions.release ?? true, 'cancelled'),
    };
  }

  async #cancel(
    queue: EngineQueue,
    state: ConsumerState,
    release: boolean,
    reason: 'cancelled' | 'owner-gone',
  ): Promise<void> {
    this.#consumers.delete(consumerKey(queue.name, state.tag));
    await queue.removeConsumer(state, release, reason);
  }

  // ---------------------------------------------------------------- settling

  async ack(deliveries: Delivery | readonly Delivery[]): Promise<void> {
    await this.#each(deliveries, (queue, holder, group) => queue.ack(holder, group));
  }

  async nack(deliveries: Delivery | readonly Delivery[], options: NackOptions = {}): Promise<void> {
    await this.#each(deliveries, (queue, holder, group) =>
      queue.nack(holder, group, options.requeue ?? true, options.delayMs),
    );
  }

  /** Dead-letters at once (reason `rejected`), with an optional detail such as a handler's error. */
  async deadLetter(deliveries: Delivery | readonly Delivery[], detail?: string): Promise<void> {
    await this.#each(deliveries, (queue, holder, group) =>
      queue.nack(holder, group, false, undefined, detail),
    );
  }

  /** Extends pull leases; returns the new deadline. */
  async renew(deliveries: Delivery | readonly Delivery[], leaseMs?: number): Promise<number> {
    let until = 0;
    await this.#each(deliveries, async (queue, holder, group) => {
      until = await queue.renew(holder, group, this.#leaseMs(queue, leaseMs));
    });
    return until;
  }

  async #each(
    deliveries: Delivery | readonly Delivery[],
    action: (queue: EngineQueue, holder: string, group: readonly Delivery[]) => Promise<unknown>,
  ): Promise<void> {
    this.settings.assertOpen();
    const list: readonly Delivery[] = Array.isArray(deliveries) ? deliveries : [deliveries as Delivery];
    const first = list[0];
    if (!first) return;
    // Usually one receive's or one consumer's deliveries: settle them as one group.
    if (list.every((d) => d.queue === first.queue && d.holder === first.holder)) {
      await action(this.#queue(first.queue), first.holder, list);
      return;
    }
    const groups = new Map<string, Delivery[]>();
    for (const d of list) {
      const key = `${d.queue}\u0000${d.holder}`;
      const group = groups.get(key);
      if (group) group.push(d);
      else groups.set(key, [d]);
    }
    for (const group of groups.values()) await action(this.#queue(group[0]!.queue), group[0]!.holder, group);
  }

  /** Moves dead-lettered messages back to where they died (or to `to`); returns how many moved. */
  async redrive(deadLetterQueue: string, options: RedriveOptions = {}): Promise<number> {
    this.settings.assertOpen();
    const source = await this.#queueHere(deadLetterQueue);
    const target = options.to === undefined ? undefined : await this.#queueHere(options.to);
    let moved = 0;
    // One pass over what is ready now: messages with nowhere to go are put back and not seen again.
    let left = Math.min(options.max ?? Number.POSITIVE_INFINITY, (await this.store.counts(source.key)).ready);
    while (left > 0) {
      const holder = EngineQueue.nextHolder('redrive');
      const now = Date.now();
      const batch = await this.store.take(source.key, Math.min(256, left), { holder, now });
      if (batch.length === 0) break;
      left -= batch.length;
      for (const stored of batch) {
        const destination = target ?? this.#queues.get(lastDeathQueue(stored.message) ?? '');
        if (!destination) {
          await this.store.release(source.key, [stored.id], holder);
          continue;
        }
        const record = {
          message: redrivenMessage(stored.message),
          enqueuedAt: now,
          durable: stored.durable && destination.options.durable,
          deliveryCount: 0,
        };
        moved += (await this.store.move(source.key, [stored.id], holder, destination.key, [record])).length;
        destination.pump();
      }
    }
    return moved;
  }

  /** Broker close: every queue stops its timers and tells its consumers. */
  shutdown(): void {
    for (const queue of this.#queues.values()) queue.close('broker-closed');
    this.#consumers.clear();
  }
}

function consumerKey(queue: string, tag: string): string {
  return `${queue}\u0000${tag}`;
}

function bindingKey(
  vhost: string,
  b: { source: string; destination: BindingDestination; routingKey: string; arguments: Headers },
): string {
  return metaKeys.binding(vhost, b.source, b.destination, b.routingKey, b.arguments);
}
