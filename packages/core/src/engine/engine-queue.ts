import { AccessRefusedError, MessageGoneError, ResourceLockedError } from '../errors.js';
import { messageSize, type QueueRecordInput, type StoredMessage } from '../message.js';
import type { TakeOptions } from '../store/message-store.js';
import { ConsumerState, type ConsumerCancelReason } from './consumer.js';
import type { DeadLetterReason } from './dead-letter.js';
import { deliveryOf, type Delivery } from './delivery.js';
import {
  admit,
  dropHead,
  hasLimits,
  recordFor,
  type AcceptOutcome,
  type AcceptRequest,
} from './queue-admission.js';
import { deadLetterHeld } from './queue-dead-letter.js';
import type { QueueHost } from './queue-host.js';
import type { ResolvedQueueOptions } from './queue-options.js';
import { cancelTimedOut, rearmWakeUp, sweepExpired, wakeUp } from './queue-sweeps.js';
import { Timer } from './timer.js';
import { effectiveOptions, type QueuePolicy } from './queue-policies.js';
import { TurnBatch } from './turn-batch.js';
import { DispatchPump } from './dispatch-pump.js';
import { SharedStoreFlow } from './shared-store-flow.js';
import { QueueListener } from './queue-listener.js';
import { QueueReceivers } from './queue-receivers.js';
import { ackHeld, consumerFor, nackHeld, renewHeld, settleHeld } from './queue-settling.js';

const TAKE_BATCH = 256;
let holderSeq = 0;

/**
 * One queue of the engine: accepts copies, dispatches to waiting receivers and consumers, settles
 * leases. What may enter is decided in queue-admission.ts (dedupe, overflow, TTL and delay stamps),
 * how a message leaves for its dead-letter target in queue-dead-letter.ts, and the expiry sweep, the
 * lease and delay wake-up and the consumer timeouts in queue-sweeps.ts, how held deliveries are
 * acked, nacked and renewed in queue-settling.ts. Its waiting receivers are in
 * queue-receivers.ts; over a shared store, its listening for other nodes' sends in
 * queue-listener.ts and its flow control in shared-store-flow.ts.
 */
