/**
 * One AMQP 0-9-1 connection: bytes in → frames → commands, checked against the connection state, then
 * handled here (class connection, channel open/close) or by the channel they belong to.
 * Transport-agnostic: the socket layer feeds `receive` and calls `transportClosed`.
 */
import { randomBytes } from 'node:crypto';
import type { Authenticator, Broker, Principal, VirtualHost } from '@conveyor/core';
import {
  ClassId,
  CommandAssembler,
  createMethod,
  encodeMethodFrame,
  FRAME_MIN_SIZE,
  FrameParser,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  type AmqpFrame,
  type AmqpMethod,
  type ParserEvent,
  ReplyCode,
} from '../codec/index.js';
import { AmqpChannel, type ChannelHost } from './channel.js';
import type { ConnectionState, Transport } from './connection-state.js';
import { AmqpProtocolError, replyText, toReply, type MethodRef, type Reply } from './protocol-error.js';
import { negotiate, startMethod, type Tuning } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { parseSaslResponse } from './sasl.js';
import { clientCapabilities, type ClientCapabilities } from './server-properties.js';

export interface ConnectionSettings {
  broker: Broker;
  /** Who may log in, and what each may do. */
  authenticator: Authenticator;
  frameMax: number;
  channelMax: number;
  heartbeatSeconds: number;
  maxMessageBytes: number;
  /** Publishes awaiting the engine above which the connection stops reading. */
  maxPendingPublishes: number;
  handshakeTimeoutMs: number;
  closeTimeoutMs: number;
  onClosed: (connection: AmqpConnection) => void;
  onError: (err: unknown) => void;
}

const NO_METHOD: MethodRef = { classId: 0, methodId: 0 };
const START_OK: MethodRef = { classId: 10, methodId: 11 };
let connectionSeq = 0;

