import { randomUUID } from 'node:crypto';
import { QueueNotFoundError, RequestTimeoutError, type Headers } from '@conveyor/core';
import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type Message,
  type Options,
} from 'amqplib';
import { ConnectionLostError, UnsupportedOperationError } from '../errors.js';
import { fromAmqplibProperties, toAmqplibOptions } from '@conveyor/amqp';
import type { ManagementApi } from './management-api.js';
import type {
  ConsumeSetup,
  InboundMessage,
  MessageLink,
  OutboundMessage,
  PeekedInfo,
  QueueCount,
  QueueSetup,
  ReceiveSetup,
  RequestSetup,
  Subscription,
} from './link.js';

/** Header counting the transport's own redeliveries through the retry queue. */
export const RETRY_COUNT_HEADER = 'x-retry-count';
/** Header carrying why a message was dead-lettered (the handler's error). */
export const DEATH_DETAIL_HEADER = 'x-death-detail';
const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
/** Conveyor's pseudo-exchange: routing key = delivery tag, body = reason (see @conveyor/amqp). */
const DEAD_LETTER_EXCHANGE = 'amq.conveyor.dead-letter';
const GET_POLL_MS = 50;

/** The retry queue of a queue: messages wait there for their delay, then dead-letter back. */
export function retryQueueOf(queue: string): string {
  return `${queue}.retry`;
}

/**
 * Over AMQP 0-9-1 with amqplib, to RabbitMQ or to a Conveyor broker. AMQP has no "dead-letter
 * with a reason" and no "retry after a delay", so both are done without loss: a copy is published
 * with confirms (to the dead-letter queue, or to the retry queue with a per-message TTL that
 * dead-letters back), and only then is the original acked.
 */
export class AmqpLink implements MessageLink {
  #connected = true;
  #pub: Promise<ConfirmChannel> | undefined;
  #getChannel: Promise<Channel> | undefined;
  #replies: Promise<ConfirmChannel> | undefined;
  readonly #pending = new Map<string, (m: InboundMessage) => void>();
  readonly #errorListeners: ((err: unknown) => void)[] = [];
  readonly #consumerChannels = new Set<Channel>();
  readonly #deadLetterQueues = new Map<string, string>();
  /** Message ids of mandatory publishes the broker returned (no queue): their confirm fails. */
  readonly #returned = new Set<string>();
  /** The broker offers `amq.conveyor.dead-letter`: dead letters need no copy. */
  readonly #deadLetterInPlace: boolean;

