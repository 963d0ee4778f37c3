import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { amqpTargetError, connectAmqp, destroyAmqp } from './amqp-connect.js';
import { fromAmqpProperties } from './amqp-properties.js';
import type { LostHandler, SourceEndpoint, SourceMessage } from './endpoint.js';
import { BridgeError, redactUrl } from './errors.js';
import { routingKeyWords } from './message.js';

export interface AmqpSourceOptions {
  url: string;
  /** Consume this existing queue … */
  queue?: string;
  /** … or bind a bridge-owned durable queue (`ownQueue`, declared by the bridge) to this exchange with `routingKey`. */
  exchange?: string;
  /** Binding pattern on `exchange`. Default `#`. */
  routingKey?: string;
  /** Name of the bridge-owned queue; it outlives the bridge so nothing is lost while it is away. */
  ownQueue?: string;
}

/** Consumes an AMQP 0-9-1 queue with manual acks and a prefetch of the bridge's window. */
export class AmqpSource implements SourceEndpoint {
  readonly description: string;
  readonly #queue: string;
  #model: ChannelModel | undefined;
  #channel: Channel | undefined;
  #generation = 0;
  #closing = false;
  readonly #raw = new WeakMap<SourceMessage, ConsumeMessage>();

  constructor(private readonly options: AmqpSourceOptions) {
    const queue = options.queue ?? options.ownQueue;
    if (queue === undefined) {
      throw new BridgeError('INVALID_CONFIG', 'amqp source needs a queue, or an exchange (and routingKey)');
    }
    this.#queue = queue;
    this.description = `${redactUrl(options.url)} queue '${queue}'`;
  }

  async open(onLost: LostHandler): Promise<void> {
    this.#closing = false;
    const generation = ++this.#generation;
    const model = await connectAmqp(this.options.url, `amqp source ${this.description}`);
    this.#model = model;
    const lost = (err?: Error): void => {
      if (this.#closing || generation !== this.#generation) return;
      this.#generation++;
      onLost(new BridgeError('ENDPOINT_LOST', `amqp source lost: ${err?.message ?? 'connection closed'}`));
    };
    model.on('error', () => undefined); // 'close' follows and reports it
    model.on('close', lost);
    try {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      this.#channel = channel;
      await this.#declare(channel);
      channel.on('close', () => lost(new Error('channel closed')));
    } catch (err) {
      this.#closing = true;
      await model.close().catch(() => undefined);
      throw err;
    }
  }

  async #declare(channel: Channel): Promise<void> {
    const { exchange, queue, routingKey } = this.options;
    const what = `amqp source ${redactUrl(this.options.url)}`;
    if (queue !== undefined) {
      await channel.checkQueue(queue).catch((err: unknown) => {
        throw amqpTargetError(err, what, `queue '${queue}'`);
      });
      return;
    }
    if (exchange !== undefined) {
      await channel.checkExchange(exchange).catch((err: unknown) => {
        throw amqpTargetError(err, what, `exchange '${exchange}'`);
      });
    }
    await channel.assertQueue(this.#queue, { durable: true });
    if (exchange !== undefined) await channel.bindQueue(this.#queue, exchange, routingKey ?? '#');
  }

  async start(onMessage: (message: SourceMessage) => void, window: number): Promise<void> {
    const channel = this.#requireChannel();
    const generation = this.#generation;
    await channel.prefetch(window);
    await channel.consume(this.#queue, (raw) => {
      if (raw === null) {
        // The server cancelled the consumer (queue deleted): treat as lost so the bridge retries.
        this.#model?.emit('close', new Error(`queue '${this.#queue}' cancelled the consumer`));
        return;
      }
      const message: SourceMessage = {
        generation,
        message: {
          body: raw.content,
          properties: fromAmqpProperties(raw.properties),
          subject: routingKeyWords(raw.fields.routingKey),
        },
      };
      this.#raw.set(message, raw);
      onMessage(message);
    });
  }

  async ack(message: SourceMessage): Promise<void> {
    const raw = this.#raw.get(message);
    if (raw === undefined || message.generation !== this.#generation) return;
    this.#channel?.ack(raw);
  }

  async nack(message: SourceMessage): Promise<void> {
    const raw = this.#raw.get(message);
    if (raw === undefined || message.generation !== this.#generation) return;
    this.#channel?.nack(raw, false, true);
  }

  async backlog(): Promise<number | undefined> {
    const channel = this.#channel;
    if (channel === undefined || this.#closing) return undefined;
    try {
      return (await channel.checkQueue(this.#queue)).messageCount;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    const model = this.#model;
    this.#model = undefined;
    this.#channel = undefined;
    await model?.close().catch(() => undefined);
  }

  abort(): void {
    this.#closing = true;
    if (this.#model) destroyAmqp(this.#model);
    this.#model = undefined;
    this.#channel = undefined;
  }

  #requireChannel(): Channel {
    if (this.#channel === undefined) throw new BridgeError('ENDPOINT_LOST', 'amqp source is not open');
    return this.#channel;
  }
}
