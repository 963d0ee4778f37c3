import type { Broker, ConsumerHandle, Delivery, VirtualHost } from '@conveyor/core';
import type { LostHandler, SinkEndpoint, SinkOutcome, SourceEndpoint, SourceMessage } from './endpoint.js';
import { BridgeError, describeError } from './errors.js';
import { routingKeyWords, type BridgeMessage } from './message.js';

/** The embedded broker, or a function giving the current one (it may be closed and reopened). */
export type BrokerRef = Broker | (() => Broker | undefined);

export interface ConveyorTarget {
  broker: BrokerRef;
  /** Default `/`. */
  vhost?: string;
  queue?: string;
  exchange?: string;
  /** Source: binding pattern (default `#`); sink: routing key (default the message's subject joined with `.`). */
  routingKey?: string;
  /** Source with an exchange: the bridge-owned durable queue bound to it. */
  ownQueue?: string;
}

function currentBroker(ref: BrokerRef): Broker | undefined {
  return typeof ref === 'function' ? ref() : ref;
}

function openVhost(target: ConveyorTarget, what: string): VirtualHost {
  const broker = currentBroker(target.broker);
  if (broker === undefined || broker.closed)
    throw new BridgeError('UNREACHABLE', `${what}: the broker is closed`);
  try {
    return broker.vhost(target.vhost ?? '/');
  } catch (err) {
    throw new BridgeError('MISSING_QUEUE', `${what}: ${describeError(err)}`, { cause: err });
  }
}

function describeTarget(target: ConveyorTarget): string {
  const where =
    target.queue !== undefined ? `queue '${target.queue}'` : `exchange '${target.exchange ?? ''}'`;
  return `conveyor vhost '${target.vhost ?? '/'}' ${where}`;
}

/** Consumes a Conveyor queue with a prefetch of the bridge's window. */
export class ConveyorSource implements SourceEndpoint {
  readonly description: string;
  readonly #queue: string;
  #vhost: VirtualHost | undefined;
  #consumer: ConsumerHandle | undefined;
  #onLost: LostHandler | undefined;
  #generation = 0;
  readonly #deliveries = new WeakMap<SourceMessage, Delivery>();

  constructor(private readonly target: ConveyorTarget) {
    const queue = target.queue ?? target.ownQueue;
    if (queue === undefined || (target.queue === undefined && target.exchange === undefined)) {
      throw new BridgeError(
        'INVALID_CONFIG',
        'conveyor source needs a queue, or an exchange (and routingKey)',
      );
    }
    this.#queue = queue;
    this.description = describeTarget(target);
  }

  async open(onLost: LostHandler): Promise<void> {
    this.#generation++;
    const what = `conveyor source ${this.description}`;
    const vhost = openVhost(this.target, what);
    const { exchange, queue } = this.target;
    if (queue !== undefined) {
      if (!vhost.hasQueue(queue)) throw new BridgeError('MISSING_QUEUE', `${what}: no queue '${queue}'`);
    } else {
      if (!vhost.hasExchange(exchange!))
        throw new BridgeError('MISSING_QUEUE', `${what}: no exchange '${exchange}'`);
      await vhost.declareQueue(this.#queue, { durable: true });
      await vhost.bindQueue(this.#queue, exchange!, this.target.routingKey ?? '#');
    }
    this.#vhost = vhost;
    this.#onLost = onLost;
  }

  async start(onMessage: (message: SourceMessage) => void, window: number): Promise<void> {
    const vhost = this.#vhost;
    if (vhost === undefined) throw new BridgeError('ENDPOINT_LOST', 'conveyor source is not open');
    const generation = this.#generation;
    this.#consumer = vhost.consume(
      this.#queue,
      (delivery) => {
        const { message } = delivery;
        const source: SourceMessage = {
          generation,
          message: {
            body: message.body,
            properties: message.properties,
            subject: routingKeyWords(message.routingKey),
          },
        };
        this.#deliveries.set(source, delivery);
        onMessage(source);
      },
      {
        prefetch: window,
        onCancel: (reason) => {
          if (generation !== this.#generation) return;
          this.#generation++;
          this.#onLost?.(
            new BridgeError('ENDPOINT_LOST', `conveyor source lost: consumer ended (${reason})`),
          );
        },
      },
    );
  }

  async ack(message: SourceMessage): Promise<void> {
    const delivery = this.#deliveries.get(message);
    if (delivery === undefined || message.generation !== this.#generation) return;
    await this.#vhost?.ack(delivery);
  }

  async nack(message: SourceMessage): Promise<void> {
    const delivery = this.#deliveries.get(message);
    if (delivery === undefined || message.generation !== this.#generation) return;
    await this.#vhost?.nack(delivery);
  }

  async backlog(): Promise<number | undefined> {
    try {
      return this.#vhost ? (await this.#vhost.count(this.#queue)).ready : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.#generation++;
    const consumer = this.#consumer;
    this.#consumer = undefined;
    this.#vhost = undefined;
    await consumer?.cancel().catch(() => undefined);
  }

  abort(): void {
    void this.close();
  }
}

/** Publishes into a Conveyor vhost; `send` resolves once the message is durable (group commit). */
export class ConveyorSink implements SinkEndpoint {
  readonly description: string;
  #vhost: VirtualHost | undefined;

  constructor(private readonly target: ConveyorTarget) {
    if ((target.queue === undefined) === (target.exchange === undefined)) {
      throw new BridgeError('INVALID_CONFIG', 'conveyor sink needs exactly one of queue or exchange');
    }
    this.description = describeTarget(target);
  }

  async open(): Promise<void> {
    const what = `conveyor sink ${this.description}`;
    const vhost = openVhost(this.target, what);
    const { exchange, queue } = this.target;
    if (queue !== undefined && !vhost.hasQueue(queue))
      throw new BridgeError('MISSING_QUEUE', `${what}: no queue '${queue}'`);
    if (exchange !== undefined && !vhost.hasExchange(exchange))
      throw new BridgeError('MISSING_QUEUE', `${what}: no exchange '${exchange}'`);
    this.#vhost = vhost;
  }

  async send(message: BridgeMessage): Promise<SinkOutcome> {
    const vhost = this.#vhost;
    if (vhost === undefined) throw new BridgeError('ENDPOINT_LOST', 'conveyor sink is not open');
    const outgoing = { body: message.body, properties: message.properties };
    const { queue, exchange, routingKey } = this.target;
    const result =
      queue !== undefined
        ? await vhost.send(queue, outgoing)
        : await vhost.publish(exchange!, routingKey ?? message.subject.join('.'), outgoing);
    if (result.rejected.length > 0)
      throw new BridgeError(
        'REJECTED',
        `conveyor sink: queue '${result.rejected.join("', '")}' refused the message`,
      );
    return result.duplicates.length > 0 && result.duplicates.length === result.queues.length
      ? 'duplicate'
      : 'stored';
  }

  async close(): Promise<void> {
    this.#vhost = undefined;
  }

  abort(): void {
    this.#vhost = undefined;
  }
}
