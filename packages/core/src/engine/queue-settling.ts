// How a queue's held deliveries are settled: acked (gone from the store, their memory and the
// consumer's window freed), nacked (back to ready, later, or to the dead-letter target) or their
// leases renewed. Each throws LeaseNotHeldError for the deliveries the holder no longer held,
// after settling the rest.
import { LeaseNotHeldError } from '../errors.js';
import { messageSize } from '../message.js';
import type { ConsumerState } from './consumer.js';
import { storedOf, type Delivery } from './delivery.js';
import type { EngineQueue } from './engine-queue.js';

/** The queue's consumer that holds as `holder`, if any (a pull's holder is none). */
export function consumerFor(queue: EngineQueue, holder: string): ConsumerState | undefined {
  for (const c of queue.consumers) if (c.holder === holder) return c;
  return undefined;
}

/** Removes settled deliveries from the store, frees their memory and counts them; returns the ids acked. */
export async function settleHeld(
  queue: EngineQueue,
  ids: string[],
  holder: string,
  deliveries: readonly Delivery[],
): Promise<string[]> {
  const acked = await queue.host.store.ack(queue.key, ids, holder);
  if (acked.length === 0) return acked;
  const set = acked.length === deliveries.length ? undefined : new Set(acked);
  let bytes = 0;
  for (const d of deliveries) if (!set || set.has(d.id)) bytes += messageSize(d.message);
  queue.host.memory.remove(bytes);
  countAcked(queue, set, deliveries, acked.length);
  return acked;
}

function countAcked(
  queue: EngineQueue,
  set: Set<string> | undefined,
  deliveries: readonly Delivery[],
  n: number,
): void {
  queue.acked += n;
  const { observer } = queue.host;
  const observe = observer.acked;
  if (!observe) return;
  const now = queue.host.now();
  const latencies: number[] = [];
  for (const d of deliveries) if (!set || set.has(d.id)) latencies.push(now - d.enqueuedAt);
  observe.call(observer, queue.host.vhost, queue.name, latencies);
}

/** `roomFreed`: the holder's consumer has room again (the queue pumps if it may have more). */
export async function ackHeld(
  queue: EngineQueue,
  holder: string,
  deliveries: readonly Delivery[],
  roomFreed: () => void,
): Promise<void> {
  const ids = deliveries.map((d) => d.id);
  const consumer = consumerFor(queue, holder);
  consumer?.settle(ids);
  const acked = await settleHeld(queue, ids, holder, deliveries);
  if (consumer) roomFreed();
  if (acked.length !== ids.length) throw notHeld(queue.name, ids, acked);
}

export async function nackHeld(
  queue: EngineQueue,
  holder: string,
  deliveries: readonly Delivery[],
  requeue: boolean,
  delayMs: number | undefined,
  detail: string | undefined,
): Promise<void> {
  const ids = deliveries.map((d) => d.id);
  consumerFor(queue, holder)?.settle(ids);
  // A requeued message that already had its last delivery goes to the dead-letter target now
  // (as RabbitMQ does) rather than waiting for a next delivery that will never be allowed.
  const limit = queue.options.maxDeliveries;
  const spent = requeue && limit !== undefined ? deliveries.filter((d) => d.deliveryCount >= limit) : [];
  if (!requeue || spent.length > 0) {
    const dying = requeue ? spent : deliveries;
    const moved = await queue.deadLetter(
      dying.map(storedOf),
      holder,
      requeue ? 'delivery_limit' : 'rejected',
      requeue ? undefined : detail,
    );
    if (moved.length !== dying.length)
      throw notHeld(
        queue.name,
        dying.map((d) => d.id),
        moved,
      );
    if (!requeue || spent.length === deliveries.length) {
      queue.pump();
      return;
    }
    const gone = new Set(moved);
    ids.splice(0, ids.length, ...ids.filter((id) => !gone.has(id)));
  }
  const readyAt = delayMs !== undefined && delayMs > 0 ? queue.host.now() + delayMs : undefined;
  const released = await queue.host.store.release(
    queue.key,
    ids,
    holder,
    readyAt === undefined ? {} : { readyAt },
  );
  if (readyAt !== undefined) queue.wakeAt(readyAt);
  queue.pump();
  if (released.length !== ids.length) throw notHeld(queue.name, ids, released);
}

/** Returns the new lease deadline. */
export async function renewHeld(
  queue: EngineQueue,
  holder: string,
  deliveries: readonly Delivery[],
  leaseMs: number,
): Promise<number> {
  const ids = deliveries.map((d) => d.id);
  const leaseUntil = queue.host.now() + leaseMs;
  const renewed = await queue.host.store.renew(queue.key, ids, holder, leaseUntil);
  if (Number.isFinite(leaseUntil)) queue.wakeAt(leaseUntil);
  if (renewed.length !== ids.length) throw notHeld(queue.name, ids, renewed);
  return leaseUntil;
}

function notHeld(queue: string, asked: readonly string[], done: readonly string[]): LeaseNotHeldError {
  const set = new Set(done);
  const missing = asked.filter((id) => !set.has(id));
  return new LeaseNotHeldError(
    `queue '${queue}': deliveries ${missing.join(', ')} are not held (lease expired or already settled)`,
  );
}
