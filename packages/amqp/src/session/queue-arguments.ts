/**
 * queue.declare `x-*` arguments → the engine's QueueOptions. Every argument is validated the way RabbitMQ
 * does (406 PRECONDITION_FAILED "invalid arg"), then the raw table is kept for redeclare comparison.
 */
import {
  PreconditionFailedError,
  type InequivalentOptionError,
  type HeaderValue,
  type Headers,
  type OverflowPolicy,
  type QueueOptions,
  type ResolvedQueueOptions,
} from '@conveyor/core';

export interface DeclareFlags {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
}

const QUEUE_TYPES = new Set(['classic', 'quorum']);
const OVERFLOWS: readonly OverflowPolicy[] = ['drop-head', 'reject-publish', 'reject-publish-dlx'];

function invalid(name: string, value: HeaderValue, why: string): PreconditionFailedError {
  return new PreconditionFailedError(
    `invalid arg '${name}' for queue: ${why} (got ${JSON.stringify(typeof value === 'bigint' ? String(value) : value)})`,
  );
}

function integer(args: Headers, name: string, min: number): number | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw invalid(name, value, 'expected an integer');
  if (n < min) throw invalid(name, value, `expected an integer >= ${min}`);
  return n;
}

function text(args: Headers, name: string): string | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  throw invalid(name, value, 'expected a string');
}

export function queueOptionsFromArguments(args: Headers, flags: DeclareFlags): QueueOptions {
  const options: QueueOptions = {
    durable: flags.durable,
    exclusive: flags.exclusive,
    autoDelete: flags.autoDelete,
  };
  const queueType = text(args, 'x-queue-type');
  if (queueType !== undefined && !QUEUE_TYPES.has(queueType)) {
    throw invalid('x-queue-type', queueType, "only 'classic' and 'quorum' are supported");
  }
  // RabbitMQ allows x-message-ttl = 0 (expire unless deliverable at once); the engine needs > 0: 1 ms is the nearest.
  const ttl = integer(args, 'x-message-ttl', 0);
  if (ttl !== undefined) options.messageTtlMs = Math.max(1, ttl);
  const expires = integer(args, 'x-expires', 1);
  if (expires !== undefined) options.expiresMs = expires;
  const maxLength = integer(args, 'x-max-length', 0);
  if (maxLength !== undefined) options.maxLength = maxLength;
  const maxBytes = integer(args, 'x-max-length-bytes', 0);
  if (maxBytes !== undefined) options.maxBytes = maxBytes;
  const maxPriority = integer(args, 'x-max-priority', 0);
  if (maxPriority !== undefined) {
    if (maxPriority > 255) throw invalid('x-max-priority', args['x-max-priority']!, 'expected at most 255');
    if (maxPriority > 0) options.maxPriority = maxPriority;
  }
  const overflow = text(args, 'x-overflow');
  if (overflow !== undefined) {
    if (!(OVERFLOWS as readonly string[]).includes(overflow))
      throw invalid('x-overflow', overflow, `expected one of ${OVERFLOWS.join(', ')}`);
    options.overflow = overflow as OverflowPolicy;
  }
  const dlx = text(args, 'x-dead-letter-exchange');
  const dlk = text(args, 'x-dead-letter-routing-key');
  if (dlk !== undefined && dlx === undefined) {
    throw invalid('x-dead-letter-routing-key', dlk, 'x-dead-letter-exchange is required with it');
  }
  if (dlx !== undefined)
    options.deadLetter = dlk === undefined ? { exchange: dlx } : { exchange: dlx, routingKey: dlk };
  // RabbitMQ's limit counts redeliveries; the engine counts deliveries, the first one included.
  const deliveryLimit = integer(args, 'x-delivery-limit', 0);
  if (deliveryLimit !== undefined) options.maxDeliveries = deliveryLimit + 1;
  const consumerTimeout = integer(args, 'x-consumer-timeout', 1);
  if (consumerTimeout !== undefined) options.consumerTimeoutMs = consumerTimeout;
  const singleActive = args['x-single-active-consumer'];
  if (singleActive !== undefined) {
    if (typeof singleActive !== 'boolean')
      throw invalid('x-single-active-consumer', singleActive, 'expected a boolean');
    if (singleActive) options.singleActiveConsumer = true;
  }
  if (Object.keys(args).length > 0) options.arguments = args;
  return options;
}

