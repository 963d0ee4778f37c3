import type { Headers } from '@conveyor/core';
import type { OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { RemoteHandlerError, type ErrorReply } from './errors.js';
import type { MessageLink, OutboundMessage, PeekedInfo, QueueCount } from './link/link.js';
import { openLink, type ConveyorConnectionOptions } from './link/open-link.js';
import { REPLY_STATUS_HEADER } from './message-runner.js';
import { toReceived, type ReceivedMessage } from './received-message.js';
import { JsonSerializer, type Serializer } from './serializer.js';
import type { ConveyorStatus } from './conveyor-server.js';

export interface ConveyorClientOptions {
  connection?: ConveyorConnectionOptions;
  serializer?: Serializer;
  /** Per-attempt timeout of a request. Default 5 s. */
  requestTimeoutMs?: number;
  /** Resends after a timeout. Default 2. */
  requestRetries?: number;
}

export interface SendOptions {
  headers?: Headers;
  /** W3C trace context to pass on. */
  traceparent?: string;
  messageId?: string;
  correlationId?: string;
  /**
   * Written to disk by the broker before it confirms. Default: true for `enqueue` and
   * `broadcast`, false for `request` (see there).
   */
  persistent?: boolean;
}

export interface RequestCallOptions extends SendOptions {
  timeout?: number;
  retries?: number;
}

export interface ReceiveCallOptions {
  max?: number;
  /** Wait up to this long for a message when none is ready (ms). Default 0. */
  wait?: number;
  leaseMs?: number;
}

export interface PeekedMessage<T = unknown> {
  id: string;
  payload: T;
  headers: Headers;
  deliveryCount: number;
  state: string;
}

/** `emit({ topic }, data)` broadcasts; `emit(queue, data)` sends one-way. */
export interface TopicPattern {
  topic: string;
}

export type ConveyorClientEvents = { error: (err: unknown) => void };

/**
 * The sending side, usable as a Nest `ClientProxy` (`send` = request, `emit` = one-way or
 * broadcast) and with Conveyor's own calls: `request`, `enqueue`, `broadcast`, and the receiver
 * operations `count`, `peek`, `take`, `receive`.
 */
export class ConveyorClient
  extends ClientProxy<ConveyorClientEvents, ConveyorStatus>
  implements OnApplicationShutdown
{
  readonly #options: ConveyorClientOptions;
  readonly #serializer: Serializer;
  readonly #errorListeners: ((err: unknown) => void)[] = [];
  #link: Promise<MessageLink> | undefined;
  #ready: MessageLink | undefined;

  constructor(options: ConveyorClientOptions = {}) {
    super();
    this.#options = options;
    this.#serializer = options.serializer ?? new JsonSerializer();
  }

  /** Opens the link once; after the link was lost, the next call opens a new one. */
  connect(): Promise<MessageLink> {
    if (this.#ready && !this.#ready.connected) {
      const dead = this.#ready;
      this.#link = undefined;
      this.#ready = undefined;
      void dead.close().catch(() => undefined);
    }
    if (!this.#link) {
      const opening = openLink(this.#options.connection);
      this.#link = opening;
      opening.then(
        (link) => {
          this.#ready = link;
          link.onError((err) => {
            this._status$.next('disconnected');
            this.#errorListeners.forEach((l) => l(err));
          });
          this._status$.next('connected');
        },
        () => {
          if (this.#link === opening) this.#link = undefined;
        },
      );
    }
    return this.#link;
  }

  override on<K extends keyof ConveyorClientEvents>(event: K, callback: ConveyorClientEvents[K]): void {
    if (event === 'error') this.#errorListeners.push(callback);
  }

  /** The underlying broker (embedded) or amqplib connection; call `connect()` first. */
  unwrap<T>(): T {
    if (!this.#ready) throw new Error('ConveyorClient is not connected: call connect() first');
    return this.#ready.unwrap() as T;
  }

  /** Whether the link is up (for health checks). */
  async isConnected(): Promise<boolean> {
    try {
      return (await this.connect()).connected;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    const link = this.#link;
    this.#link = undefined;
    this.#ready = undefined;
    if (link) await (await link).close();
    this._status$.next('disconnected');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  #outbound(payload: unknown, options: SendOptions = {}, persistent = true): OutboundMessage {
    const encoded = this.#serializer.serialize(payload);
    const headers: Headers = { ...options.headers };
    if (options.traceparent !== undefined) headers['traceparent'] = options.traceparent;
    return {
      body: encoded.body,
      properties: {
        headers,
        persistent: options.persistent ?? persistent,
        ...(encoded.contentType === undefined ? {} : { contentType: encoded.contentType }),
        ...(options.messageId === undefined ? {} : { messageId: options.messageId }),
        ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
      },
    };
  }

  /** One-way: to the queue of a `@OneWay` handler. */
  async enqueue(queue: string, payload: unknown, options?: SendOptions): Promise<void> {
    await (await this.connect()).sendToQueue(queue, this.#outbound(payload, options));
  }

  /** To every `@Broadcast` subscriber of `topic`. */
  async broadcast(topic: string, payload: unknown, options?: SendOptions): Promise<void> {
    await (await this.connect()).publishTopic(topic, this.#outbound(payload, options));
  }

  /**
   * Request/response: resends on timeout as a new message with the same correlation id (the
   * handler runs once); fails with `RequestTimeoutError` after the last attempt, or with
   * `RemoteHandlerError` when the handler threw.
   *
   * Requests are not persistent unless asked: a request kept across a broker restart would be
   * answered to a reply address that died with the caller's connection, and the caller resends
   * on timeout anyway. Skipping the disk write takes it off every round trip.
   */
  async request<T = unknown>(queue: string, payload: unknown, options: RequestCallOptions = {}): Promise<T> {
    const link = await this.connect();
    const reply = await link.request(queue, this.#outbound(payload, options, false), {
      timeoutMs: options.timeout ?? this.#options.requestTimeoutMs ?? 5_000,
      retries: options.retries ?? this.#options.requestRetries ?? 2,
      ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
    });
    if (reply.headers[REPLY_STATUS_HEADER] === 'error') {
      throw new RemoteHandlerError(queue, JSON.parse(reply.body.toString('utf8')) as ErrorReply);
    }
    return this.#serializer.deserialize(reply.body, reply.properties.contentType, reply.headers) as T;
  }

  // ------------------------------------------------------------------ receiver operations

  async count(queue: string): Promise<QueueCount> {
    return (await this.connect()).count(queue);
  }

  async peek<T = unknown>(queue: string, max = 1): Promise<PeekedMessage<T>[]> {
    const peeked = await (await this.connect()).peek(queue, max);
    return peeked.map((p: PeekedInfo) => ({
      id: p.id,
      payload: this.#serializer.deserialize(
        p.body,
        p.properties.contentType,
        p.properties.headers ?? {},
      ) as T,
      headers: p.properties.headers ?? {},
      deliveryCount: p.deliveryCount,
      state: p.state,
    }));
  }

  async take<T = unknown>(
    queue: string,
    id: string,
    options: { leaseMs?: number } = {},
  ): Promise<ReceivedMessage<T>> {
    return toReceived<T>(await (await this.connect()).take(queue, id, options.leaseMs), this.#serializer);
  }

  async receive<T = unknown>(queue: string, options: ReceiveCallOptions = {}): Promise<ReceivedMessage<T>[]> {
    const received = await (
      await this.connect()
    ).receive(queue, {
      max: options.max ?? 1,
      waitMs: options.wait ?? 0,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    });
    return received.map((m) => toReceived<T>(m, this.#serializer));
  }

  // ------------------------------------------------------------------ ClientProxy

  /** `send(queue, data)`: a request with the client's default timeout and retries. */
  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    this.request(patternName(packet.pattern), packet.data).then(
      (response) => callback({ response, isDisposed: true }),
      (err: unknown) => callback({ err, isDisposed: true }),
    );
    return () => undefined;
  }

  /** `emit(queue, data)` sends one-way; `emit({ topic }, data)` broadcasts. */
  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const pattern: unknown = packet.pattern;
    if (pattern !== null && typeof pattern === 'object' && 'topic' in pattern) {
      await this.broadcast(String((pattern as TopicPattern).topic), packet.data);
    } else {
      await this.enqueue(patternName(pattern), packet.data);
    }
    return undefined as T;
  }
}

function patternName(pattern: unknown): string {
  return typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
}
