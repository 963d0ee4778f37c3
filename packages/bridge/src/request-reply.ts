import { AmqpSink } from './amqp-sink.js';
import { AmqpSource } from './amqp-source.js';
import { Bridge, type BridgeOptions } from './bridge.js';
import { ConveyorSink, ConveyorSource, type BrokerRef } from './conveyor-endpoint.js';
import { routingKeyWords, type BridgeMessage } from './message.js';

export interface RequestReplyBridgeOptions {
  name: string;
  /** The embedded Conveyor broker. */
  broker: BrokerRef;
  vhost?: string;
  /** Conveyor queue the requests are sent to. */
  requestQueue: string;
  /** RabbitMQ URL. */
  amqpUrl: string;
  /** Queue the legacy RPC server consumes. */
  amqpQueue: string;
  /** Bridge-owned durable reply queue on RabbitMQ. Default `conveyor-bridge.<name>.replies`. */
  replyQueue?: string;
  /** How long a request's reply-to is remembered. Default 5 min. */
  replyWindowMs?: number;
  /** Most requests remembered at once (oldest forgotten first). Default 100,000. */
  maxPending?: number;
  window?: number;
  onError?: BridgeOptions['onError'];
}

/** Correlation id → the Conveyor reply queue the requester waits on. */
class ReplyRoutes {
  readonly #routes = new Map<string, { replyTo: string; at: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  remember(correlationId: string, replyTo: string): void {
    this.#routes.delete(correlationId);
    this.#routes.set(correlationId, { replyTo, at: Date.now() });
    const cutoff = Date.now() - this.windowMs;
    for (const [id, route] of this.#routes) {
      if (this.#routes.size <= this.max && route.at >= cutoff) break; // insertion order = age order
      this.#routes.delete(id);
    }
  }

  take(correlationId: string): string | undefined {
    const route = this.#routes.get(correlationId);
    this.#routes.delete(correlationId);
    return route !== undefined && route.at >= Date.now() - this.windowMs ? route.replyTo : undefined;
  }
}

/**
 * Request/response across the bridge: requests go from a Conveyor queue to a RabbitMQ queue with
 * reply-to rewritten to a bridge-owned reply queue on RabbitMQ; replies come back from there to
 * the Conveyor reply queue of the request with the same correlation id. Correlation ids are kept
 * unchanged on the wire; the routes live in the bridge's memory (a restart forgets them: the
 * requester's retry then gets its answer).
 */
export function requestReplyBridges(options: RequestReplyBridgeOptions): [requests: Bridge, replies: Bridge] {
  const replyQueue = options.replyQueue ?? `conveyor-bridge.${options.name}.replies`;
  const routes = new ReplyRoutes(options.replyWindowMs ?? 300_000, options.maxPending ?? 100_000);
  const target = { broker: options.broker, ...(options.vhost === undefined ? {} : { vhost: options.vhost }) };
  const common = {
    ...(options.window === undefined ? {} : { window: options.window }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  };
  const requests = new Bridge({
    ...common,
    name: options.name,
    source: new ConveyorSource({ ...target, queue: options.requestQueue }),
    sink: new AmqpSink({ url: options.amqpUrl, queue: options.amqpQueue }),
    transform: (message): BridgeMessage => {
      const { replyTo, correlationId } = message.properties;
      if (replyTo === undefined || correlationId === undefined) return message;
      routes.remember(correlationId, replyTo);
      return { ...message, properties: { ...message.properties, replyTo: replyQueue } };
    },
  });
  const replies = new Bridge({
    ...common,
    name: `${options.name}.replies`,
    source: new AmqpSource({ url: options.amqpUrl, ownQueue: replyQueue }),
    sink: new ConveyorSink({ ...target, exchange: '' }),
    transform: (message): BridgeMessage | undefined => {
      const { correlationId } = message.properties;
      const replyTo = correlationId === undefined ? undefined : routes.take(correlationId);
      if (replyTo === undefined) return undefined; // nobody waits for it (late, or the bridge restarted)
      return { ...message, subject: routingKeyWords(replyTo) };
    },
  });
  return [requests, replies];
}
