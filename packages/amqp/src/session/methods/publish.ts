/**
 * basic.publish → `vhost.publish`. The routing part of the engine call runs synchronously, so publishes
 * keep their order; the promise settles once every copy is stored (durable ones synced), which is when a
 * confirm-mode publisher gets its basic.ack (basic.nack when a queue refused it by overflow), after any
 * basic.return of an unroutable mandatory message. A store that fails the publish (Redis away, too few
 * replicas for `wait`) nacks it and leaves a confirm-mode channel open, as RabbitMQ nacks on a queue's
 * internal error: the publisher resends on the same channel. Without confirms the connection's close
 * (541) is the publisher's only notice, so it still closes.
 */
import {
  AccessRefusedError,
  ExchangeNotFoundError,
  isConveyorError,
  PreconditionFailedError,
  type OutgoingMessage,
  type PublishResult,
} from '@conveyor/core';
import {
  createMethod,
  encodeContent,
  toMessageProperties,
  type BasicPublishArgs,
  type ContentCommand,
  ReplyCode,
} from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { DIRECT_REPLY_TO } from '../delivery-properties.js';
import { AmqpProtocolError } from '../protocol-error.js';
import { mayPublish } from '../permissions.js';
import { DEAD_LETTER_EXCHANGE, deadLetterByPublish } from './dead-letter.js';

export function publish(ch: AmqpChannel, args: BasicPublishArgs, cmd: ContentCommand): void {
  const { vhost, host } = ch;
  if (args.immediate) throw new AmqpProtocolError(ReplyCode.NOT_IMPLEMENTED, 'immediate=true');
  if (args.exchange === DEAD_LETTER_EXCHANGE) return deadLetterByPublish(ch, args, cmd);
  const exchange = vhost.exchangeInfo(args.exchange);
  if (!exchange) throw new ExchangeNotFoundError(args.exchange, vhost.vhost);
  mayPublish(ch, args.exchange, args.routingKey);
  if (exchange.options.internal)
    throw new AccessRefusedError(
      `cannot publish to internal exchange '${args.exchange}' in vhost '${vhost.vhost}'`,
    );
  const properties = toMessageProperties(cmd.properties);
  if (properties.userId !== undefined && properties.userId !== host.username) {
    throw new PreconditionFailedError(
      `user_id property set to '${properties.userId}' but authenticated user was '${host.username}'`,
    );
  }
  if (properties.replyTo === DIRECT_REPLY_TO) {
    if (ch.replyQueue === undefined) throw new PreconditionFailedError('fast reply consumer does not exist');
    properties.replyTo = ch.replyQueue;
  }
  const outgoing: OutgoingMessage = { body: cmd.body, properties };
  const delayMs = requestedDelay(properties.headers?.['x-delay']);
  if (delayMs !== undefined) outgoing.delayMs = delayMs;
  const run = (): Promise<PublishResult> =>
    vhost.publish(args.exchange, args.routingKey, outgoing, { mandatory: args.mandatory });

  if (ch.mode.kind === 'tx') {
    ch.mode.ops.push(async () => {
      returnIfUnroutable(ch, args, cmd, await run());
    });
    return;
  }
  const confirm = ch.mode.kind === 'confirm' ? ch.mode.tracker : undefined;
  const seq = confirm?.register() ?? 0;
  const routed = run();
  host.publishStarted();
  // One reaction per publish (no .finally): this is the hot path.
  void routed.then(
    (result) => {
      host.publishSettled();
      returnIfUnroutable(ch, args, cmd, result);
      confirm?.settle(seq, result.rejected.length > 0 ? 'nack' : 'ack');
      if (ch.storeFailing) ch.storeFailing = false;
    },
    (err: unknown) => {
      host.publishSettled();
      confirm?.settle(seq, 'nack');
      if (!confirm || !isConveyorError(err) || err.code !== 'STORE_ERROR') {
        ch.fail(err, cmd.method);
        return;
      }
      // Reported once per run of failures on the channel, not once per nacked message.
      if (!ch.storeFailing) host.backgroundError(err);
      ch.storeFailing = true;
    },
  );
}

/**
 * A Conveyor extension (the header of RabbitMQ's delayed-message plugin, honoured on every exchange):
 * `x-delay: ms` holds the message back in each queue it reaches for that long. Anything but a
 * positive finite number is ignored, as the plugin does.
 */
function requestedDelay(header: unknown): number | undefined {
  const ms =
    typeof header === 'bigint' ? Number(header) : typeof header === 'string' ? Number(header) : header;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

function returnIfUnroutable(
  ch: AmqpChannel,
  args: BasicPublishArgs,
  cmd: ContentCommand,
  result: PublishResult,
): void {
  if (!args.mandatory || !result.unroutable || ch.state.kind !== 'open') return;
  const method = createMethod('basic.return', {
    replyCode: 312,
    replyText: 'NO_ROUTE',
    exchange: args.exchange,
    routingKey: args.routingKey,
  });
  ch.host.send(encodeContent(ch.number, method, cmd.properties, cmd.body, ch.host.frameMax));
}
