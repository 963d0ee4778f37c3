import { InequivalentOptionError, InvalidArgumentError } from '../errors.js';
import type { Headers } from '../message.js';

/** Where a queue's dead letters go: an exchange plus an optional routing key (AMQP's DLX model). */
export interface DeadLetterTarget {
  exchange: string;
  /** Absent: the message keeps its original routing key. */
  routingKey?: string;
}

export type OverflowPolicy = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

export interface QueueOptions {
  /** Survives a broker restart, with its persistent messages. Default true. */
  durable?: boolean;
  /** Owned by the declaring connection/session; deleted when the owner goes. */
  exclusive?: boolean;
  /** Deleted when its last consumer leaves (once it has had one). */
  autoDelete?: boolean;
  /** Deleted after this long without consumers, receives or redeclares. */
  expiresMs?: number;
  /** Default lease (visibility timeout) of a pull receive. */
  leaseMs?: number;
  /** A message is delivered at most this many times; the next delivery dead-letters it (`delivery_limit`). */
  maxDeliveries?: number;
  deadLetter?: DeadLetterTarget;
  /** Default time to live of messages in this queue. */
  messageTtlMs?: number;
  maxLength?: number;
  maxBytes?: number;
  /** What happens past maxLength/maxBytes. Default `drop-head`. */
  overflow?: OverflowPolicy;
  /** A message id seen again within this window is accepted but not enqueued twice. */
  dedupeWindowMs?: number;
  /** A push consumer holding a delivery longer than this loses it (and is cancelled). */
  consumerTimeoutMs?: number;
  /**
   * Only one consumer gets deliveries: the earliest attached that is still there; the others wait
   * and take over in attach order when it leaves (what it held is redelivered to the next). Over a
   * shared store, one per node.
   */
  singleActiveConsumer?: boolean;
  /**
   * A priority queue with levels 1 … maxPriority (at most 255): a message's `priority` (above the
   * maximum: the maximum; absent: 0) decides its place, higher first, FIFO within a level. 0 or
   * absent: not a priority queue. Needs a store that orders by priority (the embedded ones).
   */
  maxPriority?: number;
  /** Protocol-specific arguments kept as declared (compared on redeclare). */
  arguments?: Headers;
}

/** Options with defaults filled in: what the engine stores and compares. */
export type ResolvedQueueOptions = Required<
  Pick<QueueOptions, 'durable' | 'exclusive' | 'autoDelete' | 'overflow'>
> &
  Omit<QueueOptions, 'durable' | 'exclusive' | 'autoDelete' | 'overflow'>;

const positiveFields = [
  'expiresMs',
  'leaseMs',
  'maxDeliveries',
  'messageTtlMs',
  'dedupeWindowMs',
  'consumerTimeoutMs',
] as const;
const nonNegativeFields = ['maxLength', 'maxBytes'] as const;
const overflowPolicies: readonly OverflowPolicy[] = ['drop-head', 'reject-publish', 'reject-publish-dlx'];

export function resolveQueueOptions(options: QueueOptions = {}): ResolvedQueueOptions {
  for (const field of positiveFields) {
    const v = options[field];
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) {
      throw new InvalidArgumentError(`queue option ${field} must be a positive number, got ${String(v)}`);
    }
  }
  for (const field of nonNegativeFields) {
    const v = options[field];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
      throw new InvalidArgumentError(
        `queue option ${field} must be a non-negative integer, got ${String(v)}`,
      );
    }
  }
  if (options.overflow !== undefined && !overflowPolicies.includes(options.overflow)) {
    throw new InvalidArgumentError(`queue option overflow must be one of ${overflowPolicies.join(', ')}`);
  }
  const maxPriority = options.maxPriority;
  if (maxPriority !== undefined && (!Number.isInteger(maxPriority) || maxPriority < 0 || maxPriority > 255)) {
    throw new InvalidArgumentError(
      `queue option maxPriority must be a whole number from 0 to 255, got ${String(maxPriority)}`,
    );
  }
  if (options.deadLetter !== undefined && typeof options.deadLetter.exchange !== 'string') {
    throw new InvalidArgumentError('queue option deadLetter needs an exchange ("" for the default exchange)');
  }
  const resolved: ResolvedQueueOptions = {
    durable: options.durable ?? true,
    exclusive: options.exclusive ?? false,
    autoDelete: options.autoDelete ?? false,
    overflow: options.overflow ?? 'drop-head',
  };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && !(key in resolved)) (resolved as Record<string, unknown>)[key] = value;
  }
  return resolved;
}

/** Dead-letter straight to a queue: the default exchange with the queue's name as key. */
export function deadLetterToQueue(queue: string): DeadLetterTarget {
  return { exchange: '', routingKey: queue };
}

/** Throws PreconditionFailedError naming the first option that differs from the declared queue. */
export function assertEquivalent(
  queue: string,
  existing: ResolvedQueueOptions,
  requested: ResolvedQueueOptions,
): void {
  const keys = new Set([...Object.keys(existing), ...Object.keys(requested)]);
  for (const key of keys) {
    const a = (existing as Record<string, unknown>)[key];
    const b = (requested as Record<string, unknown>)[key];
    if (!sameValue(a, b)) {
      throw new InequivalentOptionError(
        queue,
        key,
        a,
        b,
        `inequivalent option '${key}' for queue '${queue}': declared ${describe(a)}, requested ${describe(b)}`,
      );
    }
  }
}

/**
 * A queue that outlives its node and a restart: durable and not exclusive (an exclusive one ends
 * with its connection). Only such a queue's creation and records wait for replicas (Redis `wait`).
 */
export function outlivesItsNode(options: ResolvedQueueOptions): boolean {
  return options.durable && !options.exclusive;
}

/** Same declaration: what `assertEquivalent` accepts. */
export function equivalentOptions(a: ResolvedQueueOptions, b: ResolvedQueueOptions): boolean {
  return sameValue(a, b);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function describe(v: unknown): string {
  if (v === undefined) return 'none';
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  } catch {
    return String(v);
  }
}
