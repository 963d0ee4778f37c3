/** basic.* methods from clients: qos, consume, cancel, get, and the settlements. */
import { randomBytes } from 'node:crypto';
import {
  AccessRefusedError,
  PreconditionFailedError,
  ResourceLockedError,
  type ConsumerHandle,
} from '@conveyor/core';
import {
  createMethod,
  encodeContent,
  type AmqpMethod,
  type BasicConsumeArgs,
  type BasicGetArgs,
  ReplyCode,
} from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { deliveryProperties, DIRECT_REPLY_TO } from '../delivery-properties.js';
import { AmqpProtocolError } from '../protocol-error.js';
import { mayReadQueue } from '../permissions.js';
import { queueName } from './queue-methods.js';
import { ack, nack, recover } from './settle.js';

export async function basicMethod(ch: AmqpChannel, method: AmqpMethod): Promise<void> {
  switch (method.name) {
    case 'basic.qos': {
      const a = method.args;
      if (a.prefetchSize !== 0)
        throw new AmqpProtocolError(ReplyCode.NOT_IMPLEMENTED, `prefetch_size!=0 (${a.prefetchSize})`);
      if (a.global || ch.host.capabilities.specQos) {
        // The channel's limit, shared by its consumers: applies at once, raised or lowered.
        ch.window.limit = a.prefetchCount;
        for (const c of ch.consumers.values()) c.handle.wake();
      } else ch.prefetch = a.prefetchCount; // RabbitMQ: each consumer created afterwards
      ch.sendMethod(createMethod('basic.qos-ok', {}));
      return;
    }
    case 'basic.consume':
      return consume(ch, method.args);
    case 'basic.cancel': {
      const a = method.args;
      const entry = ch.consumers.get(a.consumerTag);
      if (entry) {
        ch.consumers.delete(a.consumerTag);
        // Unacked deliveries stay unacked: the client may still ack them (AMQP semantics).
        await entry.handle.cancel({ release: false });
      }
      if (!a.nowait) ch.sendMethod(createMethod('basic.cancel-ok', { consumerTag: a.consumerTag }));
      return;
    }
    case 'basic.get':
      return get(ch, method.args);
    case 'basic.ack':
      return ack(ch, method.args.deliveryTag, method.args.multiple);
    case 'basic.nack':
      return nack(ch, method.args.deliveryTag, method.args.multiple, method.args.requeue);
    case 'basic.reject':
      return nack(ch, method.args.deliveryTag, false, method.args.requeue);
    case 'basic.recover':
      await recover(ch);
      ch.sendMethod(createMethod('basic.recover-ok', {}));
      return;
    case 'basic.recover-async':
      return recover(ch);
    default:
      throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `${method.name} may not be sent by a client`);
  }
}

async function consume(ch: AmqpChannel, a: BasicConsumeArgs): Promise<void> {
  const { vhost } = ch;
  const owner = ch.host.owner;
  const tag = a.consumerTag !== '' ? a.consumerTag : `amq.ctag-${randomBytes(16).toString('base64url')}`;
  if (ch.consumers.has(tag))
    throw new AmqpProtocolError(ReplyCode.NOT_ALLOWED, `attempt to reuse consumer tag '${tag}'`);
  let queue: string;
  if (a.queue === DIRECT_REPLY_TO) {
    if (!a.noAck) throw new PreconditionFailedError('reply consumer cannot acknowledge');
    queue = await replyQueue(ch);
  } else {
    queue = queueName(ch, a.queue);
    mayReadQueue(ch, queue);
  }
  // Exclusive-queue ownership is 405; checked first so that a lock left over is an exclusive consumer.
  await vhost.declareQueue(queue, {}, { passive: true, owner });
  const handle = consumeOrRefuse(() =>
    vhost.consume(queue, (delivery) => ch.deliver(tag, delivery, a.noAck), {
      prefetch: ch.prefetch,
      window: ch.window,
      exclusive: a.exclusive,
      // Engine tags are unique per queue, AMQP tags per channel.
      tag: `${owner}/${ch.number}/${tag}`,
      owner,
      autoAck: a.noAck,
      onCancel: (reason) => ch.consumerEnded(tag, reason),
    }),
  );
  ch.consumers.set(tag, { tag, handle, noAck: a.noAck });
  if (ch.host.writePressure) handle.pause();
  // Sent before any delivery: the engine dispatches asynchronously.
  if (!a.nowait) ch.sendMethod(createMethod('basic.consume-ok', { consumerTag: tag }));
}

/**
 * WORKAROUND (engine): the engine raises the same ResourceLockedError (405) for "exclusive queue of another
 * connection" and "queue has an exclusive consumer"; RabbitMQ answers the latter with 403 ACCESS_REFUSED.
 * Ownership was checked just before, so a lock here is the consumer kind.
 */
function consumeOrRefuse(consume: () => ConsumerHandle): ConsumerHandle {
  try {
    return consume();
  } catch (err) {
    if (err instanceof ResourceLockedError) throw new AccessRefusedError(err.message);
    throw err;
  }
}

/** Direct reply-to: a private, non-durable queue per channel; replies published to its name route back. */
async function replyQueue(ch: AmqpChannel): Promise<string> {
  if (ch.replyQueue !== undefined) {
    if ([...ch.consumers.values()].some((c) => c.handle.queue === ch.replyQueue)) {
      throw new PreconditionFailedError('reply consumer already set');
    }
    return ch.replyQueue;
  }
  const name = `${DIRECT_REPLY_TO}.${randomBytes(18).toString('base64url')}`;
  await ch.vhost.declareQueue(name, { durable: false, exclusive: true }, { owner: ch.host.owner });
  ch.replyQueue = name;
  return name;
}

async function get(ch: AmqpChannel, a: BasicGetArgs): Promise<void> {
  const { vhost } = ch;
  const queue = queueName(ch, a.queue);
  mayReadQueue(ch, queue);
  // Held by the channel until acked, nacked or the channel goes (as RabbitMQ), not on a lease.
  const [delivery] = await vhost.receive(
    queue,
    { max: 1, waitMs: 0, leaseMs: Number.POSITIVE_INFINITY, holder: `${ch.host.owner}/${ch.number}/get` },
    ch.host.owner,
  );
  if (!delivery) {
    ch.sendMethod(createMethod('basic.get-empty', { clusterId: '' }));
    return;
  }
  if (a.noAck) await vhost.ack(delivery);
  const messageCount = (await vhost.count(queue)).ready;
  const deliveryTag = ch.nextDeliveryTag();
  if (!a.noAck) ch.unacked.set(deliveryTag, delivery);
  const { message } = delivery;
  const method = createMethod('basic.get-ok', {
    deliveryTag,
    redelivered: delivery.redelivered,
    exchange: message.exchange,
    routingKey: message.routingKey,
    messageCount,
  });
  ch.host.send(
    encodeContent(ch.number, method, deliveryProperties(delivery), message.body, ch.host.frameMax),
  );
}
