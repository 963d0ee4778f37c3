import { messageSize, type QueueRecordInput, type StoredMessage } from '../message.js';
import { deadLetteredMessage, type DeadLetterReason } from './dead-letter.js';
import type { EngineQueue } from './engine-queue.js';
import { recordFor, type AcceptRequest } from './queue-admission.js';

/** Counts dead letters at the queue they left (metrics, management). */
export function countDeadLettered(queue: EngineQueue, reason: DeadLetterReason, count: number): void {
  if (count === 0) return;
  queue.deadLettered += count;
  queue.host.observer.deadLettered?.(queue.host.vhost, queue.name, reason, count);
}

/** Dead-letters held messages with `reason` (or drops them without a target); returns the ids that were held. */
export async function deadLetterHeld(
  queue: EngineQueue,
  stored: readonly StoredMessage[],
  holder: string,
  reason: DeadLetterReason,
  detail?: string,
): Promise<string[]> {
  const { store } = queue.host;
  const target = queue.options.deadLetter;
  const now = queue.host.now();
  const done: string[] = [];
  const dropped: StoredMessage[] = [];
  for (const s of stored) {
    const death = {
      reason,
      queue: queue.name,
      time: now,
      deliveryCount: s.deliveryCount,
      ...(detail === undefined ? {} : { detail }),
    };
    const message = target ? deadLetteredMessage(s, death, target.routingKey) : undefined;
    // A queue dead-lettering into itself on expiry or overflow would loop forever: drop instead (RabbitMQ does too).
    const targets =
      target && message
        ? queue.host
            .deadLetterQueues(target, message)
            .filter((q) => q !== queue || reason === 'rejected' || reason === 'delivery_limit')
        : [];
    const [first, ...others] = targets;
    if (!first || !message) {
      dropped.push(s);
      continue;
    }
    // Copies for extra targets first, then the atomic move: a crash in between duplicates, never loses.
    await Promise.all(others.map((q) => q.accept({ message, now }).done));
    // The target's TTL and priority level, as for any copy entering it; durable as it was stored.
    const record: QueueRecordInput = {
      ...recordFor(first.options, { message, now }),
      durable: s.durable && first.options.durable,
    };
    const moved = await store.move(queue.key, [s.id], holder, first.key, [record]);
    if (moved.length > 0) {
      done.push(s.id);
      countDeadLettered(queue, reason, 1);
      queue.host.memory.add(messageSize(message) * others.length);
      first.pump();
      if (record.expiresAt !== undefined) first.expireAt(record.expiresAt);
    }
  }
  if (dropped.length > 0) {
    const acked = await store.ack(
      queue.key,
      dropped.map((s) => s.id),
      holder,
    );
    const set = new Set(acked);
    let bytes = 0;
    for (const s of dropped) if (set.has(s.id)) bytes += messageSize(s.message);
    queue.host.memory.remove(bytes);
    if (target) countDeadLettered(queue, reason, acked.length);
    done.push(...acked);
  }
  return done;
}

/** Dead-letters a copy that never entered the queue (rejected on overflow). */
export async function deadLetterUnqueued(
  queue: EngineQueue,
  request: AcceptRequest,
  reason: DeadLetterReason,
): Promise<void> {
  const target = queue.options.deadLetter;
  if (!target) return;
  const stored: StoredMessage = {
    id: '',
    message: request.message,
    enqueuedAt: request.now,
    deliveryCount: 0,
    durable: false,
  };
  const message = deadLetteredMessage(
    stored,
    { reason, queue: queue.name, time: request.now, deliveryCount: 0 },
    target.routingKey,
  );
  const targets = queue.host.deadLetterQueues(target, message).filter((q) => q !== queue);
  await Promise.all(targets.map((q) => q.accept({ message, now: request.now }).done));
  countDeadLettered(queue, reason, 1);
}
