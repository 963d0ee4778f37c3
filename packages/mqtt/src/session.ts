import { type ConsumerHandle, type Delivery, type MessageData, type VirtualHost } from '@conveyor/core';
import { CreditWindow } from '@conveyor/core/internal';
import { type MqttSubscriptionRecord } from './store/session-store.js';
import { type RetainedMessage } from './store/retained-store.js';
import type { IPublishPacket, Packet, QoS } from 'mqtt-packet';
import { H, publishedQos, publisherOf, toPublishProperties } from './message-mapping.js';
import { mqttTopicMatches, routingKeyToTopic, type ParsedFilter } from './topics.js';
import { type ErrorReport, reported } from './background.js';
import { encodePublish } from './codec/index.js';
import type { EncodedCopies } from './encoded-copies.js';

/** The connection a session is attached to, as the session sees it. */
export interface SessionLink {
  readonly version: 3 | 4 | 5;
  /** Client's Receive Maximum: how many QoS 1/2 publishes it takes unacknowledged. */
  readonly receiveMaximum: number;
  /** False when the packet is over the client's Maximum Packet Size (then it is not sent). */
  send(packet: Packet): boolean;
  /** Another connection took the client id over: close with 0x8E. */
  takeover(): void;
  /** The socket's write buffer is over its high mark: QoS 0 output waits in the queues. */
  readonly congested: boolean;
  /** Bytes written and not yet taken by the kernel. */
  readonly bufferedBytes: number;
  /** It gives topics aliases on our publishes (MQTT 5): each PUBLISH is encoded for it alone. */
  readonly aliasesTopics: boolean;
  /** Writes an encoded PUBLISH as it is (dropped when over the client's Maximum Packet Size). */
  sendEncoded(bytes: Buffer): void;
}

/** The session's subscriptions by raw filter; any change clears the session's match cache. */
export class SubscriptionMap extends Map<string, Subscription> {
  onChange: () => void = () => undefined;

  override set(key: string, value: Subscription): this {
    this.onChange();
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    this.onChange();
    return super.delete(key);
  }

  override clear(): void {
    this.onChange();
    super.clear();
  }
}

const MATCH_CACHE_SIZE = 4096;

export interface Subscription extends MqttSubscriptionRecord {
  parsed: ParsedFilter;
  /** The engine queue it is bound to. */
  queue: string;
}

/** An outbound QoS 1/2 publish waiting for the client. */
interface Outbound {
  packet: IPublishPacket;
  /** The engine delivery it carries (retained messages have none). */
  delivery?: Delivery;
  /** After PUBREC only PUBREL is resent. */
  state: 'published' | 'released';
  /** Held by an earlier connection's consumer: the current consumer's window does not count it. */
  carried: boolean;
}

/**
 * An MQTT session: its subscriptions, its engine queues and consumers, its in-flight packet ids.
 * A persistent session outlives its connections; its deliveries stay held under `holder`.
 */
export class MqttSession {
  readonly subscriptions = new SubscriptionMap();
  // The maps and sets below are made on first use: most sessions of a broker with many idle
  // clients never need them, and an empty Map still costs a hash table (issue 18, RSS per client).
  #inboundQos2: Set<number> | undefined;
  readonly window = new CreditWindow(65535);
  #outbound: Map<number, Outbound> | undefined;
  readonly #consumers = new Map<string, ConsumerHandle>();
  #nextId = 0;
  /** (queue, topic) → the subscriptions a delivery from that queue on that topic matches. */
  #matchCache: Map<string, Map<string, Subscription[]>> | undefined;
  #matchCacheSize = 0;
  /** QoS 0-only queues whose consumer is paused while the socket is congested. */
  #pausedQueues: Set<string> | undefined;
  /** QoS 0 deliveries from a windowed (QoS 1) consumer sent while congested: acked on drain, so the window bounds them. */
  #deferredAcks: Delivery[] | undefined;
  #queue0: string | undefined;
  /** The QoS 0 queue still holds what came while the session was away (see #awaitQueue0Drained). */
  #queue0Backlog = false;
  #queue1: string | undefined;
  #pendingWill: { timer: NodeJS.Timeout; fire: () => void; dropped?: () => void } | undefined;
  link: SessionLink | undefined;
  /** When its latest connection opened it (ms since the epoch). */
  connectedAt = Date.now();

  constructor(
    readonly vhost: VirtualHost,
    readonly clientId: string,
    /** Unique per incarnation: engine holder and owner of the session's consumers. */
    readonly holder: string,
    public expiryIntervalSec: number,
    /** Failures of settles and clean-up nobody waits on. */
    private readonly report: ErrorReport,
    /**
     * Shared store, a session that ends with its connection: its queues' names carry this tag, so
     * a client whose node crashed gets fresh queues on another node at once instead of waiting
     * for the dead node's exclusive ones to lapse (nothing is in them to keep).
     */
    readonly queueTag?: string,
  ) {
    this.subscriptions.onChange = () => {
      this.#matchCache = undefined;
      this.#matchCacheSize = 0;
    };
  }