  private constructor(
    private readonly connection: ChannelModel,
    readonly mode: 'rabbitmq' | 'conveyor',
    private readonly api: ManagementApi | undefined,
  ) {
    this.#deadLetterInPlace = mode === 'conveyor' && canDeadLetterWithReason(connection);
    connection.on('error', () => undefined); // 'close' follows with the same cause
    connection.on('close', (err?: Error) => {
      if (!this.#connected) return; // closed by us
      this.#connected = false;
      this.#lost(new ConnectionLostError('the connection to the AMQP broker closed', { cause: err }));
    });
  }

  /**
   * Connects with TCP_NODELAY (a request is a few small frames: Nagle's algorithm would hold each
   * one back for the peer's delayed ACK), and the given tuning. Without `mode`, a server whose
   * `product` is Conveyor is used as Conveyor, anything else as RabbitMQ.
   */
  static async open(
    url: string,
    mode: 'rabbitmq' | 'conveyor' | undefined,
    api?: ManagementApi,
    tuning: AmqpTuning = {},
  ): Promise<AmqpLink> {
    const target = new URL(url);
    if (tuning.heartbeatSeconds !== undefined)
      target.searchParams.set('heartbeat', String(tuning.heartbeatSeconds));
    if (tuning.frameMax !== undefined) target.searchParams.set('frameMax', String(tuning.frameMax));
    const connection = await amqp.connect(target.toString(), {
      noDelay: true,
      ...tuning.socket,
      clientProperties: {
        ...(tuning.connectionName === undefined ? {} : { connection_name: tuning.connectionName }),
        ...tuning.clientProperties,
      },
    });
    return new AmqpLink(connection, mode ?? serverKind(connection), api);
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** A confirm channel for declares and publishes, reopened if a failed declare closed it. */
  #channel(): Promise<ConfirmChannel> {
    if (!this.#pub) {
      const opening = this.connection.createConfirmChannel();
      this.#pub = opening;
      opening.then(
        (ch) => {
          this.#watchReturns(ch);
          ch.on('error', () => undefined);
          ch.on('close', () => {
            if (this.#pub === opening) this.#pub = undefined;
          });
        },
        () => {
          if (this.#pub === opening) this.#pub = undefined;
        },
      );
    }
    return this.#pub;
  }

  #queueArgs(setup: QueueSetup): Options.AssertQueue {
    const args: Record<string, unknown> = {};
    // Conveyor honours x-delivery-limit on any queue (RabbitMQ only on quorum queues).
    if (this.mode === 'conveyor' && setup.maxDeliveries !== undefined)
      args['x-delivery-limit'] = setup.maxDeliveries - 1;
    return {
      durable: setup.durable ?? true,
      exclusive: setup.exclusive ?? false,
      autoDelete: setup.autoDelete ?? false,
      ...(setup.deadLetterQueue === undefined
        ? {}
        : { deadLetterExchange: '', deadLetterRoutingKey: setup.deadLetterQueue }),
      arguments: args,
    };
  }

  /** checkQueue on a channel of its own: a 404 closes the channel it was asked on. */
  async #existing(queue: string): Promise<{ messageCount: number } | undefined> {
    const ch = await this.connection.createChannel();
    ch.on('error', () => undefined);
    try {
      return await ch.checkQueue(queue);
    } catch (err) {
      if (/404|NOT_FOUND/.test(String(err))) return undefined;
      throw err;
    } finally {
      await ch.close().catch(() => undefined); // already closed by the 404
    }
  }

  async #declareAround(queue: string, setup: QueueSetup): Promise<string> {
    const ch = await this.#channel();
    if (setup.deadLetterQueue !== undefined)
      await ch.assertQueue(setup.deadLetterQueue, { durable: setup.durable ?? true });
    const existing = setup.keepExisting && queue !== '' ? await this.#existing(queue) : undefined;
    const name = existing ? queue : (await ch.assertQueue(queue, this.#queueArgs(setup))).queue;
    if (setup.deadLetterQueue !== undefined) this.#deadLetterQueues.set(name, setup.deadLetterQueue);
    await this.#retryQueue(name, setup);
    return name;
  }

  /**
   * RabbitMQ has no delayed redelivery: a retry waits in `<queue>.retry` for its TTL, then
   * dead-letters back. Conveyor delays it itself (x-delay), so no retry queue there; one left by an
   * older version drains back by its TTLs and is deleted once empty. A non-empty one is kept.
   */
  async #retryQueue(name: string, setup: QueueSetup): Promise<void> {
    const retry = retryQueueOf(name);
    if (this.mode === 'conveyor') {
      const old = await this.#existing(retry);
      if (old?.messageCount === 0) await (await this.#channel()).deleteQueue(retry, { ifEmpty: true });
      return;
    }
    await (
      await this.#channel()
    ).assertQueue(retry, {
      durable: setup.durable ?? true,
      exclusive: setup.exclusive ?? false,
      deadLetterExchange: '',
      deadLetterRoutingKey: name,
    });
  }

  async setupQueue(queue: string, setup: QueueSetup): Promise<void> {
    await this.#declareAround(queue, setup);
  }

  async setupSubscription(topic: string, queue: string, setup: QueueSetup): Promise<string> {
    const name = await this.#declareAround(queue, setup);
    await (await this.#channel()).bindQueue(name, 'amq.topic', topic);
    return name;
  }

  async consume(
    queue: string,
    setup: ConsumeSetup,
    handler: (m: InboundMessage) => void,
  ): Promise<Subscription> {
    // With Conveyor's dead-letter extension, a dead letter is a publish on the delivery's own
    // channel, confirmed: the consumer channel is a confirm channel then.
    const confirming = this.#deadLetterInPlace ? await this.connection.createConfirmChannel() : undefined;
    const ch = confirming ?? (await this.connection.createChannel());
    ch.on('error', () => undefined);
    this.#consumerChannels.add(ch);
    let stopping = false;
    ch.on('close', () => {
      this.#consumerChannels.delete(ch);
      // A channel the broker closed (consumer timeout, queue deleted) stops this handler's intake.
      if (!stopping && this.#connected)
        this.#lost(new ConnectionLostError(`the consumer channel of queue '${queue}' closed`));
    });
    await ch.prefetch(setup.prefetch);
    const { consumerTag } = await ch.consume(queue, (m) => {
      if (m) handler(this.#inbound(ch, queue, m, confirming));
      // null: the broker cancelled the consumer (queue deleted)
      else if (!stopping)
        this.#lost(new ConnectionLostError(`the broker cancelled the consumer of '${queue}'`));
    });
    return {
      stop: async () => {
        stopping = true;
        await ch.cancel(consumerTag).catch(() => undefined);
      },
    };
  }

  /** `confirming`: `ch` as a confirm channel, when dead letters go through Conveyor's extension. */
  #inbound(ch: Channel, queue: string, m: Message, confirming?: ConfirmChannel): InboundMessage {
    const properties = fromAmqplibProperties(m.properties);
    const headers = (properties.headers ??= {});
    const retries = Number(headers[RETRY_COUNT_HEADER] ?? 0);
    const brokerCount = headers['x-delivery-count'];
    const earlier = typeof brokerCount === 'number' ? brokerCount : m.fields.redelivered ? 1 : 0;
    const settle = (fn: () => void): Promise<void> => {
      try {
        fn();
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return {
      queue,
      id: properties.messageId ?? String(m.fields.deliveryTag),
      body: m.content,
      properties,
      headers,
      deliveryCount: retries + earlier + 1,
      ack: () => settle(() => ch.ack(m)),
      nack: async (options = {}) => {
        if (!options.delayMs) return settle(() => ch.nack(m, false, true));
        const copy = { ...headers, [RETRY_COUNT_HEADER]: retries + 1 };
        const delayMs = Math.max(1, Math.round(options.delayMs));
        // Conveyor holds a message back per queue for its x-delay; RabbitMQ needs the retry queue.
        if (this.mode === 'conveyor')
          await this.#confirmedPublish('', queue, m.content, {
            ...toAmqplibOptions({ ...properties, headers: { ...copy, 'x-delay': delayMs } }),
          });
        else
          await this.#confirmedPublish('', retryQueueOf(queue), m.content, {
            ...toAmqplibOptions({ ...properties, headers: copy }),
            expiration: String(delayMs),
          });
        ch.ack(m);
      },
      deadLetter: async (reason) => {
        if (confirming && this.#deadLetterQueues.has(queue)) {
          // One step on the broker: moved through the queue's own dead-letter target, the reason in
          // x-death, counted as dead-lettered by the queue itself.
          await this.#publish(
            confirming,
            DEAD_LETTER_EXCHANGE,
            String(m.fields.deliveryTag),
            Buffer.from(reason),
            {},
          );
          return;
        }
        const deadLetterQueue = this.#deadLetterQueueOf(queue);
        // The retry's x-delay must not hold the dead letter back too.
        const { 'x-delay': _delay, ...kept } = headers;
        const copy: Headers = {
          ...kept,
          [DEATH_DETAIL_HEADER]: reason,
          'x-first-death-reason': headers['x-first-death-reason'] ?? 'rejected',
          'x-first-death-queue': headers['x-first-death-queue'] ?? queue,
          'x-last-death-reason': 'rejected',
          'x-last-death-queue': queue,
        };
        await this.#confirmedPublish(
          '',
          deadLetterQueue,
          m.content,
          toAmqplibOptions({ ...properties, headers: copy }),
        );
        ch.ack(m);
      },
      renewLease: () => Promise.reject(new UnsupportedOperationError('renewLease', this.#modeName())),
    };
  }

  /** Remembered from setup; a queue set up elsewhere falls back to `<queue>.dlq`. */
  #deadLetterQueueOf(queue: string): string {
    return this.#deadLetterQueues.get(queue) ?? `${queue}.dlq`;
  }

  /** basic.return comes before the publish's confirm: remember it so the confirm can fail. */
  #watchReturns(ch: Channel): void {
    ch.on('return', (m: Message) => {
      const id = m.properties.messageId as string | undefined;
      if (id !== undefined) this.#returned.add(id);
    });
  }

