// The Redis side of the benchmark: a unique key prefix per run, its removal afterwards, and the CPU
// time of the local redis-server (the shared store's single thread is what 3 nodes contend for).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { processCpuMs } from './broker-process.mjs';

export const uniquePrefix = () => `conveyor-bench-${randomBytes(4).toString('hex')}:`;

/** `redis://host:port?prefix=…` for `conveyor start --store`. */
export function storeUrl(redisUrl, prefix) {
  const u = new URL(redisUrl);
  u.searchParams.set('prefix', prefix);
  return u.toString();
}

/** True when Redis answers PING within a second. */
export async function redisReachable(redisUrl) {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** SCAN MATCH prefix* + DEL in batches; returns how many keys were removed. */
export async function deletePrefix(redisUrl, prefix) {
  if (!/^[\w:.-]+$/.test(prefix)) throw new Error(`refusing to delete keys under prefix '${prefix}'`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) removed += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

/** Pid of the redis-server at `redisUrl` (INFO server), when it runs on this machine; else undefined. */
export async function redisPid(redisUrl) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
    return Number.isFinite(pid) && existsSync(`/proc/${pid}/stat`) ? pid : undefined;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

export const redisCpuMs = (pid) => (pid === undefined ? NaN : processCpuMs(pid));

/**
 * Commands Redis has processed since it started, and of those the script calls (EVALSHA, EVAL): a
 * script is one round trip from a node, the commands it runs are counted in `commands` too.
 */
export async function redisWork(redisUrl) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    const info = await redis.info('all');
    const calls = (cmd) => Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    const stat = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    const commands = stat('total_commands_processed');
    // INFO commandstats: every command, those a script runs included, with its calls and µs.
    const perCommand = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
      perCommand[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
    return {
      commands,
      scripts: calls('evalsha') + calls('eval') + calls('evalsha_ro') + calls('eval_ro'),
      // Socket reads and writes (Redis 6+): each is a wake-up and a system call, which on this
      // machine cost Redis more than most scripts' Lua.
      reads: stat('total_reads_processed'),
      writes: stat('total_writes_processed'),
      perCommand,
    };
  } catch {
    return { commands: NaN, scripts: NaN, reads: NaN, writes: NaN, perCommand: {} };
  } finally {
    redis.disconnect();
  }
}
