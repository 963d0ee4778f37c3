import {
  generate,
  parser as createParser,
  type IConnectPacket,
  type IPublishPacket,
  type Packet,
  type Parser,
} from 'mqtt-packet';
import type { Principal } from '@conveyor/core';
import type { SocketTransport } from '@conveyor/core/internal';
import type { MqttContext } from './context.js';
import { decodePublish, decodeShortAck, encodeAck, encodePublish, PacketSplitter } from './codec/index.js';
import { handleConnect } from './handlers/connect.js';
import { handleDisconnect, handlePingreq } from './handlers/control.js';
import {
  handlePuback,
  handlePubcomp,
  handlePublish,
  handlePubrec,
  handlePubrel,
} from './handlers/publish.js';
import { handleSubscribe, handleUnsubscribe } from './handlers/subscribe.js';
import { RC } from './reason-codes.js';
import type { MqttSession, SessionLink } from './session.js';
import { publishWill, type Will } from './will.js';
import { reported } from './background.js';

export type ProtocolVersion = 3 | 4 | 5;

/** Where a connection is in its life; every packet is checked against it first. */
export type ConnectionState =
  | { kind: 'awaiting-connect' }
  | { kind: 'connecting' }
  | { kind: 'connected'; session: MqttSession; clientId: string }
  | { kind: 'closed' };

const MAX_QUEUED_PACKETS = 256;
/** Reading paused because a subscriber this connection publishes to cannot keep up. */
const SUBSCRIBER_BEHIND = 'subscriber-behind';
/**
 * How long publishers wait for a congested subscriber's socket to drain. One that reads at all
 * drains its high mark in far less; past this it is behind, nobody waits on it until it drains,
 * and its QoS 0 copies past the buffer limit are dropped (a stuck client must not stop the others).
 */
const SUBSCRIBER_STALL_MS = 500;
const ACKS = new Set(['puback', 'pubrec', 'pubrel', 'pubcomp']);

