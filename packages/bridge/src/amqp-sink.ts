import type { ConfirmChannel } from 'amqplib';
import { AmqpLink, amqpTargetError } from './amqp-connect.js';
import { toAmqplibOptions } from '@conveyor/amqp';
import type { LostHandler, SinkEndpoint, SinkOutcome } from './endpoint.js';
import { BridgeError, redactUrl } from './errors.js';
import type { BridgeMessage } from './message.js';

export interface AmqpSinkOptions {
  url: string;
  /** PEM CA certificates a TLS peer's certificate is verified against (default: Node's trust store). */
  ca?: Buffer;
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
  readonly #link: AmqpLink<ConfirmChannel>;

  constructor(private readonly options: AmqpSinkOptions) {
    if ((options.queue === undefined) === (options.exchange === undefined)) {
      throw new BridgeError('INVALID_CONFIG', 'amqp sink needs exactly one of queue or exchange');
    }
    const target =
      options.queue !== undefined ? `queue '${options.queue}'` : `exchange '${options.exchange}'`;
    this.description = `${redactUrl(options.url)} ${target}`;
    this.#link = new AmqpLink(options.url, `amqp sink ${this.description}`, options.ca);
  }

  open(onLost: LostHandler): Promise<void> {
    return this.#link.open(
      onLost,
      (model) => model.createConfirmChannel(),
      (channel) => this.#check(channel),
    );
  }

  async #check(channel: ConfirmChannel): Promise<void> {
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
  }

  send(message: BridgeMessage): Promise<SinkOutcome> {
    const channel = this.#link.channel;
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
          // A bridged message stays persistent unless it says otherwise.
          toAmqplibOptions({ ...message.properties, persistent: message.properties.persistent !== false }),
          confirmed,
        );
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  close(): Promise<void> {
    return this.#link.close();
  }

  abort(): void {
    this.#link.abort();
  }
}
