import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis-connection.js';

/** What Redis said about its own durability at open (CONFIG GET), for the broker's start log. */
export interface RedisPersistence {
  /** `appendonly yes`: writes go to the append-only file. */
  appendonly: boolean;
  /** `always` | `everysec` | `no`: how often the AOF is fsynced. */
  appendfsync: string;
  /** RDB snapshot schedule (`save`), empty when none. */
  save: string;
  /** `redis_version` from INFO. */
  version: string;
  /** Set when Redis keeps nothing, or only periodic snapshots, on disk. */
  warning?: string;
}

async function configValue(redis: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', name)) as string[];
    return reply[1];
  } catch {
    return undefined; // CONFIG may be renamed or refused (managed Redis)
  }
}

/** One Redis's settings; over a Cluster, the weakest master's (one with a warning, if any has one). */
export async function readPersistence(client: RedisClient): Promise<RedisPersistence | undefined> {
  if (!(client instanceof Cluster)) return readOne(client);
  const all = await Promise.all(client.nodes('master').map(readOne));
  return all.find((p) => p === undefined || p.warning !== undefined) ?? all[0];
}

async function readOne(redis: Redis): Promise<RedisPersistence | undefined> {
  const [appendonly, appendfsync, save] = await Promise.all(
    ['appendonly', 'appendfsync', 'save'].map((n) => configValue(redis, n)),
  );
  const info = await redis.info('server');
  const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
  if (appendonly === undefined || appendfsync === undefined || save === undefined) return undefined;
  const p: RedisPersistence = { appendonly: appendonly === 'yes', appendfsync, save, version };
  if (!p.appendonly && save.trim() === '')
    p.warning = 'Redis keeps nothing on disk (appendonly no, save ""): a Redis restart loses every queue';
  else if (!p.appendonly)
    p.warning = `Redis keeps only RDB snapshots (save "${save}"): a Redis crash loses what was posted since the last one`;
  return p;
}

/** True when `version` (x.y.z) is at least `major.minor`. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}
