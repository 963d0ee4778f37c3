import { InvalidArgumentError, PreconditionFailedError } from '../errors.js';
import type { HeaderValue } from '../message.js';
import {
  EXCHANGE_KINDS,
  type ExchangeInfo,
  type ExchangeKind,
  type ExchangeOptions,
  type ResolvedExchangeOptions,
} from './types.js';

export const ALTERNATE_EXCHANGE_ARG = 'alternate-exchange';

export function assertExchangeKind(kind: string): asserts kind is ExchangeKind {
  if (!(EXCHANGE_KINDS as readonly string[]).includes(kind)) {
    throw new InvalidArgumentError(`unknown exchange type '${kind}'`);
  }
}

function argText(value: HeaderValue): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
}

/** Applies AMQP defaults and resolves the alternate exchange (option first, then the `alternate-exchange` argument). */
export function resolveExchangeOptions(options: ExchangeOptions): ResolvedExchangeOptions {
  const args = Object.freeze({ ...(options.arguments ?? {}) });
  let alternateExchange = options.alternateExchange;
  if (alternateExchange === undefined && Object.hasOwn(args, ALTERNATE_EXCHANGE_ARG)) {
    alternateExchange = argText(args[ALTERNATE_EXCHANGE_ARG]);
    if (alternateExchange === undefined) {
      throw new PreconditionFailedError(`invalid arg '${ALTERNATE_EXCHANGE_ARG}': expected a string`);
    }
  }
  return Object.freeze({
    durable: options.durable ?? false,
    autoDelete: options.autoDelete ?? false,
    internal: options.internal ?? false,
    ...(alternateExchange === undefined ? {} : { alternateExchange }),
    ...(options.delayed === true ? { delayed: true as const } : {}),
    arguments: args,
  });
}

function show(value: string | boolean | undefined): string {
  return value === undefined ? 'none' : `'${String(value)}'`;
}

/**
 * Throws PreconditionFailedError naming the first difference. As in RabbitMQ, the compared fields
 * are kind, durable, autoDelete, internal and the alternate exchange, the only argument the router
 * gives meaning to; other arguments are kept from the first declare and not compared.
 */
export function assertEquivalent(
  existing: ExchangeInfo,
  kind: ExchangeKind,
  requested: ResolvedExchangeOptions,
  vhost: string,
): void {
  const diffs: [string, string | boolean | undefined, string | boolean | undefined][] = [
    ['type', kind, existing.kind],
    ['durable', requested.durable, existing.options.durable],
    ['auto_delete', requested.autoDelete, existing.options.autoDelete],
    ['internal', requested.internal, existing.options.internal],
    [ALTERNATE_EXCHANGE_ARG, requested.alternateExchange, existing.options.alternateExchange],
    // A delayed-message exchange is another type in RabbitMQ (x-delayed-message).
    ['delayed', requested.delayed, existing.options.delayed],
  ];
  for (const [field, received, current] of diffs) {
    if (received !== current) {
      throw new PreconditionFailedError(
        `inequivalent arg '${field}' for exchange '${existing.name}' in vhost '${vhost}': ` +
          `received ${show(received)} but current is ${show(current)}`,
      );
    }
  }
}
