import { createHash } from 'node:crypto';
import { BrokerClosedError, QueueNotFoundError, StoreError, type QueueKey } from '@conveyor/core';
import { storeChannels, type KeyLayout, type StoreChannels } from './keys.js';
import keySlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from './redis-connection.js';
import type { ScriptDef, ScriptName } from './scripts/queue-scripts.js';

export type ScriptArg = string | number | Buffer;

/** After durable writes, wait for replicas (`WAIT`) or the local AOF fsync (`WAITAOF`, Redis ≥ 7.2). */
export type RedisWaitOption = { replicas: number; timeoutMs: number } | { aof: true; timeoutMs?: number };

/** A script and its SHA-1, by which Redis knows it once it ran it whole. */
export interface StoreScript extends ScriptDef {
  readonly sha: string;
}

export type StoreScripts = Readonly<Record<ScriptName, StoreScript>>;

/**
 * The store's scripts with their SHA-1s. The store runs them itself (EVALSHA, then EVAL where
 * Redis does not know one) rather than as ioredis's defined commands: a client with commands
 * defined copies each of them, twice, onto every MULTI it starts, which cost a plain enqueue
 * ~2.5 µs more of the node's CPU a message in batches of 25.
 */
export function storeScripts(defs: Record<ScriptName, ScriptDef>): StoreScripts {
  const out = {} as Record<ScriptName, StoreScript>;
  for (const [name, def] of Object.entries(defs) as [ScriptName, ScriptDef][])
    out[name] = { ...def, sha: createHash('sha1').update(def.lua).digest('hex') };
  return out;
}

const unknownScript = (err: unknown): boolean => err instanceof Error && err.message.startsWith('NOSCRIPT');

/**
 * How the store talks to Redis: its scripts (keys, then [the asking node, queue base, queue name,
 * ...args]), its plain commands with errors made typed, and the `wait` after durable writes.
 */
export class RedisCalls {
  /** The store-wide pub/sub channels (sharded in a Cluster). */
  readonly channels: StoreChannels;

  constructor(
    readonly redis: RedisClient,
    readonly keys: KeyLayout,
    private readonly scripts: StoreScripts,
    private readonly wait: RedisWaitOption | undefined,
    /** The store is closed: a failing call is the close, not a store error. */
    private readonly closed: () => boolean,
    /** Who asks (ARGV[1]): this node's id, or '' when every node, this one too, is to wake. */
    readonly origin: string,
  ) {
    this.channels = storeChannels(keys, isCluster(redis));
  }

  /** The same calls, their wake-ups meant for every node (a sweep: this node's engine did not ask). */
  forEveryNode(): RedisCalls {
    return new RedisCalls(this.redis, this.keys, this.scripts, this.wait, this.closed, '');
  }

  /** Runs a single-queue script. */
  script(name: ScriptName, queue: QueueKey, args: ScriptArg[], buffers = false): Promise<unknown> {
    return this.call(name, this.#queueScriptArgs(queue, args), buffers);
  }

  /** A single-queue script's keys and arguments: its ten keys, then who asks, base, name, `args`. */
  #queueScriptArgs(queue: QueueKey, args: ScriptArg[]): ScriptArg[] {
    const k = this.keys;
    return [...k.queueKeys(queue), this.origin, k.queueBase(queue), queue, ...args];
  }

  async count(name: ScriptName, queue: QueueKey, args: ScriptArg[]): Promise<number> {
    return Number(await this.script(name, queue, args));
  }

  /** Runs a script with its keys and arguments as given; `QNF <queue>` becomes QueueNotFoundError. */
  async call(name: ScriptName, args: ScriptArg[], buffers: boolean): Promise<unknown> {
    const { sha, lua, numberOfKeys } = this.scripts[name];
    const run = (command: string, script: string) =>
      buffers
        ? this.redis.callBuffer(command, script, numberOfKeys, ...args)
        : this.redis.call(command, script, numberOfKeys, ...args);
    try {
      try {
        return await run('evalsha', sha);
      } catch (err) {
        // Not in this Redis's script cache (the first call, a restart, a failover, SCRIPT FLUSH):
        // sent whole, which caches it again.
        if (!unknownScript(err)) throw err;
        return await run('eval', lua);
      }
    } catch (err) {
      throw this.#scriptError(err);
    }
  }

  /**
   * Plain commands on one queue's keys, then a single-queue script, in one MULTI: all of it runs
   * or none. The script goes as EVAL, not EVALSHA: Redis looks an EVALSHA up only when EXEC runs
   * it, so one it no longer knows (after SCRIPT FLUSH) would fail after the commands before it.
   */
  async transaction(
    writes: [command: string, args: ScriptArg[]][],
    script: ScriptDef,
    queue: QueueKey,
    args: ScriptArg[],
  ): Promise<unknown> {
    const multi = this.redis.multi();
    for (const [command, a] of writes) multi.call(command, a);
    multi.call('eval', [script.lua, script.numberOfKeys, ...this.#queueScriptArgs(queue, args)]);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await multi.exec();
    } catch (err) {
      throw this.#scriptError(err);
    }
    if (!replies) throw this.storeError(new Error('MULTI discarded'));
    for (const [err] of replies) if (err) throw this.#scriptError(err);
    return replies.at(-1)?.[1];
  }

  /** `QNF <queue>` from a script becomes QueueNotFoundError, anything else a StoreError. */
  #scriptError(err: unknown): Error {
    const message = err instanceof Error ? err.message : '';
    if (message.startsWith('QNF ')) return new QueueNotFoundError(message.slice(4));
    return this.storeError(err);
  }

  async guard<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      throw this.storeError(err);
    }
  }

  /** A note on a store-wide channel: `SPUBLISH` (routed by the channel's slot) in a Cluster. */
  async note(channel: string, payload: string): Promise<void> {
    await this.guard(this.redis.call(this.channels.sharded ? 'SPUBLISH' : 'PUBLISH', channel, payload));
  }

  storeError(err: unknown): Error {
    if (this.closed()) return new BrokerClosedError();
    return new StoreError(`redis: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  /**
   * `wait`: the writes so far on the connection that took `key`'s write reached the replicas / the
   * local AOF. WAIT and WAITAOF count what was sent on the connection they are sent on, so in a
   * Cluster they go to the master that serves `key`'s slot, on the client's own connection to it:
   * the one the write went over.
   */
  async waitDurable(key: string): Promise<void> {
    const wait = this.wait;
    if (!wait) return;
    const connection = this.#connectionFor(key);
    if ('aof' in wait) {
      const [local] = (await this.guard(connection.call('WAITAOF', 1, 0, wait.timeoutMs ?? 0))) as number[];
      if ((local ?? 0) < 1) throw new StoreError('WAITAOF: the write did not reach the append-only file');
      return;
    }
    const acked = Number(await this.guard(connection.call('WAIT', wait.replicas, wait.timeoutMs)));
    if (acked < wait.replicas)
      throw new StoreError(
        `WAIT: ${acked} of ${wait.replicas} replicas acknowledged within ${wait.timeoutMs} ms`,
      );
  }

  /** The connection a command on `key` goes over: in a Cluster, the client's own to the slot's master. */
  #connectionFor(key: string): Redis {
    const redis = this.redis;
    if (!isCluster(redis)) return redis;
    const slot = keySlot(key);
    const master = redis.slots[slot]?.[0];
    const node =
      master === undefined
        ? undefined
        : redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master);
    if (!node) throw new StoreError(`redis cluster: no master known for slot ${slot} (key ${key})`);
    return node;
  }
}
