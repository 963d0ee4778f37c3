import type { EngineQueue } from './engine-queue.js';

const SWEEP_BATCH = 128;

/** A lease deadline or a delayed message is due: expire leases, dispatch, re-arm for the next one. */
export async function wakeUp(queue: EngineQueue): Promise<void> {
  const { store } = queue.host;
  await store.expireLeases(queue.key, queue.host.now());
  queue.pump();
  await rearmWakeUp(queue);
}

/** Arms the wake-up for the store's next lease deadline or delayed message, if it holds one. */
export async function rearmWakeUp(queue: EngineQueue): Promise<void> {
  const next = await queue.host.store.nextWakeAt(queue.key);
  if (next !== undefined) queue.wakeAt(next);
}

/** Expired messages at the head of the queue leave even when nobody receives (as RabbitMQ does). */
export async function sweepExpired(queue: EngineQueue, nextHolder: () => string): Promise<void> {
  const { store } = queue.host;
  for (;;) {
    if (queue.deleted) return;
    const now = queue.host.now();
    const head = await store.peek(queue.key, SWEEP_BATCH);
    let i = 0;
    for (; i < head.length; i++) {
      const expiresAt = head[i]!.expiresAt;
      if (expiresAt === undefined || expiresAt > now) break;
      const holder = nextHolder();
      const taken = await store.takeById(queue.key, head[i]!.id, { holder, now });
      if (taken) await queue.deadLetter([taken], holder, 'expired');
    }
    if (i < head.length) {
      const next = head[i]!.expiresAt;
      if (next !== undefined) queue.expireAt(next, true);
      return;
    }
    if (head.length < SWEEP_BATCH) return;
  }
}

/** Consumer timeout: a consumer that held a delivery too long is cancelled and what it held is released. */
export async function cancelTimedOut(queue: EngineQueue): Promise<void> {
  const limit = queue.options.consumerTimeoutMs;
  if (limit === undefined) return;
  const now = queue.host.now();
  let next = Number.POSITIVE_INFINITY;
  for (const consumer of [...queue.consumers]) {
    const oldest = consumer.held.values().next();
    if (oldest.done) continue;
    if (oldest.value + limit <= now) await queue.removeConsumer(consumer, true, 'timeout');
    else next = Math.min(next, oldest.value + limit);
  }
  if (next !== Number.POSITIVE_INFINITY) queue.timeoutAt(next);
}
