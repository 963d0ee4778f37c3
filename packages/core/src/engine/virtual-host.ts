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
  type Binding,
  type ExchangeInfo,
  type ExchangeKind,
  type ExchangeOptions,
} from '../routing/index.js';
import type { MessageStore, PeekOptions } from '../store/message-store.js';
import { ConsumerState, consumerHandle, type ConsumeOptions, type ConsumerHandle } from './consumer.js';
import { redrive } from './redrive.js';
import { Definitions } from './definitions.js';
import { deliverAround, deliverTo, type LocalDelivery } from './deliver.js';
import { DELAYED_ROUTING_QUEUE, DelayedRouting } from './delayed-routing.js';
import type {
  DeclareQueueContext,
  NackOptions,
  PublishOptions,
  PublishResult,
  QueueInfo,
  QueueStats,
  ReceiveOptions,
  RedriveOptions,
  SubscribeOptions,
} from './vhost-types.js';
import { byQueueAndHolder, type Delivery, type DeliveryHandler } from './delivery.js';
import { EngineQueue } from './engine-queue.js';
import type { EngineObserver } from './engine-observer.js';
import type { MemoryMonitor } from './memory-monitor.js';
import { metaKeys, queueKey } from './meta-keys.js';
import type { QueuePolicy } from './queue-policies.js';
import { VhostPolicies } from './vhost-policies.js';
import type { QueueHost } from './queue-host.js';
import type { VirtualHostSettings } from './vhost-settings.js';
import {
  assertEquivalent,
  outlivesItsNode,
  resolveQueueOptions,
  type DeadLetterTarget,
  type QueueOptions,
  type ResolvedQueueOptions,
} from './queue-options.js';

/** Publishers may not publish to internal exchanges (AMQP 403); dead-lettering may. */
const CLIENT_ROUTE = Object.freeze({ rejectInternal: true });

let consumerSeq = 0;

