/** Redrive: dead letters back to the queue they died in (or to a chosen one). */
import type { MessageStore } from '../store/message-store.js';
import { lastDeathQueue, redrivenMessage } from './dead-letter.js';
import { EngineQueue } from './engine-queue.js';

/**
 * Moves the ready messages of `source` to `destinationOf(the queue each died in)`; returns how
 * many moved. One pass over what is ready now: a message with nowhere to go is put back and not
 * seen again.
 */
export async function redrive(
  store: MessageStore,
  source: EngineQueue,
  destinationOf: (diedIn: string | undefined) => EngineQueue | undefined,
  options: { max: number | undefined; now: () => number },
): Promise<number> {
  let moved = 0;
  let left = Math.min(options.max ?? Number.POSITIVE_INFINITY, (await store.counts(source.key)).ready);
  while (left > 0) {
    const holder = EngineQueue.nextHolder('redrive');
    const now = options.now();
    const batch = await store.take(source.key, Math.min(256, left), { holder, now });
    if (batch.length === 0) break;
    left -= batch.length;
    for (const stored of batch) {
      const destination = destinationOf(lastDeathQueue(stored.message));
      if (!destination) {
        await store.release(source.key, [stored.id], holder);
        continue;
      }
      const record = {
        message: redrivenMessage(stored.message),
        enqueuedAt: now,
        durable: stored.durable && destination.options.durable,
        deliveryCount: 0,
      };
      moved += (await store.move(source.key, [stored.id], holder, destination.key, [record])).length;
      destination.pump();
    }
  }
  return moved;
}
