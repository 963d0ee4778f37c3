import { EventPattern, MessagePattern } from '@nestjs/microservices';

/** The transport id: Nest hands these handlers to `ConveyorServer` only. */
export const CONVEYOR_TRANSPORT = Symbol.for('conveyor.transport');

export interface RetryPolicy {
  /** Deliveries before the message is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** Delay before the first retry. Default 100 ms. */
  backoffMs?: number;
  /** Each retry waits this much longer than the previous. Default 2. */
  factor?: number;
  /** Longest delay. Default 30 s. */
  maxBackoffMs?: number;
}

export interface ConsumerOptions {
  /** Messages handled at once (the prefetch). Default 10. */
  concurrency?: number;
  /**
   * Pull with this lease instead of push, renewed while the handler runs (embedded mode; over
   * AMQP a delivery stays with its consumer until settled, so no lease is needed).
   */
  leaseMs?: number;
  retry?: RetryPolicy;
  /** Default `<queue>.dlq`. */
  deadLetterQueue?: string;
  /** False: the handler settles through `@Ctx()` (`ack`, `nack`, `deadLetter`). Default true. */
  autoAck?: boolean;
  /** Default true. */
  durable?: boolean;
}

export type OneWayOptions = ConsumerOptions;

export interface RequestHandlerOptions {
  /** Requests handled at once. Default 10. */
  concurrency?: number;
  /** How long a correlation id's reply is remembered for resends. Default 60 s. */
  windowMs?: number;
  deadLetterQueue?: string;
}

export interface BroadcastOptions extends ConsumerOptions {
  /** One copy per instance (a private queue that goes with it) instead of one per service. */
  perInstance?: boolean;
  /** Name of the subscriber group; default the server's `appName`. */
  group?: string;
}

export type HandlerSpec =
  | { kind: 'one-way'; queue: string; options: OneWayOptions }
  | { kind: 'request'; queue: string; options: RequestHandlerOptions }
  | { kind: 'broadcast'; topic: string; options: BroadcastOptions };

/** EventPattern's plain overload (its typed-event overload does not fit a generic MethodDecorator). */
const eventPattern = EventPattern as (
  pattern: string,
  transport: symbol,
  extras: Record<string, unknown>,
) => MethodDecorator;

/** Where the spec lives in the handler's Nest `extras`. */
export const SPEC_KEY = 'conveyor';

/** The pattern a broadcast handler is registered under (so it never merges with a queue's). */
export function broadcastPattern(topic: string): string {
  return `broadcast:${topic}`;
}

/** Competing consumers on `queue`: acked when the handler completes, retried, then dead-lettered. */
export function OneWay(queue: string, options: OneWayOptions = {}): MethodDecorator {
  const spec: HandlerSpec = { kind: 'one-way', queue, options };
  return eventPattern(queue, CONVEYOR_TRANSPORT, { [SPEC_KEY]: spec });
}

/** Request/response on `queue`: the return value goes to the request's reply-to. */
export function Request(queue: string, options: RequestHandlerOptions = {}): MethodDecorator {
  const spec: HandlerSpec = { kind: 'request', queue, options };
  return MessagePattern(queue, CONVEYOR_TRANSPORT, { [SPEC_KEY]: spec });
}

/** A copy of every message published to `topic` (`*`/`#` wildcards) per service, or per instance. */
export function Broadcast(topic: string, options: BroadcastOptions = {}): MethodDecorator {
  const spec: HandlerSpec = { kind: 'broadcast', topic, options };
  return eventPattern(broadcastPattern(topic), CONVEYOR_TRANSPORT, { [SPEC_KEY]: spec });
}

/** The spec in a registered handler's extras, if it is one of ours. */
export function specOf(extras: Record<string, unknown> | undefined): HandlerSpec | undefined {
  const spec = extras?.[SPEC_KEY];
  return spec !== null && typeof spec === 'object' && 'kind' in spec ? (spec as HandlerSpec) : undefined;
}