/** A virtual host: its own exchanges, bindings and queues over the broker's store. */
export class VirtualHost implements QueueHost {
  readonly #routing: RoutingTable;
  readonly #queues = new Map<string, EngineQueue>();
  readonly #consumers = new Map<string, { queue: EngineQueue; state: ConsumerState }>();
  /** Queues this node is deleting: a topology read taken before the deletion must not bring them back. */
  readonly #deleting = new Set<string>();
  readonly #policies: VhostPolicies;
  readonly #stopUnusedNotes: (() => void) | undefined;
  readonly #definitions: Definitions;
  /** Doors serving some queues' consumers on this node themselves (see LocalDelivery). */
  #local: LocalDelivery[] = [];
  readonly #delayedRouting = new DelayedRouting({
    hasQueue: (name) => this.hasQueue(name),
    declareQueue: (name, options) => this.declareQueue(name, options),
    consume: (name, handler, options) => this.consume(name, handler, options),
    ack: (delivery) => this.ack(delivery),
    nack: (delivery, options) => this.nack(delivery, options),
    hold: (message, outgoing) =>
      deliverTo(this.#queues, this.now(), [DELAYED_ROUTING_QUEUE], message, outgoing),
    route: (exchange, routingKey, outgoing) => this.#route(exchange, routingKey, outgoing, this.#shared),
    backgroundError: (err) => this.backgroundError(err),
  });

  constructor(
    readonly vhost: string,
    private readonly settings: VirtualHostSettings,
  ) {
    this.#routing = new RoutingTable({ vhost, queueExists: (name) => this.#queues.has(name) });
    this.#policies = new VhostPolicies({ vhost, store: settings.store, queues: this.#queues });
    this.#stopUnusedNotes = settings.store.cluster?.onSignal(QUEUE_UNUSED, (key) => this.#onQueueUnused(key));
    this.#definitions = new Definitions({
      vhost,
      store: settings.store,
      memory: settings.memory,
      routing: this.#routing,
      queues: this.#queues,
      isDeleting: (name) => this.#deleting.has(name),
      createQueue: (name, options, owner, restoring) => this.#createQueue(name, options, owner, restoring),
      forgetQueue: (queue) => this.#forgetQueue(queue),
      catchUp: (key) => settings.catchUp(key),
    });
  }

  get store(): MessageStore {
    return this.settings.store;
  }

  get queueDepthSoftLimit(): number {
    return this.settings.queueDepthSoftLimit;
  }

  get memory(): MemoryMonitor {
    return this.settings.memory;
  }

  get observer(): EngineObserver {
    return this.settings.observer;
  }

  now(): number {
    return this.settings.clock();
  }

  backgroundError(err: unknown): void {
    // A background step (an auto-delete, a sweep) that lost the race with close is not news.
    if (err instanceof BrokerClosedError) return;
    this.settings.onError(err);
  }

  get #shared(): boolean {
    return this.#definitions.shared;
  }

  // ---------------------------------------------------------------- exchanges and bindings

  async declareExchange(
    name: string,
    kind: ExchangeKind,
    options: ExchangeOptions = {},
    context: { passive?: boolean } = {},
  ): Promise<void> {
    this.settings.assertOpen();
    await this.#definitions.declareExchange(name, kind, options, context);
  }

  async deleteExchange(name: string, options: { ifUnused?: boolean } = {}): Promise<void> {
    this.settings.assertOpen();
    await this.#definitions.deleteExchange(name, options);
  }

  async bindQueue(queue: string, exchange: string, routingKey: string, args: Headers = {}, owner?: string) {
    this.settings.assertOpen();
    (await this.#queueHere(queue)).checkOwner(owner);
    await this.#definitions.bind(exchange, { kind: 'queue', name: queue }, routingKey, args);
  }

  /** Idempotent: unbinding a queue, exchange or binding that is not there succeeds. */
  async unbindQueue(queue: string, exchange: string, routingKey: string, args: Headers = {}, owner?: string) {
    this.settings.assertOpen();
    const target = await this.#queueHere(queue).catch((err: unknown) => {
      if (err instanceof QueueNotFoundError) return undefined;
      throw err;
    });
    if (target === undefined) return;
    target.checkOwner(owner);
    await this.#definitions.unbind(exchange, { kind: 'queue', name: queue }, routingKey, args);
  }

  async bindExchange(destination: string, source: string, routingKey: string, args: Headers = {}) {
    this.settings.assertOpen();
    await this.#definitions.bind(source, { kind: 'exchange', name: destination }, routingKey, args);
  }

  async unbindExchange(destination: string, source: string, routingKey: string, args: Headers = {}) {
    this.settings.assertOpen();
    await this.#definitions.unbind(source, { kind: 'exchange', name: destination }, routingKey, args);
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
    if ((resolved.maxPriority ?? 0) > 0 && this.store.priorities !== true)
      throw new InvalidArgumentError(
        `queue '${name}': priority queues need a store that orders by priority (memory, lmdb); the ${this.store.kind} store does not yet`,
      );
    if (existing) {
      existing.checkOwner(context.owner);
      assertEquivalent(name, existing.declared, resolved);
      existing.touch();
      return this.#info(existing);
    }
    if (resolved.exclusive && context.owner === undefined) {
      throw new InvalidArgumentError(`exclusive queue '${name}' needs an owner`);
    }
    const queueName = name === '' ? `amq.gen-${randomBytes(16).toString('base64url')}` : name;
    const owner = resolved.exclusive ? context.owner : undefined;
    const queue = await this.#createQueue(queueName, resolved, owner, false);
    await this.#definitions.queueDeclared(queue);
    return this.#info(queue);
  }

  async #createQueue(
    name: string,
    options: ResolvedQueueOptions,
    owner: string | undefined,
    restoring: boolean,
  ): Promise<EngineQueue> {
    const key = queueKey(this.vhost, name);
    // A shared store's queue that another node declared exists there already (or was just deleted).
    if (!restoring || !this.#shared) await this.store.createQueue(key, { durable: outlivesItsNode(options) });
    // Another node's declaration of the same name may have arrived meanwhile: one queue object.
    const arrived = this.#queues.get(name);
    if (arrived) return arrived;
    const queue = new EngineQueue(this, name, key, options, owner, this.#policies.forQueue(name));
    this.#queues.set(name, queue);
    return queue;
  }

  /** Brings this vhost up to the topology in the store's metadata (see Definitions). */
  async syncTopology(): Promise<void> {
    // Policies first: a queue restored from the store starts with its policy.
    await this.#policies.load();
    await this.#definitions.syncTopology();
  }

  /** Shared store: one topology key of this vhost changed on another node (see Definitions). */
  async applyMetaKey(key: string): Promise<void> {
    if (await this.#policies.applyMetaKey(key)) return;
    await this.#definitions.applyMetaKey(key);
  }

  // ---------------------------------------------------------------- policies

  /** Adds or replaces a policy (by name); queues it now applies to run with it at once. */
  async setPolicy(policy: QueuePolicy): Promise<void> {
    this.settings.assertOpen();
    await this.#policies.set(policy);
  }

  /** Removes a policy; false when there was none of that name. */
  async deletePolicy(name: string): Promise<boolean> {
    this.settings.assertOpen();
    return this.#policies.delete(name);
  }

  policies(): QueuePolicy[] {
    return this.#policies.list();
  }

  /** Drops a queue another node deleted: local state only (its storage is already gone). */
  #forgetQueue(queue: EngineQueue): void {
    this.#queues.delete(queue.name);
    for (const c of queue.close('queue-deleted')) this.#consumers.delete(consumerKey(queue.name, c.tag));
    this.#routing.removeQueue(queue.name);
  }

  /** Store keys of the queues whose declaration is in the store's metadata. */
  persistedQueueKeys(): string[] {
    return this.#definitions.persistedQueueKeys();
  }

  async #info(queue: EngineQueue): Promise<QueueInfo> {
    const counts = await this.store.counts(queue.key);
    return {
      vhost: this.vhost,
      name: queue.name,
      options: queue.declared,
      ...(queue.policy === undefined ? {} : { policy: queue.policy.name }),
      effectiveOptions: queue.options,
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
    const before = this.#definitions.bindingKeys();
    const changes = this.#routing.removeQueue(queue.name);
    await this.store.deleteQueue(queue.key);
    this.memory.remove(counts.bytes);
    await this.#definitions.queueDeleted(queue, before, changes.deletedExchanges);
  }

  /**
   * No consumer here any more (auto-delete), or the expiry ran out. With a shared store the node
   * that declared the queue decides, counting the consumers of every live node: another node
   * whose last consumer of an auto-delete queue left tells it so (`queue-unused`).
   */
  queueUnused(queue: EngineQueue): void {
    if (queue.consumers.length > 0 || queue.deleted) return;
    const cluster = this.store.cluster;
    if (cluster === undefined) {
      this.#dropQueue(queue, 'queue-deleted').catch((err: unknown) => this.backgroundError(err));
      return;
    }
    if (queue.homeNode !== undefined && queue.homeNode !== cluster.nodeId) {
      if (queue.options.autoDelete)
        cluster.signal(QUEUE_UNUSED, queue.key).catch((err: unknown) => this.backgroundError(err));
      return;
    }
    void (async () => {
      const elsewhere = await cluster.consumerCount(queue.key);
      if (queue.deleted || queue.consumers.length > 0) return;
      // Used on another node: an expiry starts again (auto-delete waits for that node's last one).
      if (elsewhere > 0) queue.touch();
      else await this.#dropQueue(queue, 'queue-deleted');
    })().catch((err: unknown) => this.backgroundError(err));
  }

  consumersChanged(queue: EngineQueue): void {
    this.store.cluster
      ?.setConsumers(queue.key, queue.consumers.length)
      .catch((err: unknown) => this.backgroundError(err));
  }

  /** Shared store: another node's last consumer of one of this node's auto-delete queues left. */
  #onQueueUnused(key: string): void {
    const prefix = queueKey(this.vhost, '');
    if (!key.startsWith(prefix)) return;
    const queue = this.#queues.get(key.slice(prefix.length));
    if (queue?.options.autoDelete && queue.homeNode === this.store.cluster?.nodeId) this.queueUnused(queue);
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

  hasExchange(name: string): boolean {
    return this.#routing.hasExchange(name);
  }

  /** An exchange's kind and options; undefined when it does not exist. */
  exchangeInfo(name: string): ExchangeInfo | undefined {
    return this.#routing.getExchange(name);
  }

  /** Every exchange, the default one (`''`) and the predeclared `amq.*` ones included. */
  exchanges(): ExchangeInfo[] {
    return this.#routing.exchanges();
  }

  /** Every explicit binding (the default exchange's implicit per-queue bindings are not listed). */
  bindings(): Binding[] {
    return this.#routing.bindings();
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
    return queue ? Promise.resolve(queue) : this.#definitions.withTopology(() => this.#queue(name));
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

  /**
   * A door takes copies for consumers it serves on this node itself, past the store (the MQTT
   * door's QoS 0 to connected subscribers). Not for delayed publishes. Returns the undo.
   */
  deliverLocally(door: LocalDelivery): () => void {
    this.#local = [...this.#local, door];
    return () => {
      this.#local = this.#local.filter((d) => d !== door);
    };
  }

  /** After recovery: delayed publishes held before a restart are routed when their time comes. */
  resumeDelayedRouting(): void {
    this.#delayedRouting.resume();
  }

  /** Routes a message through `exchange`; resolves once every copy is stored (durable ones synced). */
  publish(
    exchange: string,
    routingKey: string,
    outgoing: OutgoingMessage,
    _options: PublishOptions = {},
  ): Promise<PublishResult> {
    try {
      this.settings.assertOpen();
      return this.#route(exchange, routingKey, outgoing, this.#shared);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Routes and stores the copies. `mayCatchUp` (shared store): an exchange, or a queue named
   * directly, that is missing here may have been declared on another node a moment ago; read the
   * declaration from the store and route once more.
   */
  #route(
    exchange: string,
    routingKey: string,
    outgoing: OutgoingMessage,
    mayCatchUp: boolean,
  ): Promise<PublishResult> {
    const message = this.#messageData(exchange, routingKey, outgoing);
    const delayed = outgoing.delayMs !== undefined || outgoing.deliverAt !== undefined;
    if (delayed) {
      const info = this.#routing.getExchange(exchange);
      if (info?.options.delayed && !info.options.internal)
        return this.#delayedRouting.publish(message, outgoing);
    }
    let queues: readonly string[];
    try {
      ({ queues } = this.#routing.route(
        exchange,
        routingKey,
        message.properties.headers ?? {},
        CLIENT_ROUTE,
      ));
    } catch (err) {
      if (!(err instanceof ExchangeNotFoundError) || !mayCatchUp) throw err;
      return this.#routeAfter(metaKeys.exchange(this.vhost, err.exchange), exchange, routingKey, outgoing);
    }
    if (queues.length === 0 && exchange === '' && mayCatchUp)
      return this.#routeAfter(metaKeys.queue(this.vhost, routingKey), exchange, routingKey, outgoing);
    if (this.#local.length > 0 && !delayed) {
      let rest = queues;
      for (const door of this.#local) if (rest.length > 0) rest = door(rest, message);
      if (rest !== queues) return deliverAround(this.#queues, this.now(), queues, rest, message, outgoing);
    }
    return deliverTo(this.#queues, this.now(), queues, message, outgoing);
  }

  async #routeAfter(
    key: string,
    exchange: string,
    routingKey: string,
    outgoing: OutgoingMessage,
  ): Promise<PublishResult> {
    await this.settings.catchUp(key);
    return this.#route(exchange, routingKey, outgoing, false);
  }

  /** Straight to one queue (the default exchange); an unknown queue is an error, not a silent drop. */
  send(queue: string, outgoing: OutgoingMessage): Promise<PublishResult> {
    try {
      this.settings.assertOpen();
      if (!this.#queues.has(queue) && this.#shared)
        return this.#queueHere(queue).then(() => this.send(queue, outgoing));
      this.#queue(queue);
      return deliverTo(this.#queues, this.now(), [queue], this.#messageData('', queue, outgoing), outgoing);
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

  deadLetterQueues(target: DeadLetterTarget, message: MessageData): EngineQueue[] {
    if (!this.#routing.hasExchange(target.exchange)) return [];
    const { queues } = this.#routing.route(
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
    return consumerHandle(state, queue, (release) => this.#cancel(queue, state, release, 'cancelled'));
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
    for (const group of byQueueAndHolder(deliveries))
      await action(this.#queue(group[0]!.queue), group[0]!.holder, group);
  }

  /** Moves dead-lettered messages back to where they died (or to `to`); returns how many moved. */
  async redrive(deadLetterQueue: string, options: RedriveOptions = {}): Promise<number> {
    this.settings.assertOpen();
    const source = await this.#queueHere(deadLetterQueue);
    const target = options.to === undefined ? undefined : await this.#queueHere(options.to);
    return redrive(this.store, source, (name) => target ?? this.#queues.get(name ?? ''), {
      max: options.max,
      now: () => this.now(),
    });
  }

  /** Broker close: every queue stops its timers and tells its consumers. */
  shutdown(): void {
    this.#stopUnusedNotes?.();
    for (const queue of this.#queues.values()) queue.close('broker-closed');
    this.#consumers.clear();
  }
}

/** Signal topic: an auto-delete queue's last consumer on some node left (payload: the queue's key). */
const QUEUE_UNUSED = 'queue-unused';

function consumerKey(queue: string, tag: string): string {
  return `${queue}\u0000${tag}`;
}
