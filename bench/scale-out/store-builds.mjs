// What the store benches (script-cost, script-instructions) share: the builds they compare and
// the records they store.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** This checkout's built store, and `base` beside it when given: name → dist/index.js. */
export function storeBuilds(base) {
  return {
    ...(base ? { base } : {}),
    this: fileURLToPath(new URL('../../packages/store-redis/dist/index.js', import.meta.url)),
  };
}

/** A factory of persistent records with one random body of `bodySize` bytes. */
export function recordFactory(bodySize) {
  const body = randomBytes(bodySize);
  return () => ({
    message: { exchange: '', routingKey: 'q', properties: { deliveryMode: 2, messageId: 'm' }, body },
    enqueuedAt: Date.now(),
    durable: true,
  });
}