  /**
   * Publishes and resolves on the broker's confirm. `mandatory` (a send to a queue): a message no
   * queue took comes back with basic.return and the send fails with QueueNotFoundError instead of
   * resolving while the message is gone.
   */
  #publish(
    ch: ConfirmChannel,
    exchange: string,
    key: string,
    body: Buffer,
    options: Options.Publish,
  ): Promise<void> {
    const mandatory = options.mandatory === true;
    const messageId = mandatory ? (options.messageId ?? randomUUID()) : options.messageId;
    return new Promise<void>((resolve, reject) => {
      ch.publish(exchange, key, body, { ...options, messageId }, (err: unknown) => {
        const returned = messageId !== undefined && this.#returned.delete(messageId);
        if (err) reject(toError(err));
        else if (returned) reject(new QueueNotFoundError(key));
        else resolve();
      });
    });
  }

  async #confirmedPublish(
    exchange: string,
    key: string,
    body: Buffer,
    options: Options.Publish,
  ): Promise<void> {
    await this.#publish(await this.#channel(), exchange, key, body, options);
  }

  async sendToQueue(queue: string, message: OutboundMessage): Promise<void> {
    await this.#confirmedPublish('', queue, message.body, {
      ...toAmqplibOptions(message.properties),
      mandatory: true,
    });
  }

  async publishTopic(topic: string, message: OutboundMessage): Promise<void> {
    await this.#confirmedPublish('amq.topic', topic, message.body, toAmqplibOptions(message.properties));
  }

  /** Direct reply-to: the requests are published on the channel that consumes the replies. */
  #replyChannel(): Promise<ConfirmChannel> {
    this.#replies ??= (async () => {
      const ch = await this.connection.createConfirmChannel();
      ch.on('error', () => undefined);
      this.#watchReturns(ch);
      await ch.consume(
        DIRECT_REPLY_TO,
        (m) => {
          const id = m?.properties.correlationId as string | undefined;
          const resolve = id === undefined ? undefined : this.#pending.get(id);
          if (!m || !resolve || id === undefined) return; // late or duplicate reply
          this.#pending.delete(id);
          resolve(this.#inbound(ch, DIRECT_REPLY_TO, m));
        },
        { noAck: true },
      );
      return ch;
    })();
    return this.#replies;
  }

  async request(queue: string, message: OutboundMessage, setup: RequestSetup): Promise<InboundMessage> {
    const ch = await this.#replyChannel();
    const correlationId = setup.correlationId ?? randomUUID();
    const attempts = setup.retries + 1;
    const reply = new Promise<InboundMessage>((resolve) => this.#pending.set(correlationId, resolve));
    try {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const options = toAmqplibOptions({
          ...message.properties,
          correlationId,
          replyTo: DIRECT_REPLY_TO,
          messageId: randomUUID(),
        });
        // Pipelined: the wait for the reply starts with the publish, not after its confirm. A
        // refused or returned request still fails at once; a lost one is what the resend covers.
        const confirmed = this.#publish(ch, '', queue, message.body, { ...options, mandatory: true });
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>(
          (resolve) => (timer = setTimeout(resolve, setup.timeoutMs, undefined)),
        );
        try {
          // A failed confirm rejects the race; a good one only waits on for the reply.
          const result = await Promise.race([reply, timeout, confirmed.then(() => reply)]);
          if (result) return result;
        } finally {
          clearTimeout(timer);
        }
      }
      const consumers = await this.count(queue).then(
        (c) => c.consumers,
        // The count only makes the message more useful: without it the error says less.
        () => undefined,
      );
      throw new RequestTimeoutError(correlationId, attempts, setup.timeoutMs, { queue, consumers });
    } finally {
      this.#pending.delete(correlationId);
    }
  }

  async reply(replyTo: string, message: OutboundMessage): Promise<void> {
    // Direct reply-to addresses are not queues: publish without waiting for a confirm routing.
    await this.#confirmedPublish('', replyTo, message.body, toAmqplibOptions(message.properties));
  }

  async count(queue: string): Promise<QueueCount> {
    const ch = await this.connection.createChannel();
    ch.on('error', () => undefined);
    try {
      const ok = await ch.checkQueue(queue);
      return { ready: ok.messageCount, consumers: ok.consumerCount };
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Through the management API when there is one (a Conveyor broker); AMQP has no peek. */
  peek(queue: string, max: number): Promise<PeekedInfo[]> {
    if (this.api) return this.api.peek(queue, max);
    return Promise.reject(new UnsupportedOperationError('peek', this.#modeName()));
  }

  take(queue: string, id: string, leaseMs?: number): Promise<InboundMessage> {
    if (this.api) return this.api.take(queue, id, leaseMs);
    return Promise.reject(new UnsupportedOperationError('take', this.#modeName()));
  }

  #modeName(): string {
    return this.mode === 'conveyor' ? 'remote-Conveyor (without managementUrl)' : 'RabbitMQ';
  }

  /**
   * Leased receive through the management API when there is one; otherwise basic.get, polled
   * while `waitMs` lasts (held until acked or nacked, no lease to renew).
   */
  async receive(queue: string, setup: ReceiveSetup): Promise<InboundMessage[]> {
    if (this.api) return this.api.receive(queue, setup);
    this.#getChannel ??= this.connection.createChannel().then((ch) => {
      ch.on('error', () => undefined);
      return ch;
    });
    const ch = await this.#getChannel;
    const deadline = Date.now() + setup.waitMs;
    const out: InboundMessage[] = [];
    for (;;) {
      while (out.length < setup.max) {
        const m = await ch.get(queue);
        if (m === false) break;
        out.push(this.#inbound(ch, queue, m));
      }
      if (out.length > 0 || Date.now() >= deadline) return out;
      await new Promise((resolve) => setTimeout(resolve, GET_POLL_MS));
    }
  }

  #lost(err: ConnectionLostError): void {
    for (const listener of this.#errorListeners) listener(err);
  }

  onError(listener: (err: unknown) => void): void {
    this.#errorListeners.push(listener);
  }

  unwrap(): ChannelModel {
    return this.connection;
  }

  async close(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    // Channels first: a channel.close is handled after the acks sent before it, so none is lost
    // to a connection teardown that requeues what the channel still held.
    for (const ch of [...this.#consumerChannels]) await ch.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}

/** Options of the AMQP connection (remote modes). */
export interface AmqpTuning {
  /** Socket options for net.connect / tls.connect (TLS: ca, cert, key, servername, …). TCP_NODELAY is on unless `noDelay: false`. */
  socket?: Record<string, unknown>;
  /** Heartbeat proposed to the broker (the URL's `heartbeat`). */
  heartbeatSeconds?: number;
  /** Largest frame (the URL's `frameMax`). */
  frameMax?: number;
  /** Shown by the broker's management UI (`connection_name`). */
  connectionName?: string;
  clientProperties?: Record<string, unknown>;
}

/** What the server announced in connection.start (amqplib keeps it on the inner connection). */
function serverProperties(connection: ChannelModel): Record<string, unknown> {
  const inner = (connection as unknown as { connection?: { serverProperties?: Record<string, unknown> } })
    .connection;
  return inner?.serverProperties ?? {};
}

/** Conveyor announces `product: Conveyor` in connection.start; anything else is taken as RabbitMQ. */
function serverKind(connection: ChannelModel): 'rabbitmq' | 'conveyor' {
  const product = serverProperties(connection)['product'];
  const name = Buffer.isBuffer(product) ? product.toString() : String(product ?? '');
  return name === 'Conveyor' ? 'conveyor' : 'rabbitmq';
}

/** Conveyor's `amq.conveyor.dead-letter` extension (a dead-letter with a reason, in one step). */
function canDeadLetterWithReason(connection: ChannelModel): boolean {
  const caps = serverProperties(connection)['capabilities'];
  return (
    typeof caps === 'object' &&
    caps !== null &&
    (caps as Record<string, unknown>)['dead_letter_with_reason'] === true
  );
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
