// Multi-node tests need a real Redis: they skip with a reason when it is unreachable, except in CI.
import { connect as tcpConnect } from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Resolves to a skip reason when Redis at `url` does not accept a TCP connection within a second,
 * undefined when it does. Throws instead of skipping when CI=true: CI must run these tests.
 */
export async function redisUnreachable(url: string = REDIS_URL): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = tcpConnect({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(1_000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  if (reachable) return undefined;
  const reason = `Redis at ${url} is unreachable`;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI=true requires it`);
  return reason;
}

/** Deletes every key under `prefix` (SCAN, not KEYS: it never blocks a shared Redis for long). */
export async function deleteRedisKeys(prefix: string, url: string = REDIS_URL): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  try {
    const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