export class EngineQueue {
  readonly consumers: ConsumerState[] = [];
  /** Cumulative counters since start (metrics, management). */
  deadLettered = 0;
  published = 0;
  delivered = 0;
  acked = 0;
  deleted = false;
  /** Its declaration is in the store's metadata (durable and not exclusive; with a shared store, any). */
  persisted = false;
  /** Shared store: the node that declared it, the one whose consumers decide auto-delete and expiry. */
  homeNode: string | undefined;
  #hadConsumer = false;
  /** Copies a door served itself this turn, told to the observer once per turn. */
  #direct = 0;
  #rr = 0;
  readonly #receivers = new QueueReceivers();
  /** Copies accepted in one turn share one store write (and one fsync). */
  readonly #batch = new TurnBatch<AcceptRequest, AcceptOutcome>((requests) => this.#write(requests));
  readonly #pump = new DispatchPump({
    hasRoom: () => this.#hasRoom(),
    round: () => this.#round(),
    // Nothing more goes out now: nobody waits for it; the other nodes take what is left.
    idle: () => {
      this.#flow.releasePaced(Number.POSITIVE_INFINITY);
      this.#flow.payOwedWakes();
    },
    onError: (err) => this.host.backgroundError(err),
  });
  readonly #flow = new SharedStoreFlow(this);
  /** Over a shared store: other nodes' sends wake it while someone here takes (queue-listener.ts). */
  readonly #listener = new QueueListener(this, {
    takesHere: () => this.#receivers.length > 0 || this.consumers.length > 0,
    woken: (dueAt) => {
      if (dueAt !== undefined) this.wakeAt(dueAt);
      this.pump();
    },
    rearmWakeUp: () => rearmWakeUp(this),
  });
  // Timers are made when first armed: most queues (one per MQTT session, say) never need them.
  #wakeTimer: Timer | undefined;
  #expiryTimer: Timer | undefined;
  #unusedTimer: Timer | undefined;
  #timeoutTimer: Timer | undefined;

  /** What it runs with: its declared options with its policy laid over them (queue-policies.ts). */
  options: ResolvedQueueOptions;
  /** The policy that applies to it, if any. */
  policy: QueuePolicy | undefined;

  constructor(
    readonly host: QueueHost,
    readonly name: string,
    readonly key: string,
    /** What it was declared with: what a redeclare must be equivalent to, what is recorded. */
    readonly declared: ResolvedQueueOptions,
    readonly owner: string | undefined,
    policy?: QueuePolicy,
  ) {
    this.policy = policy;
    this.options = effectiveOptions(declared, policy);
    this.touch();
  }

  /** A timer on the engine's clock whose failures are the host's background errors. */
  #timer(fire: () => unknown): Timer {
    return new Timer(
      fire,
      (e) => this.host.backgroundError(e),
      () => this.host.now(),
    );
  }

  #sweep(): Promise<void> {
    return sweepExpired(this, () => EngineQueue.nextHolder('ttl'));
  }

  static nextHolder(prefix: string): string {
    return `${prefix}:${++holderSeq}`;
  }

  /**
   * A policy was set, changed or removed: from now on the queue runs with the new options (new
   * publishes, the next delivery, the expiry timer); messages already in it keep the TTL they got.
   */
  applyPolicy(policy: QueuePolicy | undefined): void {
    if (policy === this.policy) return;
    this.policy = policy;
    this.options = effectiveOptions(this.declared, policy);
    // An expiry that came with the old policy goes with it.
    if (this.options.expiresMs === undefined) this.#unusedTimer?.cancel();
    this.touch();
    this.pump();
  }

  /** Throws when an exclusive queue is used by someone other than its owner. */
  checkOwner(owner: string | undefined): void {
    if (this.options.exclusive && this.owner !== owner) {
      throw new ResourceLockedError(`queue '${this.name}' is exclusive to another connection`);
    }
  }

  /** Restarts the unused-queue expiry. */
  touch(): void {
    if (this.options.expiresMs !== undefined && this.consumers.length === 0)
      (this.#unusedTimer ??= this.#timer(() => this.host.queueUnused(this))).at(
        this.host.now() + this.options.expiresMs,
        true,
      );
  }

  // ---------------------------------------------------------------- publishing

  /** Adds a copy; copies accepted in the same turn share one store write (and one fsync). */
  accept(request: AcceptRequest): { done: Promise<AcceptOutcome[]>; index: number } {
    return this.#batch.add(request);
  }

  async #write(requests: AcceptRequest[]): Promise<AcceptOutcome[]> {
    const { store } = this.host;
    const outcomes = await admit(this, requests);
    const records: QueueRecordInput[] = [];
    let bytes = 0;
    let earliestExpiry = Number.POSITIVE_INFINITY;
    let earliestReady = Number.POSITIVE_INFINITY;
    for (let i = 0; i < requests.length; i++) {
      if (outcomes[i] !== 'enqueued') continue;
      const record = recordFor(this.options, requests[i]!);
      records.push(record);
      bytes += messageSize(record.message);
      if (record.expiresAt !== undefined && record.expiresAt < earliestExpiry)
        earliestExpiry = record.expiresAt;
      if (record.readyAt !== undefined && record.readyAt < earliestReady) earliestReady = record.readyAt;
    }
    if (records.length === 0) return outcomes;
    // Deleted while these copies were on their way: they were not stored, which the publisher learns.
    if (this.deleted) return outcomes.map((o) => (o === 'enqueued' ? 'rejected' : o));
    this.host.memory.add(bytes);
    // Over a shared store a queue with room here takes these itself right after the write: the
    // other nodes are woken only for what that take leaves, not to race it for them.
    const taking = store.cluster !== undefined && this.#hasRoom();
    const written = store.enqueue(this.key, records, taking ? { taking } : undefined);
    // Embedded stores make records visible at once: dispatch without waiting for the fsync. A
    // shared store's take could overtake the write and come back empty, a round trip for nothing.
    if (!store.cluster) this.pump();
    try {
      await written;
    } catch (err) {
      this.host.memory.remove(bytes);
      throw err;
    }
    if (taking) this.#flow.owe();
    this.published += records.length;
    this.host.observer.published?.(this.host.vhost, this.name, records.length);
    if (earliestExpiry !== Number.POSITIVE_INFINITY) this.expireAt(earliestExpiry, false);
    if (earliestReady !== Number.POSITIVE_INFINITY) this.wakeAt(earliestReady);
    if (this.options.overflow === 'drop-head' && hasLimits(this.options))
      await dropHead(this, () => EngineQueue.nextHolder('overflow'));
    this.pump();
    if (store.cluster) {
      await this.#flow.paceAfter(records.length, this.#pump.running);
      await this.#flow.depthBelowLimit();
    }
    return outcomes;
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * A door delivered a copy to this queue's consumer itself (see LocalDelivery): it counts as
   * published, delivered and acked; the observer hears of a turn's copies at once.
   */
  countDirect(): void {
    this.published++;
    this.delivered++;
    this.acked++;
    if (this.#direct++ === 0) queueMicrotask(this.#reportDirect);
  }

  readonly #reportDirect = (): void => {
    const n = this.#direct;
    this.#direct = 0;
    const observer = this.host.observer;
    observer.published?.(this.host.vhost, this.name, n);
    observer.delivered?.(this.host.vhost, this.name, n);
  };

  /** Something may have arrived, or someone came to take: dispatch. */
  pump(): void {
    this.#pump.pump();
  }

  #hasRoom(): boolean {
    return this.#receivers.length > 0 || this.consumers.some((c) => c.credit() > 0);
  }

  /** Serves waiting receivers, then consumers, until nothing is ready or nobody has credit. */
  async #round(): Promise<boolean> {
    while (!this.deleted && (await this.#serveReceiver())) {
      /* next receiver */
    }
    while (!this.deleted && (await this.#serveConsumer())) {
      /* next consumer */
    }
    return !this.deleted;
  }

  #serveReceiver(): Promise<boolean> {
    return this.#receivers.serveFirst((holder, max, leaseMs) =>
      this.#takeFor(holder, max, leaseMs, undefined),
    );
  }

  async #serveConsumer(): Promise<boolean> {
    // Single active consumer: the earliest attached one only (the others are standbys).
    const n = this.options.singleActiveConsumer ? Math.min(1, this.consumers.length) : this.consumers.length;
    for (let i = 0; i < n; i++) {
      const consumer = this.consumers[(this.#rr + i) % n]!;
      const credit = consumer.credit();
      if (credit <= 0) continue;
      const turn = this.#rr;
      this.#rr = (this.#rr + i + 1) % n;
      const want = Math.min(credit, TAKE_BATCH);
      consumer.reserve(want);
      let deliveries: Delivery[];
      try {
        deliveries = await this.#takeFor(consumer.holder, want, undefined, consumer);
      } finally {
        consumer.unreserve(want);
      }
      if (deliveries.length === 0) {
        // Nothing handed out: the turn stays (else, one message per pump, the same consumer always wins).
        this.#rr = turn;
        return false;
      }
      const now = this.host.now();
      let handed = 0;
      // Cancelled while the take was under way, or by its own handler (an MQTT session whose socket
      // backs up does): what it was not handed goes back to the queue, auto-ack or not.
      for (; handed < deliveries.length && consumer.active; handed++) {
        const delivery = deliveries[handed]!;
        consumer.hold(delivery, now);
        try {
          consumer.handler(delivery);
        } catch (err) {
          this.host.backgroundError(err);
        }
      }
      if (handed < deliveries.length)
        await this.#releaseUndelivered(deliveries.slice(handed), consumer.holder);
      if (handed === 0) return true;
      if (consumer.options.autoAck) {
        // Settled once handed, in one store call for the batch: never one that was not handed.
        const given = handed === deliveries.length ? deliveries : deliveries.slice(0, handed);
        await settleHeld(
          this,
          given.map((d) => d.id),
          consumer.holder,
          given,
        );
      }
      if (this.options.consumerTimeoutMs !== undefined) this.timeoutAt(now + this.options.consumerTimeoutMs);
      // A take that got fewer than it asked for emptied the queue: asking again (for the next
      // consumer) would come back empty. A send or a return meanwhile pumps again (DispatchPump).
      return !this.#pump.drained;
    }
    return false;
  }

  async #releaseUndelivered(deliveries: readonly Delivery[], holder: string): Promise<void> {
    if (deliveries.length > 0 && !this.deleted)
      await this.host.store.release(
        this.key,
        deliveries.map((d) => d.id),
        holder,
      );
  }

  /** Takes up to `max`, screening out expired and poisoned messages (which are dead-lettered or dropped). */
  async #takeFor(
    holder: string,
    max: number,
    leaseMs: number | undefined,
    consumer: ConsumerState | undefined,
  ): Promise<Delivery[]> {
    const { store } = this.host;
    for (;;) {
      const now = this.host.now();
      // An infinite lease is no lease: held until settled or its holder is released.
      const leaseUntil = leaseMs === undefined || !Number.isFinite(leaseMs) ? undefined : now + leaseMs;
      // This take comes after the writes of the enqueues owed so far: it wakes the others for them.
      const owed = this.#flow.owed();
      const options: TakeOptions = leaseUntil === undefined ? { holder, now } : { holder, now, leaseUntil };
      if (owed > 0) options.wakeRest = true;
      const taken = await store.take(this.key, max, options);
      this.#flow.paid(owed);
      this.#pump.drained = taken.length < max;
      if (taken.length === 0) return [];
      if (leaseUntil !== undefined) this.wakeAt(leaseUntil);
      const deliveries = await this.#screen(taken, holder, now, leaseUntil, consumer);
      if (deliveries.length > 0) return deliveries;
    }
  }

  async #screen(
    taken: StoredMessage[],
    holder: string,
    now: number,
    leaseUntil: number | undefined,
    consumer: ConsumerState | undefined,
  ): Promise<Delivery[]> {
    const deliveries: Delivery[] = [];
    let expired: StoredMessage[] | undefined;
    let poisoned: StoredMessage[] | undefined;
    const limit = this.options.maxDeliveries;
    for (const stored of taken) {
      if (stored.expiresAt !== undefined && stored.expiresAt <= now) (expired ??= []).push(stored);
      else if (limit !== undefined && stored.deliveryCount > limit) (poisoned ??= []).push(stored);
      else deliveries.push(deliveryOf(this.host.vhost, this.name, stored, holder, leaseUntil, consumer?.tag));
    }
    if (expired) await this.deadLetter(expired, holder, 'expired');
    if (poisoned) await this.deadLetter(poisoned, holder, 'delivery_limit');
    if (deliveries.length > 0) {
      this.delivered += deliveries.length;
      this.#flow.releasePaced(this.delivered);
      this.host.observer.delivered?.(this.host.vhost, this.name, deliveries.length);
    }
    return deliveries;
  }

  // ---------------------------------------------------------------- pull

  /** Pull up to `max`; with `waitMs` > 0, waits (in arrival order with other receivers) for a message. */
  receive(
    max: number,
    leaseMs: number,
    waitMs: number,
    holder = EngineQueue.nextHolder('pull'),
  ): Promise<Delivery[]> {
    this.touch();
    if (waitMs > 0) {
      const received = this.#receivers.wait(max, leaseMs, waitMs, holder);
      this.#listener.listen();
      this.pump();
      return received;
    }
    // Others are already waiting, and nothing was ready for them.
    if (this.#receivers.length > 0) return Promise.resolve([]);
    return this.#takeFor(holder, max, leaseMs, undefined);
  }

  /** Leases one peeked message by id. */
  async take(id: string, leaseMs: number, holder = EngineQueue.nextHolder('take')): Promise<Delivery> {
    this.touch();
    const now = this.host.now();
    const leaseUntil = Number.isFinite(leaseMs) ? now + leaseMs : undefined;
    const options = leaseUntil === undefined ? { holder, now } : { holder, now, leaseUntil };
    const stored = await this.host.store.takeById(this.key, id, options);
    if (!stored) throw new MessageGoneError(this.name, id);
    if (leaseUntil !== undefined) this.wakeAt(leaseUntil);
    const [delivery] = await this.#screen([stored], holder, now, leaseUntil, undefined);
    if (!delivery) throw new MessageGoneError(this.name, id);
    return delivery;
  }

  /** A holder went away (e.g. an AMQP channel that held basic.get deliveries): forget it in consumers' windows. */
  forgetHolder(holder: string): void {
    const consumer = consumerFor(this, holder);
    if (consumer) consumer.settle([...consumer.held.keys()]);
    this.pump();
  }

  // ---------------------------------------------------------------- settling (queue-settling.ts)

  async ack(holder: string, deliveries: readonly Delivery[]): Promise<void> {
    await ackHeld(this, holder, deliveries, () => this.#pump.room());
  }

  nack(
    holder: string,
    deliveries: readonly Delivery[],
    requeue: boolean,
    delayMs: number | undefined,
    /** Why, when not requeued (a handler's error): kept in the dead-letter headers. */
    detail?: string,
  ): Promise<void> {
    return nackHeld(this, holder, deliveries, requeue, delayMs, detail);
  }

  /** Extends the leases; returns the new deadline. */
  renew(holder: string, deliveries: readonly Delivery[], leaseMs: number): Promise<number> {
    return renewHeld(this, holder, deliveries, leaseMs);
  }

  /** Dead-letters held messages with `reason` (or drops them without a target); returns the ids that were held. */
  deadLetter(
    stored: readonly StoredMessage[],
    holder: string,
    reason: DeadLetterReason,
    detail?: string,
  ): Promise<string[]> {
    return deadLetterHeld(this, stored, holder, reason, detail);
  }

  // ---------------------------------------------------------------- consumers

  addConsumer(consumer: ConsumerState): void {
    if (this.consumers.some((c) => c.options.exclusive)) {
      throw new AccessRefusedError(`queue '${this.name}' has an exclusive consumer`);
    }
    if (consumer.options.exclusive && this.consumers.length > 0) {
      throw new AccessRefusedError(`queue '${this.name}' already has consumers; cannot consume exclusively`);
    }
    this.consumers.push(consumer);
    this.host.consumersChanged(this);
    this.#hadConsumer = true;
    this.#unusedTimer?.cancel();
    this.#listener.listen();
    this.pump();
  }

  /** Detaches a consumer; what it holds goes back to the queue unless `release` is false. */
  async removeConsumer(
    consumer: ConsumerState,
    release: boolean,
    reason: ConsumerCancelReason,
  ): Promise<void> {
    const i = this.consumers.indexOf(consumer);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    this.host.consumersChanged(this);
    this.#listener.served();
    consumer.active = false;
    const ids = [...consumer.held.keys()];
    consumer.settle(ids);
    if (release && ids.length > 0 && !this.deleted)
      await this.host.store.release(this.key, ids, consumer.holder);
    if (reason !== 'cancelled' && reason !== 'owner-gone') consumer.options.onCancel?.(reason);
    if (this.consumers.length === 0) {
      if (this.options.autoDelete && this.#hadConsumer && !this.deleted) this.host.queueUnused(this);
      else this.touch();
    }
    this.pump();
  }

  // ---------------------------------------------------------------- timers

  /** Wakes the queue at `at` (a lease deadline, a delayed message), unless it wakes earlier already. */
  wakeAt(at: number): void {
    (this.#wakeTimer ??= this.#timer(() => wakeUp(this))).at(at, false);
  }

  /** Checks consumer timeouts at `at`, unless a check comes earlier already. */
  timeoutAt(at: number): void {
    (this.#timeoutTimer ??= this.#timer(() => cancelTimedOut(this))).at(at, false);
  }

  /** Sweeps expired messages at `at`; `replace` moves an earlier sweep later. */
  expireAt(at: number, replace = false): void {
    (this.#expiryTimer ??= this.#timer(() => this.#sweep())).at(at, replace);
  }

  /** After recovery: re-arm timers from what the store holds. */
  async recover(): Promise<void> {
    await rearmWakeUp(this);
    await this.#sweep();
  }

  // ---------------------------------------------------------------- lifecycle

  /** Marks the queue deleted: waiting receivers get nothing, consumers are told, timers stop. */
  close(reason: ConsumerCancelReason): ConsumerState[] {
    this.deleted = true;
    this.#listener.stop();
    for (const t of [this.#wakeTimer, this.#expiryTimer, this.#unusedTimer, this.#timeoutTimer]) t?.cancel();
    this.#receivers.closeAll();
    const consumers = this.consumers.splice(0);
    for (const c of consumers) {
      c.active = false;
      c.settle([...c.held.keys()]);
      c.options.onCancel?.(reason);
    }
    return consumers;
  }

  get waiting(): number {
    return this.#receivers.length;
  }
}