export class AmqpConnection implements ChannelHost {
  readonly owner = `amqp:${++connectionSeq}:${randomBytes(6).toString('hex')}`;
  #state: ConnectionState = { kind: 'awaiting-header' };
  readonly #parser = new FrameParser({ frameMax: FRAME_MIN_SIZE });
  readonly #assembler = new CommandAssembler();
  readonly #channels = new Map<number, AmqpChannel>();
  frameMax = FRAME_MIN_SIZE;
  channelMax: number;
  capabilities: ClientCapabilities = {
    consumerCancelNotify: false,
    connectionBlocked: false,
    specQos: false,
  };
  readonly #heartbeat = new Heartbeat(
    () => this.#write(HEARTBEAT_FRAME),
    () => this.#abort(),
  );
  #deadline: NodeJS.Timeout | undefined;
  #pendingPublishes = 0;
  #publisher = false;
  /** The method being handled, for connection.close's class-id / method-id. */
  #ref: MethodRef = NO_METHOD;
  #released: Promise<void> | undefined;
  readonly #closedWaiters: (() => void)[] = [];

  constructor(
    private readonly transport: Transport,
    private readonly settings: ConnectionSettings,
  ) {
    this.channelMax = settings.channelMax;
    this.#deadline = setTimeout(() => this.#abort(), settings.handshakeTimeoutMs).unref();
    transport.onWritePressure?.((high) => this.#onWritePressure(high));
  }

  /** True while the socket's write buffer is over its high watermark. */
  writePressure = false;

  /** A slow reader: its consumers stop taking deliveries until its socket drains (memory stays bounded). */
  #onWritePressure(high: boolean): void {
    this.writePressure = high;
    for (const ch of this.#channels.values()) {
      for (const c of ch.consumers.values()) {
        if (high) c.handle.pause();
        else c.handle.resume();
      }
    }
  }

  get state(): ConnectionState['kind'] {
    return this.#state.kind;
  }

  get vhost(): VirtualHost {
    const s = this.#state;
    if (s.kind === 'open' || (s.kind === 'closing' && s.vhost)) return s.vhost!;
    throw new AmqpProtocolError(ReplyCode.CHANNEL_ERROR, 'connection not open');
  }

  /** Channels open now (management API). */
  get channelCount(): number {
    return this.#channels.size;
  }

  get username(): string {
    return this.principal?.username ?? '';
  }

  /** The open connection's user (channels exist only then). */
  get access(): Principal {
    const principal = this.principal;
    if (principal === undefined) throw new AmqpProtocolError(ReplyCode.CHANNEL_ERROR, 'connection not open');
    return principal;
  }

  /** Who the connection authenticated as; undefined before start-ok. */
  get principal(): Principal | undefined {
    const s = this.#state;
    return 'principal' in s ? s.principal : undefined;
  }

  // ---------------------------------------------------------------- input

  receive(chunk: Buffer): void {
    this.#heartbeat.received();
    for (const event of this.#parser.push(chunk)) {
      if (this.#state.kind === 'closed') return;
      try {
        this.#onEvent(event);
      } catch (err) {
        this.#hardError(err, this.#ref);
      }
    }
  }

  #onEvent(event: ParserEvent): void {
    switch (event.type) {
      case 'protocol-header':
        this.#write(encodeMethodFrame(0, startMethod(this.transport.peerIdentity !== undefined)));
        this.#state = { kind: 'awaiting-start-ok' };
        return;
      case 'bad-protocol-header':
        // The spec: answer with the protocol header we speak, then close.
        this.transport.write(PROTOCOL_HEADER);
        this.#finish();
        return;
      case 'error':
        this.#hardError(event.error, { classId: event.error.classId, methodId: event.error.methodId });
        // The byte stream is out of step: no close-ok could be read from it. Flush the close and go.
        this.#finish();
        return;
      default:
        this.#onFrame(event);
    }
  }

  /** The one dispatch: connection state first, then channel 0 or the frame's channel. */
  #onFrame(frame: AmqpFrame): void {
    const state = this.#state;
    this.#ref =
      frame.type === 'method'
        ? { classId: frame.method.classId, methodId: frame.method.methodId }
        : NO_METHOD;
    if (state.kind === 'closed') return;
    if (state.kind === 'closing') {
      if (frame.type === 'method' && frame.channel === 0) {
        if (frame.method.name === 'connection.close-ok') this.#finish();
        else if (frame.method.name === 'connection.close') {
          this.#write(encodeMethodFrame(0, createMethod('connection.close-ok', {})));
          this.#finish();
        }
      }
      return;
    }
    if (frame.type === 'heartbeat') return;
    if (frame.channel === 0) {
      if (frame.type !== 'method')
        throw new AmqpProtocolError(
          ReplyCode.UNEXPECTED_FRAME,
          `unexpected ${frame.type} frame on channel 0`,
        );
      this.#connectionMethod(frame.method);
      return;
    }
    if (state.kind !== 'open')
      throw new AmqpProtocolError(
        ReplyCode.CHANNEL_ERROR,
        `frame on channel ${frame.channel} before connection.open`,
      );
    this.#channelFrame(frame);
  }

  #connectionMethod(method: AmqpMethod): void {
    const state = this.#state;
    switch (state.kind) {
      case 'awaiting-start-ok':
        if (method.name !== 'connection.start-ok') break;
        return this.#startOk(method.args.mechanism, method.args.response, method.args.clientProperties);
      case 'awaiting-tune-ok':
        if (method.name !== 'connection.tune-ok') break;
        return this.#tuneOk(state.principal, method.args);
      case 'awaiting-open':
        if (method.name !== 'connection.open') break;
        return this.#open(state.principal, method.args.virtualHost);
      case 'open':
        switch (method.name) {
          case 'connection.close':
            return this.#peerClose(state.principal, state.vhost);
          case 'connection.update-secret':
            this.#write(encodeMethodFrame(0, createMethod('connection.update-secret-ok', {})));
            return;
          case 'connection.blocked':
          case 'connection.unblocked':
            return;
        }
        break;
    }
    if (method.classId === ClassId.connection)
      throw new AmqpProtocolError(
        ReplyCode.COMMAND_INVALID,
        `unexpected ${method.name} in state ${state.kind}`,
      );
    throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `${method.name} is not allowed on channel 0`);
  }

  #channelFrame(frame: AmqpFrame): void {
    const n = frame.channel;
    if (n > this.channelMax)
      throw new AmqpProtocolError(
        ReplyCode.NOT_ALLOWED,
        `channel ${n} is above channel_max ${this.channelMax}`,
      );
    const ch = this.#channels.get(n);
    if (!ch) {
      if (frame.type === 'method' && frame.method.name === 'channel.open') return this.#openChannel(n);
      throw new AmqpProtocolError(ReplyCode.CHANNEL_ERROR, `expected 'channel.open' on channel ${n}`);
    }
    if (ch.state.kind !== 'open') {
      // Closing: only the close handshake counts; contents in flight are dropped.
      if (frame.type === 'method' && frame.method.name === 'channel.close-ok') ch.closeOk();
      else if (frame.type === 'method' && frame.method.name === 'channel.close') ch.peerClose();
      return;
    }
    if (frame.type === 'header' && frame.bodySize > this.settings.maxMessageBytes) {
      this.#assembler.resetChannel(n);
      const reply = toReply(
        new AmqpProtocolError(
          406,
          `message size ${frame.bodySize} is larger than configured max size ${this.settings.maxMessageBytes}`,
        ),
      );
      ch.closeWith(reply, { classId: ClassId.basic, methodId: 40 });
      return;
    }
    const cmd = this.#assembler.push(frame);
    if (!cmd || cmd.type === 'heartbeat') return;
    if (cmd.type === 'method') {
      switch (cmd.method.name) {
        case 'channel.open':
          throw new AmqpProtocolError(ReplyCode.CHANNEL_ERROR, `second 'channel.open' on channel ${n}`);
        case 'channel.close':
          return ch.peerClose();
        case 'channel.close-ok':
          return ch.closeOk();
      }
      if (cmd.method.classId === ClassId.connection)
        throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `${cmd.method.name} on channel ${n}`);
    } else {
      this.#notePublisher();
    }
    ch.handle(cmd);
  }

  // ---------------------------------------------------------------- handshake

  #startOk(
    mechanism: string,
    response: Buffer,
    clientProperties: Parameters<typeof clientCapabilities>[0],
  ): void {
    const credentials = parseSaslResponse(mechanism, response);
    if (!credentials)
      return this.closeConnection(refusal(`unknown or malformed ${mechanism} response`), START_OK);
    const attempt = { door: 'amqp' as const, remoteAddress: this.transport.remoteAddress };
    const { authenticator } = this.settings;
    const identity = this.transport.peerIdentity;
    const result =
      credentials.kind === 'password'
        ? authenticator.password(credentials.username, credentials.password, attempt)
        : identity !== undefined
          ? authenticator.identified(identity, attempt)
          : undefined;
    if (result === undefined)
      return this.closeConnection(refusal('EXTERNAL needs a verified client certificate'), START_OK);
    if (!result.ok) {
      // RabbitMQ's text for a wrong password: it tells the client nothing more.
      const text =
        result.reason === 'bad-credentials'
          ? `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`
          : result.message;
      return this.closeConnection(refusal(text), START_OK);
    }
    this.capabilities = clientCapabilities(clientProperties);
    this.#state = { kind: 'awaiting-tune-ok', principal: result.principal };
    const { channelMax, frameMax, heartbeatSeconds } = this.settings;
    this.#write(
      encodeMethodFrame(
        0,
        createMethod('connection.tune', { channelMax, frameMax, heartbeat: heartbeatSeconds }),
      ),
    );
  }

  #tuneOk(principal: Principal, args: Tuning): void {
    const tuning = negotiate(this.settings, args);
    this.frameMax = tuning.frameMax;
    this.channelMax = tuning.channelMax;
    this.#parser.setFrameMax(this.frameMax);
    this.#heartbeat.start(tuning.heartbeat);
    this.#state = { kind: 'awaiting-open', principal };
  }

  #open(principal: Principal, vhostName: string): void {
    const vhost = this.settings.broker.vhost(vhostName); // unknown: VhostNotFoundError, 530
    if (!principal.mayUseVhost(vhostName)) {
      const attempt = { door: 'amqp' as const, remoteAddress: this.transport.remoteAddress };
      throw new AmqpProtocolError(
        530,
        this.settings.authenticator.refuseVhost(principal, vhostName, attempt),
      );
    }
    this.#state = { kind: 'open', principal, vhost };
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#write(encodeMethodFrame(0, createMethod('connection.open-ok', { knownHosts: '' })));
    if (this.settings.broker.blocked) this.setBlocked(true);
  }

  #openChannel(n: number): void {
    this.#channels.set(n, new AmqpChannel(n, this));
    this.sendMethod(n, createMethod('channel.open-ok', { channelId: Buffer.alloc(0) }));
  }

  // ---------------------------------------------------------------- heartbeats and flow

  /** The broker's memory watermark: tell clients that asked, and stop reading from publishers. */
  setBlocked(blocked: boolean): void {
    if (this.#state.kind !== 'open') return;
    if (this.capabilities.connectionBlocked) {
      this.#write(
        encodeMethodFrame(
          0,
          blocked
            ? createMethod('connection.blocked', { reason: 'low on memory' })
            : createMethod('connection.unblocked', {}),
        ),
      );
    }
    if (!blocked) this.transport.resumeReading('blocked');
    else if (this.#publisher) this.transport.pauseReading('blocked');
  }

  #notePublisher(): void {
    this.#publisher = true;
    if (this.settings.broker.blocked) this.transport.pauseReading('blocked');
  }

  publishStarted(): void {
    if (++this.#pendingPublishes === this.settings.maxPendingPublishes)
      this.transport.pauseReading('publishes');
  }

  publishSettled(): void {
    if (--this.#pendingPublishes === Math.floor(this.settings.maxPendingPublishes / 2))
      this.transport.resumeReading('publishes');
  }

  // ---------------------------------------------------------------- output

  #write(bytes: Buffer): void {
    this.#heartbeat.sent();
    this.transport.write(bytes);
  }

  send(bytes: Buffer): void {
    if (this.#state.kind === 'open') this.#write(bytes);
  }

  sendMethod(channel: number, method: AmqpMethod): void {
    this.send(encodeMethodFrame(channel, method));
  }

  channelClosed(channel: number): void {
    this.#channels.delete(channel);
    this.#assembler.resetChannel(channel);
  }

  backgroundError(err: unknown): void {
    this.settings.onError(err);
  }

  // ---------------------------------------------------------------- closing

  #hardError(err: unknown, ref: MethodRef): void {
    const reply = toReply(err);
    if (reply.replyCode === 541) this.settings.onError(err);
    // Before the handshake got anywhere there is nobody to tell: just close.
    if (this.#state.kind === 'awaiting-header') return this.#finish();
    this.closeConnection({ ...reply, scope: 'connection' }, ref);
  }

  /** Server-initiated connection.close; the socket goes when close-ok arrives (or after a timeout). */
  closeConnection(reply: Reply, ref: MethodRef): void {
    const s = this.#state;
    if (s.kind === 'closing' || s.kind === 'closed') return;
    this.#state = {
      kind: 'closing',
      principal: 'principal' in s ? s.principal : undefined,
      vhost: s.kind === 'open' ? s.vhost : undefined,
    };
    this.#write(
      encodeMethodFrame(
        0,
        createMethod('connection.close', {
          replyCode: reply.replyCode,
          replyText: reply.replyText,
          classId: ref.classId,
          methodId: ref.methodId,
        }),
      ),
    );
    void this.#release();
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#deadline = setTimeout(() => this.#abort(), this.settings.closeTimeoutMs).unref();
  }

  /**
   * The client's connection.close: what its channels already received (a publish pipelined with the close,
   * say) still takes effect, then close-ok and the socket goes.
   */
  #peerClose(principal: Principal, vhost: VirtualHost): void {
    this.#state = { kind: 'closing', principal, vhost };
    const pending = Promise.all([...this.#channels.values()].map((ch) => ch.settled()));
    const timeout = new Promise((resolve) => setTimeout(resolve, this.settings.closeTimeoutMs).unref());
    void Promise.race([pending, timeout]).then(() => {
      if (this.#state.kind !== 'closing') return;
      this.#write(encodeMethodFrame(0, createMethod('connection.close-ok', {})));
      this.#finish();
    });
  }

  /** Closes with 320 CONNECTION_FORCED (server shutdown); resolves once the connection is gone. */
  forceClose(): Promise<void> {
    if (this.#state.kind === 'closed') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#closedWaiters.push(resolve));
    if (this.#state.kind === 'open' || this.#state.kind === 'closing') {
      this.closeConnection(
        {
          scope: 'connection',
          replyCode: 320,
          replyText: replyText(320, "broker forced connection closure with reason 'shutdown'"),
        },
        NO_METHOD,
      );
    } else {
      this.#abort();
    }
    return done;
  }

  /** The socket is gone (peer closed, error, or we ended it). */
  transportClosed(): void {
    if (this.#state.kind !== 'closed') this.#finish(false);
  }

  #abort(): void {
    this.transport.destroy();
    this.#finish(false);
  }

  #finish(endTransport = true): void {
    if (this.#state.kind === 'closed') return;
    const vhost =
      this.#state.kind === 'open'
        ? this.#state.vhost
        : this.#state.kind === 'closing'
          ? this.#state.vhost
          : undefined;
    if (this.#state.kind === 'open')
      this.#state = { kind: 'closing', principal: this.#state.principal, vhost };
    const released = this.#release();
    this.#state = { kind: 'closed' };
    this.#heartbeat.stop();
    if (this.#deadline) clearTimeout(this.#deadline);
    if (endTransport) this.transport.end();
    void released.finally(() => {
      this.settings.onClosed(this);
      for (const resolve of this.#closedWaiters.splice(0)) resolve();
    });
  }

  /** Cancels consumers, requeues unacked deliveries, drops exclusive queues: once. */
  #release(): Promise<void> {
    if (this.#released) return this.#released;
    const s = this.#state;
    const vhost = s.kind === 'open' || s.kind === 'closing' ? s.vhost : undefined;
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    this.#released = (async () => {
      for (const ch of channels) {
        ch.state = { kind: 'closed' };
        await ch.teardown();
      }
      if (vhost && !this.settings.broker.closed) await vhost.releaseOwner(this.owner);
    })().catch((err: unknown) => this.settings.onError(err));
    return this.#released;
  }
}

function refusal(message: string): Reply {
  return { scope: 'connection', replyCode: 403, replyText: replyText(403, message) };
}
