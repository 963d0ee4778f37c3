/**
 * queue.declare `x-*` arguments → the engine's QueueOptions. Every argument is validated the way RabbitMQ
 * does (406 PRECONDITION_FAILED "invalid arg"), then the raw table is kept for redeclare comparison.
 */
import {
  PreconditionFailedError,
  type HeaderValue,
  type Headers,
  type OverflowPolicy,
  type QueueOptions,
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
