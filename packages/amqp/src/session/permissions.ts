/**
 * RabbitMQ's permission table for AMQP methods (configure / write / read on queue and exchange
 * names, topic permissions on routing keys of topic exchanges): the rules are the core's
 * (`Principal`), which method needs which is AMQP's, here.
 */
import type { AmqpChannel } from './channel.js';

/** Routing keys of a topic exchange are checked against the user's topic permissions. */
function isTopic(ch: AmqpChannel, exchange: string): boolean {
  return ch.vhost.exchangeInfo(exchange)?.kind === 'topic';
}

/** queue.declare (not passive), queue.delete: configure on the queue. */
export function mayConfigureQueue(ch: AmqpChannel, queue: string): void {
  ch.host.access.check(ch.vhost.vhost, 'configure', 'queue', queue);
}

/** exchange.declare (not passive), exchange.delete: configure on the exchange. */
export function mayConfigureExchange(ch: AmqpChannel, exchange: string): void {
  ch.host.access.check(ch.vhost.vhost, 'configure', 'exchange', exchange);
}

/** basic.get, basic.consume, queue.purge: read on the queue. */
export function mayReadQueue(ch: AmqpChannel, queue: string): void {
  ch.host.access.check(ch.vhost.vhost, 'read', 'queue', queue);
}

/** basic.publish: write on the exchange; topic write on the routing key of a topic exchange. */
export function mayPublish(ch: AmqpChannel, exchange: string, routingKey: string): void {
  const { access } = ch.host;
  const vhost = ch.vhost.vhost;
  access.check(vhost, 'write', 'exchange', exchange);
  if (isTopic(ch, exchange)) access.checkTopic(vhost, exchange, 'write', routingKey);
}

/** queue.bind / unbind, exchange.bind / unbind: write on the destination, read on the source (and its topic). */
export function mayBind(
  ch: AmqpChannel,
  destination: { kind: 'queue' | 'exchange'; name: string },
  source: string,
  routingKey: string,
): void {
  const { access } = ch.host;
  const vhost = ch.vhost.vhost;
  access.check(vhost, 'write', destination.kind, destination.name);
  access.check(vhost, 'read', 'exchange', source);
  if (isTopic(ch, source)) access.checkTopic(vhost, source, 'read', routingKey);
}

/** A dead-letter exchange named at queue.declare: the user must be able to publish there. */
export function mayDeadLetterTo(ch: AmqpChannel, exchange: string): void {
  ch.host.access.check(ch.vhost.vhost, 'write', 'exchange', exchange);
}
