import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { amqpTargetError, connectAmqp, destroyAmqp } from './amqp-connect.js';
import { toAmqpOptions } from './amqp-properties.js';
import type { LostHandler, SinkEndpoint, SinkOutcome } from './endpoint.js';
import { BridgeError, redactUrl } from './errors.js';
import type { BridgeMessage } from './message.js';

export interface AmqpSinkOptions {
  url: string;
  /** Send to this existing queue (default exchange) … */
  queue?: string;
  /** … or publish to this exchange, */
  exchange?: string;
  /** with this routing key; default the message's subject joined with `.`. */
  routingKey?: string;
}

/** Publishes on a confirm channel; `send` resolves on the broker's ack (publisher confirms). */
export class AmqpSink implements SinkEndpoint {
  readonly description: string;
  #model: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #closing = false;
  #generation = 0;

  constructor(private readonly options: AmqpSinkOptions) {
    if ((options.queue === undefined) === (options.exchange === undefined)) {
      throw new BridgeError('INVALID_CONFIG', 'amqp sink needs exactly one of queue or exchange');
    }
    const target =
      options.queue !== undefined ? `queue '${options.queue}'` : `exchange '${options.exchange}'`;
    this.description = `${redactUrl(options.url)} ${target}`;
  }

  async open(onLost: LostHandler): Promise<void> {
    this.#closing = false;
    const generation = ++this.#generation;
    const model = await connectAmqp(this.options.url, `amqp sink ${this.description}`);
    this.#model = model;
    const lost = (err?: Error): void => {
      if (this.#closing || generation !== this.#generation) return;
      this.#generation++;
      onLost(new BridgeError('ENDPOINT_LOST', `amqp sink lost: ${err?.message ?? 'connection closed'}`));
    };
    model.on('error', () => undefined);
    model.on('close', lost);
    try {
      const channel = await model.createConfirmChannel();
      channel.on('error', () => undefined);
      const what = `amqp sink ${redactUrl(this.options.url)}`;
      const { queue, exchange } = this.options;
      if (queue !== undefined) {
        await channel.checkQueue(queue).catch((err: unknown) => {
          throw amqpTargetError(err, what, `queue '${queue}'`);
        });
      } else if (exchange !== '') {
        await channel.checkExchange(exchange!).catch((err: unknown) => {
          throw amqpTargetError(err, what, `exchange '${exchange}'`);
        });
      }
      channel.on('close', () => lost(new Error('channel closed')));
      this.#channel = channel;
    } catch (err) {
      this.#closing = true;
      await model.close().catch(() => undefined);
      throw err;
    }
  }

  send(message: BridgeMessage): Promise<SinkOutcome> {
    const channel = this.#channel;
    if (channel === undefined)
      return Promise.reject(new BridgeError('ENDPOINT_LOST', 'amqp sink is not open'));
    const { queue, exchange, routingKey } = this.options;
    const key = queue ?? routingKey ?? message.subject.join('.');
    const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
    return new Promise((resolve, reject) => {
      const confirmed = (err: unknown): void => {
        if (err)
          reject(new BridgeError('REJECTED', `amqp sink: publish to ${this.description} was not confirmed`));
        else resolve('stored');
      };
      try {
        channel.publish(
          queue !== undefined ? '' : exchange!,
          key,
          body,
          toAmqpOptions(message.properties),
          confirmed,
        );
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
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
}
