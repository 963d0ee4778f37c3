import type { Channel, ConsumeMessage } from 'amqplib';
import { AmqpLink, amqpTargetError } from './amqp-connect.js';
import { fromAmqplibProperties } from '@conveyor/amqp';
import type { LostHandler, SourceEndpoint, SourceMessage } from './endpoint.js';
import { BridgeError, redactUrl } from './errors.js';
import { routingKeyWords } from './message.js';

export interface AmqpSourceOptions {
  url: string;
  /** PEM CA certificates a TLS peer's certificate is verified against (default: Node's trust store). */
  ca?: Buffer;
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
  readonly #link: AmqpLink<Channel>;
  readonly #raw = new WeakMap<SourceMessage, ConsumeMessage>();

  constructor(private readonly options: AmqpSourceOptions) {
    const queue = options.queue ?? options.ownQueue;
    if (queue === undefined) {
      throw new BridgeError('INVALID_CONFIG', 'amqp source needs a queue, or an exchange (and routingKey)');
    }
    this.#queue = queue;
    this.description = `${redactUrl(options.url)} queue '${queue}'`;
    this.#link = new AmqpLink(options.url, `amqp source ${this.description}`, options.ca);
  }

  open(onLost: LostHandler): Promise<void> {
    return this.#link.open(
      onLost,
      (model) => model.createChannel(),
      (channel) => this.#declare(channel),
    );
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
    const channel = this.#link.channel;
    if (channel === undefined) throw new BridgeError('ENDPOINT_LOST', 'amqp source is not open');
    const generation = this.#link.generation;
    await channel.prefetch(window);
    await channel.consume(this.#queue, (raw) => {
      if (raw === null) {
        // The server cancelled the consumer (queue deleted): treat as lost so the bridge retries.
        this.#link.lose(new Error(`queue '${this.#queue}' cancelled the consumer`));
        return;
      }
      const message: SourceMessage = {
        generation,
        message: {
          body: raw.content,
          properties: fromAmqplibProperties(raw.properties),
          subject: routingKeyWords(raw.fields.routingKey),
        },
      };
      this.#raw.set(message, raw);
      onMessage(message);
    });
  }

  async ack(message: SourceMessage): Promise<void> {
    const raw = this.#raw.get(message);
    if (raw === undefined || message.generation !== this.#link.generation) return;
    this.#link.channel?.ack(raw);
  }

  async nack(message: SourceMessage): Promise<void> {
    const raw = this.#raw.get(message);
    if (raw === undefined || message.generation !== this.#link.generation) return;
    this.#link.channel?.nack(raw, false, true);
  }

  async backlog(): Promise<number | undefined> {
    const channel = this.#link.channel;
    if (channel === undefined || this.#link.closing) return undefined;
    try {
      return (await channel.checkQueue(this.#queue)).messageCount;
    } catch {
      return undefined;
    }
  }

  close(): Promise<void> {
    return this.#link.close();
  }

  abort(): void {
    this.#link.abort();
  }
}
