/**
 * A Conveyor extension: dead-letter one held delivery with a reason, in one step.
 *
 * AMQP 0-9-1 can only reject (`basic.reject requeue=false`), which records no reason. A client
 * that wants the reason recorded (a handler's error) would have to publish a copy to the
 * dead-letter queue and ack the original, which the source queue never counts as dead-lettered.
 * Instead it publishes to the pseudo-exchange `amq.conveyor.dead-letter` on the channel that holds
 * the delivery: routing key = the delivery tag (decimal), body = the reason (UTF-8). The broker
 * dead-letters the delivery as a rejection through the queue's own dead-letter target, with the
 * reason as the x-death `detail`; a publisher confirm acks once that move is stored. Servers that
 * offer it announce the capability `dead_letter_with_reason`.
 */
import { PreconditionFailedError } from '@conveyor/core';
import type { BasicPublishArgs, ContentCommand } from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { inTx, live, takeTags } from './settle.js';

export const DEAD_LETTER_EXCHANGE = 'amq.conveyor.dead-letter';

const decoder = new TextDecoder();

export function deadLetterByPublish(ch: AmqpChannel, args: BasicPublishArgs, cmd: ContentCommand): void {
  const tag = deliveryTagOf(args.routingKey);
  // An unknown tag is the same 406 channel error as an ack of it.
  const taken = takeTags(ch, tag, false);
  const reason = decoder.decode(cmd.body);
  const apply = async (): Promise<void> => {
    const list = live(ch, taken);
    if (list.length > 0) await ch.vhost.deadLetter(list, reason.length > 0 ? reason : undefined);
  };
  if (inTx(ch, taken, apply)) return;
  const confirm = ch.mode.kind === 'confirm' ? ch.mode.tracker : undefined;
  const seq = confirm?.register() ?? 0;
  void apply().then(
    () => confirm?.settle(seq, 'ack'),
    (err: unknown) => {
      confirm?.settle(seq, 'nack');
      ch.fail(err, cmd.method);
    },
  );
}

function deliveryTagOf(routingKey: string): number {
  const tag = /^[1-9][0-9]{0,15}$/.test(routingKey) ? Number(routingKey) : NaN;
  if (!Number.isSafeInteger(tag))
    throw new PreconditionFailedError(
      `publish to '${DEAD_LETTER_EXCHANGE}' needs a delivery tag as its routing key, got '${routingKey}'`,
    );
  return tag;
}
