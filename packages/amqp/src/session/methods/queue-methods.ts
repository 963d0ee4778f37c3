/** queue.declare / bind / unbind / purge / delete → the engine's queues. */
import { AccessRefusedError, InequivalentOptionError, type QueueInfo } from '@conveyor/core';
import { createMethod, type AmqpMethod, ReplyCode } from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { DIRECT_REPLY_TO } from '../delivery-properties.js';
import { AmqpProtocolError } from '../protocol-error.js';
import { inequivalentArgument, queueOptionsFromArguments } from '../queue-arguments.js';
import { mayBind, mayConfigureQueue, mayDeadLetterTo, mayReadQueue } from '../permissions.js';

const SERVER_NAMED_PREFIX = 'amq.gen-';

/** The queue an AMQP method names: an empty name means the channel's last declared queue. */
export function queueName(ch: AmqpChannel, name: string): string {
  if (name !== '') return name;
  if (ch.lastQueue === undefined)
    throw new AmqpProtocolError(ReplyCode.NOT_FOUND, 'no previously declared queue');
  return ch.lastQueue;
}

export async function queueMethod(ch: AmqpChannel, method: AmqpMethod): Promise<void> {
  const { vhost } = ch;
  const owner = ch.host.owner;
  switch (method.name) {
    case 'queue.declare': {
      const a = method.args;
      let info: QueueInfo;
      if (a.passive) {
        if (a.queue === DIRECT_REPLY_TO) {
          const options = {
            durable: false,
            exclusive: false,
            autoDelete: false,
            overflow: 'drop-head',
          } as const;
          info = {
            vhost: vhost.vhost,
            name: DIRECT_REPLY_TO,
            options,
            effectiveOptions: options,
            messageCount: 0,
            consumerCount: 0,
          };
        } else {
          info = await vhost.declareQueue(queueName(ch, a.queue), {}, { passive: true, owner });
        }
      } else {
        if (a.queue.startsWith('amq.'))
          throw new AccessRefusedError(`queue name '${a.queue}' contains reserved prefix 'amq.*'`);
        const options = queueOptionsFromArguments(a.arguments, {
          durable: a.durable,
          exclusive: a.exclusive,
          autoDelete: a.autoDelete,
        });
        // A server-named queue is checked by the prefix of the name it will get.
        mayConfigureQueue(ch, a.queue === '' ? SERVER_NAMED_PREFIX : a.queue);
        if (options.deadLetter) mayDeadLetterTo(ch, options.deadLetter.exchange);
        info = await vhost.declareQueue(a.queue, options, { owner }).catch((err: unknown) => {
          throw err instanceof InequivalentOptionError ? inequivalentArgument(err, vhost.vhost) : err;
        });
      }
      ch.lastQueue = info.name;
      if (!a.nowait)
        ch.sendMethod(
          createMethod('queue.declare-ok', {
            queue: info.name,
            messageCount: info.messageCount,
            consumerCount: info.consumerCount,
          }),
        );
      return;
    }
    case 'queue.bind': {
      const a = method.args;
      const queue = queueName(ch, a.queue);
      mayBind(ch, { kind: 'queue', name: queue }, a.exchange, a.routingKey);
      await vhost.bindQueue(queue, a.exchange, a.routingKey, a.arguments, owner);
      if (!a.nowait) ch.sendMethod(createMethod('queue.bind-ok', {}));
      return;
    }
    case 'queue.unbind': {
      const a = method.args;
      const queue = queueName(ch, a.queue);
      mayBind(ch, { kind: 'queue', name: queue }, a.exchange, a.routingKey);
      // Idempotent, as RabbitMQ since 3.2: a queue, exchange or binding that is gone is unbound already.
      await vhost.unbindQueue(queue, a.exchange, a.routingKey, a.arguments, owner);
      ch.sendMethod(createMethod('queue.unbind-ok', {}));
      return;
    }
    case 'queue.purge': {
      const a = method.args;
      const queue = queueName(ch, a.queue);
      mayReadQueue(ch, queue);
      const messageCount = await vhost.purgeQueue(queue, owner);
      if (!a.nowait) ch.sendMethod(createMethod('queue.purge-ok', { messageCount }));
      return;
    }
    case 'queue.delete': {
      const a = method.args;
      const name = queueName(ch, a.queue);
      mayConfigureQueue(ch, name);
      // Deleting a queue that does not exist succeeds with 0 messages, as in RabbitMQ 3.x.
      ch.holdCancelNotices();
      try {
        const messageCount = vhost.hasQueue(name)
          ? await vhost.deleteQueue(name, { ifUnused: a.ifUnused, ifEmpty: a.ifEmpty, owner })
          : 0;
        if (!a.nowait) ch.sendMethod(createMethod('queue.delete-ok', { messageCount }));
      } finally {
        ch.releaseCancelNotices();
      }
      return;
    }
    default:
      throw new AmqpProtocolError(ReplyCode.COMMAND_INVALID, `unexpected ${method.name}`);
  }
}
