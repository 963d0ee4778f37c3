/**
 * Delayed publishes to a `delayed` exchange (RabbitMQ's delayed-message exchange): held whole in
 * one queue of the virtual host, `amq.delayed-routing`, as the message was published (exchange,
 * routing key, properties), ready when its delay is over; the engine's own consumer then routes
 * it through the exchange with the bindings of that moment and acks it. Durable like any queue:
 * a persistent delayed message survives a restart and is routed after it. Routing then acks, so a
 * crash in between routes it twice rather than never (at least once, as everywhere).
 */
import { ExchangeNotFoundError } from '../errors.js';
import type { MessageData, OutgoingMessage } from '../message.js';
import type { ConsumerHandle, ConsumeOptions } from './consumer.js';
import type { Delivery, DeliveryHandler } from './delivery.js';
import type { NackOptions, PublishResult, QueueInfo } from './vhost-types.js';
import type { QueueOptions } from './queue-options.js';

/** The queue that holds delayed publishes of every delayed exchange of a virtual host. */
export const DELAYED_ROUTING_QUEUE = 'amq.delayed-routing';

/** Held messages being routed at a time: a backlog that falls due at once is routed in steps. */
const IN_FLIGHT = 256;

/** Retry of a held message whose routing failed for a reason other than a missing exchange. */
const RETRY_MS = 1_000;

/** What the delayed routing needs of its virtual host. */
export interface DelayedRoutingHost {
  hasQueue(name: string): boolean;
  declareQueue(name: string, options: QueueOptions): Promise<QueueInfo>;
  consume(name: string, handler: DeliveryHandler, options: ConsumeOptions): ConsumerHandle;
  ack(delivery: Delivery): Promise<void>;
  nack(delivery: Delivery, options: NackOptions): Promise<void>;
  /** Into the held queue, keeping the message's exchange and routing key. */
  hold(message: MessageData, outgoing: OutgoingMessage): Promise<PublishResult>;
  /** Routes now (no delay) through `exchange`. */
  route(exchange: string, routingKey: string, outgoing: OutgoingMessage): Promise<PublishResult>;
  backgroundError(err: unknown): void;
}

export class DelayedRouting {
  #ready: Promise<void> | undefined;
  #consuming = false;

  constructor(private readonly host: DelayedRoutingHost) {}

  /** A delayed publish to a delayed exchange: stored in the held queue, routed later. */
  async publish(message: MessageData, outgoing: OutgoingMessage): Promise<PublishResult> {
    await (this.#ready ??= this.#declare());
    return this.host.hold(message, outgoing);
  }

  /** After a restart: route what was held before it. */
  resume(): void {
    if (this.host.hasQueue(DELAYED_ROUTING_QUEUE)) this.#startConsumer();
  }

  async #declare(): Promise<void> {
    try {
      await this.host.declareQueue(DELAYED_ROUTING_QUEUE, { durable: true });
    } catch (err) {
      this.#ready = undefined;
      throw err;
    }
    this.#startConsumer();
  }

  #startConsumer(): void {
    if (this.#consuming) return;
    this.#consuming = true;
    this.host.consume(DELAYED_ROUTING_QUEUE, (d) => this.#routeHeld(d), {
      prefetch: IN_FLIGHT,
      onCancel: () => {
        this.#consuming = false;
        this.#ready = undefined;
      },
    });
  }

  #routeHeld(delivery: Delivery): void {
    const { exchange, routingKey, properties, body } = delivery.message;
    let routed: Promise<PublishResult>;
    try {
      routed = this.host.route(exchange, routingKey, { body, properties });
    } catch (err) {
      routed = Promise.reject(err); // routing refuses synchronously (no such exchange)
    }
    routed.then(
      () => this.host.ack(delivery).catch((err: unknown) => this.host.backgroundError(err)),
      (err: unknown) => {
        // The exchange went while the message waited: it is dropped, as the plugin does.
        const settle =
          err instanceof ExchangeNotFoundError
            ? this.host.ack(delivery)
            : this.host.nack(delivery, { requeue: true, delayMs: RETRY_MS });
        if (!(err instanceof ExchangeNotFoundError)) this.host.backgroundError(err);
        settle.catch((e: unknown) => this.host.backgroundError(e));
      },
    );
  }
}