/** One MQTT client connection: bytes → packets → one handler per packet type, and back. */
export class MqttConnection implements SessionLink {
  // The connection's state is its own: handlers read it through getters and change it through the
  // named steps below (CONNECT's, the inbound flow control, topic aliases), never by assignment.
  #state: ConnectionState = { kind: 'awaiting-connect' };
  #version: ProtocolVersion = 4;
  #receiveMaximum: number;
  /** Client's Maximum Packet Size (MQTT 5). */
  #clientMaxPacketBytes = Number.POSITIVE_INFINITY;
  #will: Will | undefined;
  /** Who it authenticated as at CONNECT; undefined before. */
  #principal: Principal | undefined;
  /** Shared store: the key of the will's copy in the store. */
  #willKey: string | undefined;
  /** Client's QoS 1/2 publishes not yet acknowledged (QoS 1) or released (QoS 2): bounded by our Receive Maximum. */
  #inboundInFlight = 0;
  // The maps and sets here are made on first use: an idle client never needs them (issue 18).
  /** Topic aliases the client set on its publishes (ours to resolve). */
  #topicAliases: Map<number, string> | undefined;
  /** The client's Topic Alias Maximum (MQTT 5): how many aliases we may use on our publishes to it. */
  #topicAliasMaximumOut = 0;
  /** Topics we gave an alias on this connection, with that alias. */
  #aliasesOut: Map<string, number> | undefined;
  /** QoS 1/2 acks go out in the order their publishes came in, each after its engine publish resolved. */
  #ackChain: Promise<void> = Promise.resolve();
  readonly #parser: Parser;
  readonly #splitter: PacketSplitter;
  #work: Promise<void> = Promise.resolve();
  /** Packets mqtt-packet's parser emitted: one per whole packet given to it, or that packet is malformed. */
  #parsed = 0;
  #queued = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  #keepAliveSeconds = 0;
  /**
   * Packets held while the broker's memory alarm is up: from the first PUBLISH on, in order, with
   * the socket paused. Undefined while nothing is held.
   */
  #held: Packet[] | undefined;
  /** The packet being handled as it is decoded, and its bytes (a view into the socket chunk). */
  #framed: Packet | undefined;
  #frame: Buffer | undefined;
  /** Publishing connections paused until this one's socket drains (QoS 0 sent straight to it). */
  #drainWaiters: Set<MqttConnection> | undefined;
  /** Subscribers' sockets this connection waits on before it reads again. */
  #waitingOn = 0;
  /** Publishers waited SUBSCRIBER_STALL_MS for this socket to drain: nobody waits on it until it does. */
  #behind = false;
  #stallTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ctx: MqttContext,
    readonly transport: SocketTransport,
    private readonly onClosed: (conn: MqttConnection) => void,
  ) {
    this.#receiveMaximum = ctx.defaultInflight;
    this.#splitter = new PacketSplitter(ctx.maxPacketBytes);
    this.#parser = createParser();
    this.#parser.on('packet', (packet: Packet) => {
      this.#parsed++;
      this.#enqueue(packet);
    });
    this.#parser.on('error', () => this.close(RC.malformedPacket));
    const stream = transport.stream;
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('error', () => this.close(undefined));
    stream.on('close', () => this.close(undefined));
    stream.on('end', () => this.close(undefined));
    transport.onWritePressure((congested) => {
      if (!congested) {
        this.#behind = false;
        this.#releaseWaiters();
      }
      const state = this.#state;
      if (state.kind === 'connected' && state.session.link === this) state.session.outputCongested(congested);
    });
    // A client has a few seconds to send CONNECT.
    this.setKeepAlive(10 / 1.5);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get version(): ProtocolVersion {
    return this.#version;
  }

  /** Client's Receive Maximum: QoS 1/2 publishes it takes unacknowledged. */
  get receiveMaximum(): number {
    return this.#receiveMaximum;
  }

  get principal(): Principal | undefined {
    return this.#principal;
  }

  // ---------------------------------------------------------------- CONNECT's steps

  /** A CONNECT arrived: no other packet is handled until it is answered. */
  beginConnect(version: ProtocolVersion): void {
    this.#state = { kind: 'connecting' };
    this.#version = version;
  }

  authenticated(principal: Principal): void {
    this.#principal = principal;
  }

  /** The client's own limits from its MQTT 5 CONNECT. */
  clientLimits(limits: { receiveMaximum: number; maxPacketBytes?: number; topicAliasMaximum: number }): void {
    this.#receiveMaximum = limits.receiveMaximum;
    if (limits.maxPacketBytes !== undefined) this.#clientMaxPacketBytes = limits.maxPacketBytes;
    this.#topicAliasMaximumOut = limits.topicAliasMaximum;
  }

  /** The will published if the connection ends without DISCONNECT; `key`: its copy in a shared store. */
  setWill(will: Will, key?: string): void {
    this.#will = will;
    if (key !== undefined) this.#willKey = key;
  }

  /** CONNACK goes out: packets of the session are handled from now on. */
  connected(session: MqttSession, clientId: string): void {
    this.#state = { kind: 'connected', session, clientId };
  }

  // ---------------------------------------------------------------- inbound flow

  /** A QoS 1/2 PUBLISH (5.0) starts: false when it is one more than our Receive Maximum [MQTT-3.3.4-8]. */
  admitInbound(): boolean {
    return ++this.#inboundInFlight <= this.ctx.receiveMaximum;
  }

  /** A QoS 1/2 PUBLISH (5.0) was acknowledged or released. */
  inboundDone(): void {
    this.#inboundInFlight = Math.max(0, this.#inboundInFlight - 1);
  }

  /**
   * A PUBLISH's topic alias [MQTT-3.3.2.3.4]: with a topic, it is set (and the topic returned);
   * without one, the topic it stands for, or undefined when it was never set.
   */
  resolveTopicAlias(alias: number, topic: string): string | undefined {
    if (topic !== '') {
      (this.#topicAliases ??= new Map()).set(alias, topic);
      return topic;
    }
    return this.#topicAliases?.get(alias);
  }

  #onData(chunk: Buffer): void {
    if (this.#state.kind === 'closed') return;
    this.#keepAlive?.refresh();
    const result = this.#splitter.push(chunk, this.#onPacketBytes);
    if (result === 'too-large') this.close(RC.packetTooLarge);
    else if (result === 'malformed') this.close(RC.malformedPacket);
  }

  /** One whole packet: PUBLISH without properties decoded here, everything else by mqtt-packet. */
  readonly #onPacketBytes = (frame: Buffer): void => {
    if (this.#state.kind === 'closed') return;
    if (this.#state.kind === 'connected') {
      const fast =
        frame[0]! >> 4 === 3 ? decodePublish(frame, this.#version) : decodeShortAck(frame, this.#version);
      if (fast) {
        this.#frame = frame;
        this.#framed = fast;
        this.#enqueue(fast);
        this.#framed = undefined;
        return;
      }
    }
    const before = this.#parsed;
    try {
      this.#parser.parse(frame);
    } catch {
      return this.close(RC.malformedPacket);
    }
    // A whole packet the parser did not finish (e.g. a PUBREC of length 0) would swallow the
    // next packet's bytes as its own.
    if (this.#parsed === before) this.close(RC.malformedPacket);
  };

  /**
   * Queues an acknowledgement behind the earlier ones (`step` may wait for its engine call). A
   * failure inside ends the connection and is reported; it never leaves a rejected chain behind.
   */
  queueAck(step: () => Promise<void> | void): void {
    this.#ackChain = this.#ackChain.then(step).catch((err: unknown) => this.fail(err));
  }

  /** A failure we did not expect while handling this client: reported, and the connection ends. */
  fail(err: unknown): void {
    this.ctx.reportError(err);
    this.close(RC.unspecifiedError);
  }

  /** The user name it authenticated as ('' before CONNECT). */
  get username(): string {
    return this.#principal?.username ?? '';
  }

  /** The socket's write buffer is over its high mark (QoS 0 output waits). */
  get congested(): boolean {
    return this.transport.congested;
  }

  /** The bytes `packet` arrived as, while it is handled straight from the socket; else undefined. */
  frameOf(packet: Packet): Buffer | undefined {
    return packet === this.#framed ? this.#frame : undefined;
  }

  get bufferedBytes(): number {
    return this.transport.bufferedBytes;
  }

  get aliasesTopics(): boolean {
    return this.#topicAliasMaximumOut > 0;
  }

  sendEncoded(bytes: Buffer): void {
    if (bytes.length <= this.#clientMaxPacketBytes) this.transport.write(bytes);
  }

  /**
   * QoS 0 from this connection went straight to `subscriber`, whose socket is over its high mark:
   * this one reads no more until that socket drains (or closes). The publisher is slowed by the
   * slowest subscriber's backpressure before anything is dropped, as with Mosquitto's socket.
   */
  slowFor(subscriber: SessionLink): void {
    if (!(subscriber instanceof MqttConnection) || subscriber === this || subscriber.#behind) return;
    if (subscriber.#drainWaiters?.has(this) || subscriber.state.kind === 'closed') return;
    (subscriber.#drainWaiters ??= new Set()).add(this);
    subscriber.#stallTimer ??= setTimeout(() => {
      subscriber.#behind = true;
      subscriber.#releaseWaiters();
    }, SUBSCRIBER_STALL_MS).unref();
    if (this.#waitingOn++ === 0) this.transport.pauseReading(SUBSCRIBER_BEHIND);
  }

  /** Drained (or closed): publishers waiting on this socket read again. */
  #releaseWaiters(): void {
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    for (const waiter of this.#drainWaiters ?? [])
      if (--waiter.#waitingOn === 0) waiter.transport.resumeReading(SUBSCRIBER_BEHIND);
    this.#drainWaiters = undefined;
  }

  /**
   * Packets are handled one at a time, in order; reading stops while too many wait. A handler
   * that finishes synchronously (PUBLISH, acks, PINGREQ) runs at once when nothing is pending:
   * no promise per packet on the hot path.
   */
  #enqueue(packet: Packet): void {
    if (this.#held !== undefined) {
      this.#held.push(packet);
      return;
    }
    if (packet.cmd === 'publish' && this.ctx.publishersBlocked()) return this.#hold(packet);
    if (this.#queued === 0) {
      let pending: Promise<void> | void;
      try {
        pending = this.#dispatch(packet);
      } catch (err) {
        return this.fail(err);
      }
      if (pending === undefined) return;
      this.#track(pending);
      return;
    }
    this.#track(this.#work.then(() => this.#dispatch(packet)));
  }

  /**
   * Memory alarm, as RabbitMQ's reader does it: only a connection that publishes is stopped, at its
   * PUBLISH; the others (a CONNECT, a subscriber's PUBACKs, PINGREQ) go on being read so that the
   * queues holding the memory can drain. A held connection's keep-alive is suspended meanwhile.
   */
  #hold(packet: Packet): void {
    this.#held = [packet];
    this.transport.pauseReading('blocked');
    if (this.#keepAlive) clearTimeout(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  /** The memory alarm cleared: what was held is handled in order, reading and keep-alive resume. */
  unblocked(): void {
    const held = this.#held;
    if (held === undefined || this.#state.kind === 'closed') return;
    this.#held = undefined;
    this.setKeepAlive(this.#keepAliveSeconds);
    for (const packet of held) this.#enqueue(packet);
    // Held again by a new alarm: the socket stays paused.
    if (this.#held === undefined) this.transport.resumeReading('blocked');
  }

  #track(work: Promise<void>): void {
    if (++this.#queued === MAX_QUEUED_PACKETS) this.transport.pauseReading('busy');
    this.#work = work
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        if (--this.#queued === MAX_QUEUED_PACKETS - 1) this.transport.resumeReading('busy');
      });
  }

  #dispatch(packet: Packet): Promise<void> | void {
    const state = this.#state;
    switch (state.kind) {
      case 'closed':
        return;
      case 'connecting':
        return; // unreachable: CONNECT is handled to the end before the next packet
      case 'awaiting-connect':
        if (packet.cmd !== 'connect') return this.close(undefined); // [MQTT-3.1.0-1]
        return handleConnect(this, packet as IConnectPacket);
      case 'connected':
        // An ack of remaining length 0 parses (packet id -1), but is malformed [MQTT-2.2.1].
        if (ACKS.has(packet.cmd) && !validPacketId((packet as { messageId?: number }).messageId))
          return this.close(RC.malformedPacket);
        switch (packet.cmd) {
          case 'publish':
            return handlePublish(this, state.session, packet);
          case 'puback':
            return handlePuback(this, state.session, packet);
          case 'pubrec':
            return handlePubrec(this, state.session, packet);
          case 'pubrel':
            return handlePubrel(this, state.session, packet);
          case 'pubcomp':
            return handlePubcomp(this, state.session, packet);
          case 'subscribe':
            return handleSubscribe(this, state.session, packet);
          case 'unsubscribe':
            return handleUnsubscribe(this, state.session, packet);
          case 'pingreq':
            return handlePingreq(this);
          case 'disconnect':
            return handleDisconnect(this, state.session, packet);
          default:
            return this.close(RC.protocolError); // a second CONNECT [MQTT-3.1.0-2], or a server-only packet
        }
    }
  }

  /** Encodes and queues a packet; false when it is over the client's Maximum Packet Size or cannot be encoded. */
  send(packet: Packet): boolean {
    if (this.transport.closed) return true;
    // mqtt-packet writes a 4-byte ack for an absent 5.0 reason code; 0 gives the short form clients expect.
    if (
      this.#version === 5 &&
      ACKS.has(packet.cmd) &&
      (packet as { reasonCode?: number }).reasonCode === undefined
    ) {
      packet = { ...packet, reasonCode: 0 } as Packet;
    }
    let aliased: string | undefined;
    if (packet.cmd === 'publish' && this.#topicAliasMaximumOut > 0)
      ({ packet, aliased } = this.#alias(packet));
    let bytes: Buffer | undefined;
    try {
      bytes = packet.cmd === 'publish' ? encodePublish(packet, this.#version) : encodeAck(packet);
      bytes ??= generate(packet, { protocolVersion: this.#version });
      // On a field it cannot write, generate returns what it wrote so far instead of throwing.
      if (!wholePacket(bytes)) return false;
    } catch {
      return false; // a packet mqtt-packet cannot encode is dropped like an oversized one
    }
    if (bytes.length > this.#clientMaxPacketBytes) return false;
    this.transport.write(bytes);
    // Only once the client has it: a later publish may then send the alias alone.
    if (aliased !== undefined) {
      const aliases = (this.#aliasesOut ??= new Map());
      aliases.set(aliased, aliases.size + 1);
    }
    return true;
  }

  /**
   * Outgoing topic aliases [MQTT-3.3.2.3.4]: a topic already sent on this connection goes as its
   * alias with an empty name; a new one gets the next alias while there are any left (no
   * reassignment). A new packet object: stored in-flight packets keep their topic for a resend
   * on another connection.
   */
  #alias(packet: IPublishPacket): { packet: IPublishPacket; aliased?: string } {
    const { topic } = packet;
    if (topic === '') return { packet };
    const known = this.#aliasesOut?.get(topic);
    if (known !== undefined)
      return { packet: { ...packet, topic: '', properties: { ...packet.properties, topicAlias: known } } };
    const used = this.#aliasesOut?.size ?? 0;
    if (used >= this.#topicAliasMaximumOut) return { packet };
    const alias = used + 1;
    return { packet: { ...packet, properties: { ...packet.properties, topicAlias: alias } }, aliased: topic };
  }

  /** Keep-alive ×1.5 without a packet: the peer is dead [MQTT-3.1.2-22]. */
  setKeepAlive(seconds: number): void {
    if (this.#keepAlive) clearTimeout(this.#keepAlive);
    this.#keepAlive = undefined;
    this.#keepAliveSeconds = seconds;
    if (seconds <= 0 || this.#held !== undefined) return;
    this.#keepAlive = setTimeout(() => this.close(RC.keepAliveTimeout), seconds * 1500);
    this.#keepAlive.unref();
  }

  takeover(): void {
    this.close(RC.sessionTakenOver);
  }

  /**
   * Ends the connection. With a reason code, an MQTT 5 client that completed CONNECT is told why.
   * Unless the client sent a normal DISCONNECT, its will is published.
   */
  close(reason: number | undefined, options: { publishWill?: boolean } = {}): void {
    const state = this.#state;
    if (state.kind === 'closed') return;
    this.#state = { kind: 'closed' };
    if (this.#keepAlive) clearTimeout(this.#keepAlive);
    if (reason !== undefined && state.kind === 'connected' && this.#version === 5) {
      this.send({ cmd: 'disconnect', reasonCode: reason });
    }
    this.transport.end();
    this.#releaseWaiters();
    this.#parser.removeAllListeners('packet');
    if (state.kind === 'connected') {
      const will = options.publishWill === false ? undefined : this.#will;
      const session = state.session;
      if (will) publishWill(this.ctx, session, will, this.#willKey);
      else if (this.#willKey !== undefined) this.ctx.wills?.remove(this.#willKey);
      void reported(this.ctx.sessions.disconnected(session), this.ctx.reportError);
    }
    this.onClosed(this);
  }
}

/** True when the buffer is exactly one packet: its fixed header's remaining length matches. */
function wholePacket(bytes: Buffer): boolean {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i < bytes.length && i <= 4; i++) {
    remaining += (bytes[i]! & 0x7f) * multiplier;
    multiplier *= 128;
    if ((bytes[i]! & 0x80) === 0) return bytes.length === i + 1 + remaining;
  }
  return false;
}

function validPacketId(id: number | undefined): boolean {
  return id !== undefined && Number.isInteger(id) && id >= 1 && id <= 0xffff;
}
