/** basic.ack / nack / reject / recover: delivery tags → the engine deliveries they stand for. */
import type { Delivery } from '@conveyor/core';
import { ClassId, ReplyCode } from '../../codec/index.js';
import type { AmqpChannel } from '../channel.js';
import { AmqpProtocolError } from '../protocol-error.js';

/** Removes and returns the deliveries a tag names; an unknown tag is a 406 channel error (RabbitMQ's). */
export function takeTags(ch: AmqpChannel, tag: number, multiple: boolean): [number, Delivery][] {
  const taken: [number, Delivery][] = [];
  if (multiple) {
    for (const entry of ch.unacked) if (tag === 0 || entry[0] <= tag) taken.push(entry);
    if (taken.length === 0 && tag !== 0) throw unknownTag(tag);
  } else {
    const d = ch.unacked.get(tag);
    if (!d) throw unknownTag(tag);
    taken.push([tag, d]);
  }
  for (const [t] of taken) ch.unacked.delete(t);
  return taken;
}

function unknownTag(tag: number): AmqpProtocolError {
  return new AmqpProtocolError(ReplyCode.PRECONDITION_FAILED, `unknown delivery tag ${tag}`);
}

/** Deliveries whose queue is gone are settled already (RabbitMQ accepts acks for them). */
export function live(ch: AmqpChannel, taken: [number, Delivery][]): Delivery[] {
  return taken.map(([, d]) => d).filter((d) => ch.vhost.hasQueue(d.queue));
}

export function inTx(ch: AmqpChannel, taken: [number, Delivery][], apply: () => Promise<void>): boolean {
  if (ch.mode.kind !== 'tx') return false;
  for (const [t, d] of taken) ch.mode.settled.set(t, d);
  ch.mode.ops.push(async () => {
    if (ch.mode.kind === 'tx') for (const [t] of taken) ch.mode.settled.delete(t);
    await apply();
  });
  return true;
}

/** An unknown tag fails at once; the ack itself runs in the background (see settleInBackground). */
export function ack(ch: AmqpChannel, tag: number, multiple: boolean): void {
  const taken = takeTags(ch, tag, multiple);
  const apply = async (): Promise<void> => {
    const list = live(ch, taken);
    if (list.length > 0) await ch.vhost.ack(list);
  };
  if (!inTx(ch, taken, apply)) ch.settleInBackground(apply(), { classId: ClassId.basic, methodId: 80 });
}

export async function nack(ch: AmqpChannel, tag: number, multiple: boolean, requeue: boolean): Promise<void> {
  const taken = takeTags(ch, tag, multiple);
  const apply = async (): Promise<void> => {
    const list = live(ch, taken);
    if (list.length > 0) await ch.vhost.nack(list, { requeue });
  };
  if (!inTx(ch, taken, apply)) await apply();
}

/** basic.recover: every unacked delivery goes back to its queue, to be redelivered (requeue=false too, as in RabbitMQ). */
export async function recover(ch: AmqpChannel): Promise<void> {
  const taken = [...ch.unacked.entries()];
  ch.unacked.clear();
  for (const d of live(ch, taken)) await ch.vhost.nack(d, { requeue: true }).catch(() => undefined);
}