  /** QoS 2 packet ids received and not yet released (PUBREL) by the client. */
  get inboundQos2(): Set<number> {
    return (this.#inboundQos2 ??= new Set());
  }

  get persistent(): boolean {
    return this.expiryIntervalSec > 0;
  }

  get inFlight(): number {
    return this.#outbound?.size ?? 0;
  }

  /** The per-session queues, RabbitMQ plugin style: one for QoS 0 subscriptions, one for QoS 1/2. */
  ownQueue(qos: QoS): string {
    // Named once: a fresh string per delivery would be hashed anew by every map it is looked up in.
    if (qos === 0) return (this.#queue0 ??= sessionQueue(this.clientId, 0, this.queueTag));
    return (this.#queue1 ??= sessionQueue(this.clientId, 1, this.queueTag));
  }

  // ---------------------------------------------------------------- will delay

  /**
   * MQTT 5 Will Delay: the will goes out later unless the client comes back first. `dropped`
   * runs when it is cancelled instead.
   */
  deferWill(ms: number, fire: () => void, dropped?: () => void): void {
    this.cancelWill();
    const timer = setTimeout(() => {
      this.#pendingWill = undefined;
      fire();
    }, ms);
    timer.unref();
    this.#pendingWill = { timer, fire, ...(dropped ? { dropped } : {}) };
  }

  cancelWill(): void {
    const pending = this.#pendingWill;
    this.#pendingWill = undefined;
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.dropped?.();
  }

  /** The session ends before the will delay: the will goes now [MQTT-3.1.3-9]. */
  fireWillNow(): void {
    const pending = this.#pendingWill;
    this.#pendingWill = undefined;
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.fire();
  }

  // ---------------------------------------------------------------- connections

  /** A connection takes the session: resend what is in flight, then start consuming. */
  attach(link: SessionLink): void {
    this.link = link;
    this.window.limit = link.receiveMaximum;
    this.window.used = 0;
    for (const entry of this.#outbound?.values() ?? []) {
      if (entry.delivery) {
        entry.carried = true;
        this.window.used++;
      }
      if (entry.state === 'released') link.send({ cmd: 'pubrel', messageId: entry.packet.messageId! });
      else link.send({ ...entry.packet, dup: true });
    }
    for (const queue of new Set([...this.subscriptions.values()].map((s) => s.queue)))
      this.startConsumer(queue);
    if (this.persistent && this.vhost.hasQueue(this.ownQueue(0))) {
      this.#queue0Backlog = true;
      void reported(this.#awaitQueue0Drained(link), this.report);
    }
  }

  /**
   * What the QoS 0 queue collected while the session had no connection goes out first: until it
   * is drained, copies published here queue behind it instead of overtaking it [MQTT-4.6.0-6].
   */
  async #awaitQueue0Drained(link: SessionLink): Promise<void> {
    const queue = this.ownQueue(0);
    while (this.link === link && this.vhost.hasQueue(queue)) {
      const { ready, inFlight } = await this.vhost.count(queue);
      if (ready + inFlight === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (this.link === link) this.#queue0Backlog = false;
  }

  /** The connection went: stop consuming; a persistent session keeps what it holds for the next one. */
  async detach(): Promise<void> {
    this.link = undefined;
    this.#pausedQueues = undefined;
    this.#flushDeferredAcks();
    const handles = [...this.#consumers.values()];
    this.#consumers.clear();
    await Promise.all(handles.map((h) => reported(h.cancel({ release: !this.persistent }), this.report)));
  }

  /** Ends the session for good: what it held goes back (to shared queues) or away with its own queues. */
  async end(): Promise<void> {
    await this.detach();
    this.#outbound = undefined;
    await reported(this.vhost.releaseOwner(this.holder), this.report);
  }

  #qos0Only(queue: string): boolean {
    for (const s of this.subscriptions.values()) if (s.queue === queue && s.qos !== 0) return false;
    return true;
  }

  startConsumer(queue: string): void {
    if (!this.link || this.#consumers.has(queue) || !this.vhost.hasQueue(queue)) return;
    const qos0 = this.#qos0Only(queue);
    const handle: ConsumerHandle = this.vhost.consume(queue, (d) => this.#onDelivery(d, qos0), {
      holder: this.holder,
      owner: this.holder,
      autoAck: qos0,
      ...(qos0 ? {} : { window: this.window }),
      onCancel: () => {
        if (this.#consumers.get(queue) === handle) this.#consumers.delete(queue);
      },
    });
    this.#consumers.set(queue, handle);
    if (qos0 && this.link.congested) {
      handle.pause();
      (this.#pausedQueues ??= new Set()).add(queue);
    }
  }

  /**
   * The connection's socket went over (true) or back under (false) its write high mark. QoS 0
   * consumers have no credit window, so they pause and their messages wait in the queue (where
   * the broker's memory watermark counts them) instead of piling up in the socket's buffer.
   * Paused, not cancelled: the pressure may come and go within a few turns, and a consumer
   * restarted each time would race its own cancellation. QoS 1/2 consumers are bounded by the
   * Receive Maximum window already.
   */
  outputCongested(congested: boolean): void {
    if (!this.link) return;
    if (congested) {
      for (const [queue, handle] of this.#consumers) {
        if (!this.#qos0Only(queue) || this.#pausedQueues?.has(queue)) continue;
        handle.pause();
        (this.#pausedQueues ??= new Set()).add(queue);
      }
      return;
    }
    for (const queue of this.#pausedQueues ?? []) this.#consumers.get(queue)?.resume();
    this.#pausedQueues = undefined;
    this.#flushDeferredAcks();
  }

  #flushDeferredAcks(): void {
    const acks = this.#deferredAcks;
    if (acks === undefined) return;
    this.#deferredAcks = undefined;
    void reported(this.vhost.ack(acks), this.report);
  }

  #matching(queue: string, topic: string): Subscription[] {
    let byTopic = this.#matchCache?.get(queue);
    let found = byTopic?.get(topic);
    if (found) return found;
    found = [];
    for (const s of this.subscriptions.values())
      if (s.queue === queue && mqttTopicMatches(s.parsed.filter, topic)) found.push(s);
    if (this.#matchCacheSize >= MATCH_CACHE_SIZE) {
      this.#matchCache = undefined;
      this.#matchCacheSize = 0;
      byTopic = undefined;
    }
    if (!byTopic) (this.#matchCache ??= new Map()).set(queue, (byTopic = new Map()));
    byTopic.set(topic, found);
    this.#matchCacheSize++;
    return found;
  }

  async stopConsumer(queue: string): Promise<void> {
    const handle = this.#consumers.get(queue);
    this.#consumers.delete(queue);
    this.#pausedQueues?.delete(queue);
    await handle?.cancel({ release: true });
  }

  // ---------------------------------------------------------------- outbound

  #onDelivery(delivery: Delivery, autoAcked: boolean): void {
    const settle = (): void => {
      if (!autoAcked) void reported(this.vhost.ack(delivery), this.report);
    };
    const link = this.link;
    if (!link) {
      // Arrived while the connection was going: back to the queue for the session's next connection.
      if (!autoAcked) void reported(this.vhost.nack(delivery, { requeue: true }), this.report);
      return;
    }
    // Shared store: held by a node that let go of the session (takeover, crash) and sent again.
    const dup = delivery.redelivered && this.vhost.store.cluster !== undefined;
    const packet = this.#packetFor(link, delivery.queue, delivery.message, dup);
    if (packet === undefined) return settle();
    if (packet.qos === 0) {
      link.send(packet);
      if (!autoAcked && link.congested) (this.#deferredAcks ??= []).push(delivery);
      else settle();
      return;
    }
    if (autoAcked) return void link.send({ ...packet, qos: 0 });
    packet.messageId = this.#allocateId();
    if (!link.send(packet)) return settle(); // over the client's Maximum Packet Size: dropped [MQTT-3.1.2-25]
    (this.#outbound ??= new Map()).set(packet.messageId, {
      packet,
      delivery,
      state: 'published',
      carried: false,
    });
  }

  /**
   * A copy for this session's QoS 0 queue published on this node, written to the socket at once
   * instead of through the queue (see Qos0Direct). Past `bufferLimit` bytes waiting for the client
   * it is dropped, as MQTT allows for QoS 0. Returns 'stored' when there is no connection to write
   * to: then the queue keeps it for the next one.
   */
  deliverDirect(
    message: MessageData,
    bufferLimit: number,
    copies: EncodedCopies,
  ): 'sent' | 'dropped' | 'stored' {
    const link = this.link;
    if (!link || this.#queue0Backlog) return 'stored';
    const packet = this.#packetFor(link, this.ownQueue(0), message, false, copies.topic);
    if (packet === undefined) return 'sent'; // no-local, or expired: nothing to send
    if (link.bufferedBytes > bufferLimit) return 'dropped';
    // The same bytes for every subscriber that gets the plain packet: encoded once per publish,
    // or the received PUBLISH itself when nothing about it changes.
    if (packet.properties === undefined && !link.aliasesTopics) {
      const v5 = link.version === 5;
      let bytes = copies.get(v5, packet.retain);
      if (bytes === undefined) {
        bytes = encodePublish(packet, link.version);
        if (bytes !== undefined) copies.set(v5, packet.retain, bytes);
      }
      if (bytes !== undefined) {
        link.sendEncoded(bytes);
        return 'sent';
      }
    }
    link.send(packet);
    return 'sent';
  }

  /**
   * The PUBLISH for a message from one of the session's queues, as its matching subscriptions
   * want it (QoS, no-local, retain as published, subscription ids); undefined when none wants it
   * or it has expired.
   */
  #packetFor(
    link: SessionLink,
    queue: string,
    message: MessageData,
    dup: boolean,
    topic = routingKeyToTopic(message.routingKey),
  ): IPublishPacket | undefined {
    const all = this.#matching(queue, topic);
    const matches =
      all.length > 0 && all.some((s) => s.noLocal) && publisherOf(message) === this.clientId
        ? all.filter((s) => !s.noLocal)
        : all;
    if (matches.length === 0) return undefined;
    const properties = link.version === 5 ? toPublishProperties(message, Date.now()) : {};
    if (properties === undefined) return undefined;
    let maxQos = 0;
    for (const s of matches) if (s.qos > maxQos) maxQos = s.qos;
    const qos = Math.min(publishedQos(message), maxQos) as QoS;
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic,
      payload: asBuffer(message.body),
      qos,
      dup: qos > 0 && dup,
      retain: message.properties.headers?.[H.retain] === true && matches.some((s) => s.retainAsPublished),
    };
    if (link.version === 5) {
      const ids = matches.flatMap((s) => (s.subscriptionId === undefined ? [] : [s.subscriptionId]));
      if (ids.length > 0) properties.subscriptionIdentifier = ids.length === 1 ? ids[0]! : ids;
      if (Object.keys(properties).length > 0) packet.properties = properties;
    }
    return packet;
  }

  /** Retained messages for a new subscription: sent directly, not through the queue. */
  sendRetained(messages: RetainedMessage[], sub: Subscription): void {
    const link = this.link;
    if (!link) return;
    for (const m of messages) {
      const qos = Math.min(m.qos, sub.qos) as QoS;
      const packet: IPublishPacket = {
        cmd: 'publish',
        topic: m.topic,
        payload: Buffer.from(m.payload),
        qos,
        dup: false,
        retain: true,
      };
      if (link.version === 5) {
        const props: NonNullable<IPublishPacket['properties']> = {
          ...(m.properties as IPublishPacket['properties']),
        };
        if (m.expiresAt !== undefined)
          props.messageExpiryInterval = Math.max(1, Math.ceil((m.expiresAt - Date.now()) / 1000));
        if (sub.subscriptionId !== undefined) props.subscriptionIdentifier = sub.subscriptionId;
        if (Object.keys(props).length > 0) packet.properties = props;
      }
      if (qos > 0) packet.messageId = this.#allocateId();
      if (link.send(packet) && qos > 0)
        (this.#outbound ??= new Map()).set(packet.messageId!, { packet, state: 'published', carried: false });
    }
  }

  #allocateId(): number {
    for (let i = 0; i < 65535; i++) {
      this.#nextId = (this.#nextId % 65535) + 1;
      if (!this.#outbound?.has(this.#nextId)) return this.#nextId;
    }
    return this.#nextId; // 65535 in flight: the client's receive maximum makes this unreachable
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the message is done. Returns false for an unknown id. */
  complete(packetId: number): boolean {
    const outbound = this.#outbound;
    const entry = outbound?.get(packetId);
    if (!outbound || !entry) return false;
    outbound.delete(packetId);
    if (entry.delivery) {
      if (entry.carried) this.window.used = Math.max(0, this.window.used - 1);
      void reported(this.vhost.ack(entry.delivery), this.report);
    }
    return true;
  }

  /** PUBREC: only PUBREL is resent from now on. Returns false for an unknown id. */
  received(packetId: number): boolean {
    const entry = this.#outbound?.get(packetId);
    if (!entry || entry.packet.qos !== 2) return false;
    entry.state = 'released';
    return true;
  }

  record(): { clientId: string; expiryIntervalSec: number; subscriptions: MqttSubscriptionRecord[] } {
    const subscriptions = [...this.subscriptions.values()].map(({ parsed: _p, queue: _q, ...rest }) => rest);
    return { clientId: this.clientId, expiryIntervalSec: this.expiryIntervalSec, subscriptions };
  }
}

/** The per-session queues, RabbitMQ plugin style: one for QoS 0 subscriptions, one for QoS 1/2. */
export function sessionQueue(clientId: string, qos: QoS, tag?: string): string {
  const name = `mqtt-subscription-${clientId}qos${qos === 0 ? 0 : 1}`;
  return tag === undefined ? name : `${name}-${tag}`;
}

/** A view of the message body, not a copy (the body is never written to). */
function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
