/**
 * AMQP exchange types → the engine's exchange kinds, one mapping for exchange.declare and for
 * definitions files. `x-delayed-message` (the delayed-message plugin's type) routes as its
 * `x-delayed-type` argument says, and is declared `delayed`: a message with `x-delay` is held
 * whole and routed when the delay is over, as the plugin does.
 */
import { PreconditionFailedError, type ExchangeInfo, type ExchangeKind } from '@conveyor/core';

export const DELAYED_MESSAGE = 'x-delayed-message';

const KINDS: readonly string[] = ['direct', 'fanout', 'topic', 'headers'] satisfies ExchangeKind[];

export function isExchangeKind(kind: string): kind is ExchangeKind {
  return KINDS.includes(kind);
}

/**
 * The engine's kind for a declared type and whether it is delayed; undefined for a type nobody
 * knows (each door answers that its own way). A delayed-message type without a known
 * `x-delayed-type` is the plugin's 406.
 */
export function exchangeKindOf(
  type: string,
  args: Readonly<Record<string, unknown>>,
): { kind: ExchangeKind; delayed: boolean } | undefined {
  if (type === DELAYED_MESSAGE) {
    const delayed = args['x-delayed-type'];
    if (typeof delayed !== 'string' || !isExchangeKind(delayed))
      throw new PreconditionFailedError(
        `Invalid argument, 'x-delayed-type' must be an existing exchange type, got ${JSON.stringify(delayed ?? null)}`,
      );
    return { kind: delayed, delayed: true };
  }
  return isExchangeKind(type) ? { kind: type, delayed: false } : undefined;
}

/** The AMQP type and arguments an exchange is declared with (the inverse of exchangeKindOf). */
export function amqpExchangeType(exchange: ExchangeInfo): {
  type: string;
  arguments: Record<string, unknown>;
} {
  const args: Record<string, unknown> = { ...exchange.options.arguments };
  if (!exchange.options.delayed) return { type: exchange.kind, arguments: args };
  args['x-delayed-type'] ??= exchange.kind;
  return { type: DELAYED_MESSAGE, arguments: args };
}
