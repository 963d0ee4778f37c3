/**
 * The engine's own behaviour tests (packages/core/test/engine), unchanged, over RedisStore: the core's broker fixture is
 * swapped for one that opens each broker on a fresh Redis prefix.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BrokerOptions } from '@conveyor/core';
import {
  deletePrefix,
  redisStore,
  redisUnavailable,
  uniquePrefix,
} from '../../packages/store-redis/test/redis-fixture.js';

const opened: { close(): Promise<void>; prefix: string }[] = [];
/** The real setTimeout, taken before any test fakes timers. */
const realSetTimeout = globalThis.setTimeout;
const realSleep = (ms: number) => new Promise<void>((resolve) => realSetTimeout(resolve, ms));

/** Until no store call is under way and no timer due now is left (fake or real timers alike). */
async function storeQuiet(): Promise<void> {
  for (;;) {
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
    if (pending === 0) return;
    while (pending > 0) await realSleep(1);
  }
}
/** Store calls under way, over every broker this file opened. */
let pending = 0;

/** The store, counting its calls in flight (the fixture's sleep waits for them), its cluster's too. */
function counted<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property === 'cluster' && typeof value === 'object' && value !== null) return counted(value);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        pending++;
        return result.finally(() => pending--);
      };
    },
  });
}

vi.mock(import('../../packages/core/test/engine/broker-fixture.js'), async (importOriginal) => {
  const original = await importOriginal();
  const { Broker } = await import('@conveyor/core');
  return {
    ...original,
    async openBroker(options: BrokerOptions = {}) {
      const prefix = uniquePrefix();
      const broker = await Broker.open({ ...options, store: options.store ?? counted(redisStore(prefix)) });
      opened.push({ close: () => broker.close(), prefix });
      return { broker, vh: broker.vhost() };
    },
    // The engine tests' sleeps give an in-process store time to dispatch; a Redis round trip on a
    // loaded machine can take longer, so a sleep also lasts until no store call is under way.
    async sleep(ms: number) {
      await original.sleep(ms);
      while (pending > 0) await realSleep(1);
    },
    // Fake time over a real Redis: a timer that falls due (a lease, a TTL sweep, a request
    // timeout) starts store calls whose replies come in real time, and the timers after it may
    // depend on them. So time moves from timer to timer, waiting out the store calls between,
    // never past the end (a timer set at the end stops it there).
    async advance(ms: number) {
      const end = Date.now() + ms;
      const stop = setTimeout(() => undefined, ms);
      await storeQuiet();
      while (Date.now() < end) {
        await vi.advanceTimersToNextTimerAsync();
        await storeQuiet();
      }
      clearTimeout(stop);
    },
  };
});

afterEach(async () => {
  for (const b of opened.splice(0)) {
    await b.close();
    await deletePrefix(b.prefix);
  }
});

const skip = await redisUnavailable();

describe.skipIf(skip !== undefined)(
  `engine behaviour over RedisStore${skip ? ` (skipped: ${skip})` : ''}`,
  async () => {
    it('runs the engine tests on a RedisStore (the fixture is swapped)', async () => {
      const { openBroker } = await import('../../packages/core/test/engine/broker-fixture.js');
      const { broker } = await openBroker();
      expect(broker.store.kind).toBe('redis');
    });
    await import('../../packages/core/test/engine/receive.test.js');
    await import('../../packages/core/test/engine/dead-letter.test.js');
    await import('../../packages/core/test/engine/peek-take.test.js');
    await import('../../packages/core/test/engine/consume.test.js');
    await import('../../packages/core/test/engine/competing-consumers.test.js');
    await import('../../packages/core/test/engine/queues.test.js');
    await import('../../packages/core/test/engine/routing.test.js');
    await import('../../packages/core/test/engine/request-reply.test.js');
    await import('../../packages/core/test/engine/observability.test.js');
  },
);
