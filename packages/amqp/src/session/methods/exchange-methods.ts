/** exchange.declare / delete / bind / unbind → the engine's routing model. */
import {
  ExchangeNotFoundError,
  PreconditionFailedError,
  type ExchangeKind,
  type VirtualHost,
} from '@conveyor/core';
import { createMethod, type AmqpMethod, ReplyCode } from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { AmqpProtocolError } from '../protocol-error.js';
import { mayBind, mayConfigureExchange } from '../permissions.js';

export async function exchangeMethod(ch: AmqpChannel, method: AmqpMethod): Promise<void> {
  const { vhost } = ch;
  switch (method.name) {
    case 'exchange.declare': {
      const a = method.args;
      if (a.passive) {
        await vhost.declareExchange(a.exchange, 'direct', {}, { passive: true });
      } else {
        const kind = exchangeKind(a.type, a.arguments);
        if (a.exchange === '')
          throw new AmqpProtocolError(
            ReplyCode.ACCESS_REFUSED,
            'operation not permitted on the default exchange',
          );
        mayConfigureExchange(ch, a.exchange);
        await vhost.declareExchange(a.exchange, kind, {
          durable: a.durable,
          autoDelete: a.autoDelete,
          internal: a.internal,
          ...(a.type === DELAYED_MESSAGE ? { delayed: true } : {}),
          arguments: a.arguments,
        });
      }
      if (!a.nowait) ch.sendMethod(createMethod('exchange.declare-ok', {}));
      return;
    }
    case 'exchange.delete': {
      const a = method.args;
      mayConfigureExchange(ch, a.exchange);
      // Deleting an exchange that does not exist succeeds, as in RabbitMQ 3.x.
      if (a.exchange === '' || vhost.hasExchange(a.exchange))
        await vhost.deleteExchange(a.exchange, { ifUnused: a.ifUnused });
      if (!a.nowait) ch.sendMethod(createMethod('exchange.delete-ok', {}));
      return;
    }
    case 'exchange.bind': {
      const a = method.args;
      requireExchanges(vhost, a.destination, a.source);
      mayBind(ch, { kind: 'exchange', name: a.destination }, a.source, a.routingKey);
      await vhost.bindExchange(a.destination, a.source, a.routingKey, a.arguments);
      if (!a.nowait) ch.sendMethod(createMethod('exchange.bind-ok', {}));
      return;
    }
    case 'exchange.unbind': {
      const a = method.args;
      // Idempotent, as RabbitMQ since 3.2: unbinding from or to an exchange that is gone succeeds.
      mayBind(ch, { kind: 'exchange', name: a.destination }, a.source, a.routingKey);
      await vhost.unbindExchange(a.destination, a.source, a.routingKey, a.arguments);
      if (!a.nowait) ch.sendMethod(createMethod('exchange.unbind-ok', {}));
      return;
    }
    default:
      throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `unexpected ${method.name}`);
  }
}

function requireExchanges(vhost: VirtualHost, ...names: string[]): void {
  for (const name of names) if (!vhost.hasExchange(name)) throw new ExchangeNotFoundError(name, vhost.vhost);
}

const KINDS: readonly string[] = ['direct', 'fanout', 'topic', 'headers'] satisfies ExchangeKind[];

/** The delayed-message plugin's exchange type: routes as its `x-delayed-type` says. */
const DELAYED_MESSAGE = 'x-delayed-message';

/**
 * The engine's kind for a declared type. `x-delayed-message` routes as its `x-delayed-type`
 * argument says; declared `delayed`, it holds a message with `x-delay` whole and routes it when
 * the delay is over, as the plugin does (on other exchanges `x-delay` holds each copy back in the
 * queues it reached at once, see publish.ts).
 */
function exchangeKind(type: string, args: Record<string, unknown>): ExchangeKind {
  if (type === DELAYED_MESSAGE) {
    const delayed = args['x-delayed-type'];
    // The plugin's answer to a missing or unknown x-delayed-type: 406, a channel error.
    if (typeof delayed !== 'string' || !isExchangeKind(delayed))
      throw new PreconditionFailedError(
        `Invalid argument, 'x-delayed-type' must be an existing exchange type, got ${JSON.stringify(delayed ?? null)}`,
      );
    return delayed;
  }
  // RabbitMQ treats an unknown exchange type as a connection error.
  if (!isExchangeKind(type))
    throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `invalid exchange type '${type}'`);
  return type;
}

function isExchangeKind(kind: string): kind is ExchangeKind {
  return KINDS.includes(kind);
}
