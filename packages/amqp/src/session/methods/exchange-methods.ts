/** exchange.declare / delete / bind / unbind → the engine's routing model. */
import { ExchangeNotFoundError, type ExchangeKind, type VirtualHost } from '@conveyor/core';
import { createMethod, type AmqpMethod, ReplyCode } from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { AmqpProtocolError } from '../protocol-error.js';
import { exchangeKindOf } from '../exchange-types.js';
import { mayBind, mayConfigureExchange } from '../permissions.js';

export async function exchangeMethod(ch: AmqpChannel, method: AmqpMethod): Promise<void> {
  const { vhost } = ch;
  switch (method.name) {
    case 'exchange.declare': {
      const a = method.args;
      if (a.passive) {
        await vhost.declareExchange(a.exchange, 'direct', {}, { passive: true });
      } else {
        const { kind, delayed } = exchangeKind(a.type, a.arguments);
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
          ...(delayed ? { delayed: true } : {}),
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

/** RabbitMQ treats an unknown exchange type as a connection error. */
function exchangeKind(type: string, args: Record<string, unknown>): { kind: ExchangeKind; delayed: boolean } {
  const known = exchangeKindOf(type, args);
  if (!known) throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `invalid exchange type '${type}'`);
  return known;
}
