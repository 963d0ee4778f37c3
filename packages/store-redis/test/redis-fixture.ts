import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import { RedisStore, type RedisStoreOptions } from '../src/index.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Why the Redis tests cannot run, or undefined when Redis answers. Under CI=true they must run. */
export async function redisUnavailable(): Promise<string | undefined> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (err) {
    const reason = `Redis at ${REDIS_URL} is unreachable (${String(err)})`;
    if (process.env.CI === 'true') throw new Error(`${reason}; CI=true requires it`, { cause: err });
    return reason;
  } finally {
    probe.disconnect();
  }
}

export const uniquePrefix = (): string => `conveyor-test:${randomUUID().slice(0, 8)}:`;

export function redisStore(
  prefix: string,
  options: Omit<RedisStoreOptions, 'prefix' | 'url'> = {},
): RedisStore {
  return new RedisStore({ url: REDIS_URL, prefix, ...options });
}

/**
 * For a describe block: `open` opens a store on a prefix, `closeAfter` takes one opened
 * otherwise, and `fresh` makes a new prefix; after each test the stores are closed and the
 * prefixes' keys deleted.
 */
export function storesPerTest() {
  const stores: RedisStore[] = [];
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const p of prefixes.splice(0)) await deletePrefix(p);
  });
  return {
    open: async (prefix: string, options: Parameters<typeof redisStore>[1] = {}): Promise<RedisStore> => {
      const store = redisStore(prefix, options);
      stores.push(store);
      await store.open();
      return store;
    },
    closeAfter: (store: RedisStore): RedisStore => {
      stores.push(store);
      return store;
    },
    fresh: (): string => {
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      return prefix;
    },
  };
}

/** Deletes every key under `prefix` (also single-slot keys, which start with `{prefix}`). */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for (const pattern of [`${prefix}*`, `{${prefix}}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(
          cursor,
          'MATCH',
          pattern.replace(/[?[\]\\]/g, '\\$&'),
          'COUNT',
          1000,
        );
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

/** All keys under a prefix (layout tests). */
export async function keysUnder(pattern: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      out.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return out;
  } finally {
    redis.disconnect();
  }
}