/** The engine's queue options as AMQP names them: the `x-*` argument, and its value on the wire. */
const AMQP_NAMES: Record<string, { arg: string; value?: (v: unknown) => unknown }> = {
  durable: { arg: 'durable' },
  exclusive: { arg: 'exclusive' },
  autoDelete: { arg: 'auto_delete' },
  messageTtlMs: { arg: 'x-message-ttl' },
  expiresMs: { arg: 'x-expires' },
  maxLength: { arg: 'x-max-length' },
  maxPriority: { arg: 'x-max-priority' },
  maxBytes: { arg: 'x-max-length-bytes' },
  overflow: { arg: 'x-overflow' },
  deadLetter: { arg: 'x-dead-letter-exchange', value: (v) => (v as { exchange?: string }).exchange },
  // The engine counts deliveries, RabbitMQ's limit redeliveries.
  maxDeliveries: { arg: 'x-delivery-limit', value: (v) => (v as number) - 1 },
  consumerTimeoutMs: { arg: 'x-consumer-timeout' },
  singleActiveConsumer: { arg: 'x-single-active-consumer' },
};

function shown(value: unknown): string {
  if (value === undefined || value === null) return 'none';
  const text =
    typeof value === 'bigint' ? String(value) : typeof value === 'string' ? value : JSON.stringify(value);
  return `the value '${text}'`;
}

/** The first `x-*` argument two argument tables disagree on. */
function firstDifferentArgument(declared: unknown, requested: unknown): string | undefined {
  const a = (declared ?? {}) as Record<string, unknown>;
  const b = (requested ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].find((k) => shown(a[k]) !== shown(b[k]));
}

/**
 * RabbitMQ's text for a redeclare with other arguments, named the way the client declared them
 * (`x-delivery-limit`, not the engine's `maxDeliveries`): "inequivalent arg 'x-message-ttl' for
 * queue 'q' in vhost '/': received the value '2000' but current is none".
 */
export function inequivalentArgument(err: InequivalentOptionError, vhost: string): PreconditionFailedError {
  let arg: string;
  let requested: unknown;
  let declared: unknown;
  if (err.option === 'arguments') {
    arg = firstDifferentArgument(err.declared, err.requested) ?? 'arguments';
    requested = (err.requested as Record<string, unknown> | undefined)?.[arg];
    declared = (err.declared as Record<string, unknown> | undefined)?.[arg];
  } else {
    const name = AMQP_NAMES[err.option];
    // An option AMQP has no argument for was set through another door (the HTTP API, NestJS).
    arg = name?.arg ?? `${err.option} (a Conveyor option, no AMQP argument)`;
    const toWire = name?.value ?? ((v: unknown) => v);
    requested = err.requested === undefined ? undefined : toWire(err.requested);
    declared = err.declared === undefined ? undefined : toWire(err.declared);
  }
  return new PreconditionFailedError(
    `inequivalent arg '${arg}' for queue '${err.queue}' in vhost '${vhost}': received ${shown(requested)} but current is ${shown(declared)}`,
  );
}

/** An AMQP table value as JSON holds it: long integers as numbers, byte strings as text. */
function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(jsonValue);
  if (typeof value === 'object' && value !== null && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  return value;
}

/**
 * The `x-*` arguments a queue is declared with, as JSON (definitions files): the table it was
 * declared with over AMQP, or, for a queue another door declared, its options as AMQP names them.
 * Options AMQP has no argument for (`leaseMs`, `dedupeWindowMs`) are not among them.
 */
export function queueArgumentsOf(options: ResolvedQueueOptions): Record<string, unknown> {
  if (options.arguments !== undefined)
    return Object.fromEntries(Object.entries(options.arguments).map(([k, v]) => [k, jsonValue(v)]));
  const args: Record<string, unknown> = {};
  if (options.messageTtlMs !== undefined) args['x-message-ttl'] = options.messageTtlMs;
  if (options.expiresMs !== undefined) args['x-expires'] = options.expiresMs;
  if (options.maxLength !== undefined) args['x-max-length'] = options.maxLength;
  if (options.maxBytes !== undefined) args['x-max-length-bytes'] = options.maxBytes;
  if (options.maxPriority !== undefined) args['x-max-priority'] = options.maxPriority;
  if (options.overflow !== 'drop-head') args['x-overflow'] = options.overflow;
  if (options.deadLetter !== undefined) {
    args['x-dead-letter-exchange'] = options.deadLetter.exchange;
    if (options.deadLetter.routingKey !== undefined)
      args['x-dead-letter-routing-key'] = options.deadLetter.routingKey;
  }
  if (options.maxDeliveries !== undefined) args['x-delivery-limit'] = options.maxDeliveries - 1;
  if (options.consumerTimeoutMs !== undefined) args['x-consumer-timeout'] = options.consumerTimeoutMs;
  if (options.singleActiveConsumer === true) args['x-single-active-consumer'] = true;
  return args;
}
