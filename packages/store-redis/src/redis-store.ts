import { setImmediate } from 'node:timers';
import { randomUUID } from 'node:crypto';
import {
  BrokerClosedError,
  QueueNotFoundError,
  StoreError,
  type HolderId,
  type MessageStore,
  type StoreCluster,
  type MetaEntry,
  type PeekedMessage,
  type PeekOptions,
  type QueueCounts,
  type QueueKey,
  type QueueRecordInput,
  type ReleaseOptions,
  type StoredMessage,
  type TakeOptions,
} from '@conveyor/core';
import {
  commandClient,
  isCluster,
  subscriberClient,
  type RedisClient,
  type RedisTarget,
} from './redis-connection.js';
import { CrossSlotMove } from './cross-slot-move.js';
import { globalKeys, keyLayout, type KeyLayout } from './keys.js';
import { NodeLiveness } from './node-liveness.js';
import { recordArgs, rowToMessage, rowToPeeked, type Row } from './record-codec.js';
import { splitUrl } from './redis-url.js';
import { readPersistence, versionAtLeast, type RedisPersistence } from './redis-persistence.js';
import { queueScripts, type ScriptName } from './scripts/queue-scripts.js';
import { HolderIndex } from './holder-index.js';
import { decodeValue, encodeValue } from './value-codec.js';
import { ChannelSubscriber } from './channel-subscriber.js';

export type RedisWaitOption = { replicas: number; timeoutMs: number } | { aof: true; timeoutMs?: number };

export interface RedisStoreOptions {
  /**
   * Default `REDIS_URL` or `redis://127.0.0.1:6379`; `?prefix=`, `?holderTtlMs=`, `?wait=aof` or
   * `?wait=replicas:N` (`&waitTimeoutMs=`) set those options (for `--store`).
   * `redis+cluster://h1:p1,h2:p2` (or `rediss+cluster://`) opens a Redis Cluster by seed nodes.
   */
  url?: string;
  /** Namespace of every key, so several stores (or tests) share one Redis. Default `conveyor:`. */
  prefix?: string;
  /** How long a node's liveness key lives without renewal; its deliveries return after that. Default 10 s. */
  holderTtlMs?: number;
  /** After durable writes, wait for replicas (`WAIT`) or the local AOF fsync (`WAITAOF`, Redis ≥ 7.2); not with a Cluster. */
  wait?: RedisWaitOption;
  /** Every key under one hash tag `{prefix}`: one Cluster shard holds the whole store, moves stay one script. */
  singleSlot?: boolean;
  /** Errors of the background liveness loop. Default: printed to stderr. */
  onError?: (err: unknown) => void;
}

type ScriptArg = string | number | Buffer;

/** A count the scripts can read: `Infinity` (take everything) becomes a large finite number. */
const clampCount = (n: number): number => (Number.isFinite(n) ? Math.floor(n) : 2 ** 31);

type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

/**
 * A `MessageStore` in Redis, shared by every Conveyor node that opens it with the same prefix.
 * Each queue operation is one Lua script (see scripts/queue-scripts.ts). Holders are qualified
 * with this store's node id, so holder ids of different processes never collide and a dead node's
 * deliveries can be found and returned by any other node.
 */
export class RedisStore implements MessageStore {
  readonly kind = 'redis';
  /** Posted = accepted by Redis (and by `wait` when set): it outlives this process; see `persistence`. */
  readonly durable = true;
  /** This process's node id (holders are `<nodeId>/<holder>`). */
  readonly nodeId = randomUUID().slice(0, 8);
  /** Shared by every node with the same prefix: wake-ups, metadata notes, liveness, signals. */
  readonly cluster: StoreCluster;
  /** Redis's durability settings, read at open; undefined when CONFIG is refused. */
  persistence: RedisPersistence | undefined;

  readonly #redis: RedisClient;
  /** Set over a Redis Cluster with per-queue slots: moves between queues go in four steps. */
  readonly #crossSlot: CrossSlotMove | undefined;
  readonly #sharded: boolean;
  readonly #keys: KeyLayout;
  readonly #wait: RedisWaitOption | undefined;
  readonly #liveness: NodeLiveness;
  /** Per queue: its ready count as the latest enqueue from this node saw it (StoreCluster.readyDepth). */
  readonly #depth = new Map<QueueKey, number>();
  /** Acks waiting for the end of this event-loop iteration, per queue (see `ack`). */
  readonly #acks = new Map<
    QueueKey,
    { holder: string; ids: string[]; resolve: (acked: string[]) => void; reject: (err: unknown) => void }[]
  >();
  /** Queues this node's holders took from (see HolderIndex). */
  readonly #holders = new HolderIndex();
  /** Queues this node is registered under `nq:<node>` for, so a sweep finds what it held. */
  readonly #registered = new Map<QueueKey, Promise<void>>();
  readonly #onError: (err: unknown) => void;
  /** Wake-ups, metadata changes, node departures and signals, on one subscriber connection. */
  readonly #channels: ChannelSubscriber;
  readonly #metaWatchers = new Set<(key: string) => void>();
  readonly #nodeWatchers = new Set<(nodeId: string) => void>();
  #status: 'new' | 'open' | 'closed' = 'new';

  constructor(options: RedisStoreOptions = {}) {
    const fromUrl = splitUrl(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const target: RedisTarget = fromUrl.cluster ? { cluster: fromUrl.cluster } : { url: fromUrl.url };
    const prefix = options.prefix ?? fromUrl.prefix ?? 'conveyor:';
    if (!options.singleSlot && /[{}]/.test(prefix))
      throw new StoreError(`redis prefix '${prefix}' may not contain braces`);
    this.#redis = commandClient(target);
    this.#sharded = isCluster(this.#redis);
    this.#keys = keyLayout(prefix, options.singleSlot === true);
    this.#wait = options.wait ?? fromUrl.wait;
    // WAIT counts the replicas of the one connection it is sent on; a Cluster client spreads
    // writes over the shards' connections, so it would prove nothing.
    if (this.#sharded && this.#wait)
      throw new StoreError('redis: wait (WAIT/WAITAOF) is not supported with a Redis Cluster');
    this.#onError = options.onError ?? ((err: unknown) => console.error('[conveyor redis]', err));
    for (const [name, def] of Object.entries(queueScripts(this.#sharded ? 'cluster' : 'single')))
      this.#redis.defineCommand(name, def);
    this.#crossSlot =
      this.#sharded && options.singleSlot !== true
        ? new CrossSlotMove({
            script: (name, queue, args, buffers) => this.#script(name, queue, args, buffers),
          })
        : undefined;
    const host = {
      nodeId: this.nodeId,
      globalPrefix: this.#keys.global,
      command: (name: string, ...args: (string | number)[]) => this.#redis.call(name, ...args),
      releaseNode: (queue: string, node: string) => this.#releaseNode(queue, node),
      housekeep: () => this.#pruneHolders(),
      onError: this.#onError,
    };
    this.#liveness = new NodeLiveness(host, options.holderTtlMs ?? fromUrl.holderTtlMs ?? 10_000);
    this.#channels = new ChannelSubscriber(() => subscriberClient(target), this.#onError);
    this.cluster = {
      nodeId: this.nodeId,
      subscribe: (queue, onWake) => this.#subscribeWake(queue, onWake),
      watchMeta: (onChange) => this.#watch(this.#metaWatchers, onChange),
      liveNodes: () => this.#liveNodes(),
      watchNodes: (onGone) => this.#watch(this.#nodeWatchers, onGone),
      signal: (topic, payload) => this.#signal(topic, payload),
      setConsumers: (queue, count) => this.#setConsumers(queue, count),
      consumerCount: (queue) => this.#consumerCount(queue),
      readyDepth: (queue) => this.#depth.get(queue),
      onSignal: (topic, listener) =>
        this.#channels.subscribe(globalKeys.signal(this.#keys.global, topic), listener),
    };
  }

  async open(): Promise<void> {
    if (this.#status === 'open') return;
    if (this.#status === 'closed') throw new BrokerClosedError();
    try {
      await this.#redis.connect();
      this.persistence = await readPersistence(this.#redis);
    } catch (err) {
      this.#redis.disconnect();
      throw new StoreError(`cannot open the redis store: ${String(err)}`, { cause: err });
    }
    const wait = this.#wait;
    if (wait && 'aof' in wait && this.persistence && !versionAtLeast(this.persistence.version, 7, 2)) {
      this.#redis.disconnect();
      throw new StoreError(`WAITAOF needs Redis 7.2 or later (this one is ${this.persistence.version})`);
    }
    try {
      // Listening before the broker reads its topology: no change made after that read is missed.
      const g = this.#keys.global;
      await this.#channels.subscribeNow(globalKeys.metaChanged(g), (key) =>
        this.#tell(this.#metaWatchers, key),
      );
      await this.#channels.subscribeNow(globalKeys.nodeGone(g), (node) =>
        this.#tell(this.#nodeWatchers, node),
      );
      this.#channels.onReconnect(() => this.#tell(this.#metaWatchers, ''));
      await this.#liveness.start();
    } catch (err) {
      this.#channels.close();
      this.#redis.disconnect();
      throw new StoreError(`cannot register this node in redis: ${String(err)}`, { cause: err });
    }
    this.#status = 'open';
  }

  /** Returns what this node's holders hold, stops the liveness key and disconnects. */
  async close(): Promise<void> {
    if (this.#status !== 'open') {
      this.#status = 'closed';
      return;
    }
    this.#status = 'closed';
    this.#channels.close();
    try {
      for (const queue of this.#registered.keys()) await this.#releaseNode(queue, this.nodeId);
      await this.#liveness.stop(true);
    } finally {
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    }
  }

  /**
   * Disconnects without returning what this node holds and without removing its liveness key,
   * as a crash would: other nodes return its deliveries once the key lapses (tests, drills).
   */
  async abandon(): Promise<void> {
    this.#status = 'closed';
    this.#channels.close();
    await this.#liveness.stop(false);
    this.#redis.disconnect();
  }

  /** What `node` held in `queue` returns to ready; its half-done moves from there are completed first. */
  async #releaseNode(queue: QueueKey, node: string): Promise<number> {
    const replayed = this.#crossSlot ? await this.#crossSlot.recover(queue, node) : 0;
    return replayed + (await this.#count('releaseNode', queue, [node]));
  }

  /** Returns what dead nodes held (every node also does this on its liveness timer). */
  async sweepDeadNodes(): Promise<number> {
    this.#check();
    return this.#liveness.sweep();
  }

  /**
   * `onWake` runs whenever any node adds messages to `queue` (ready or delayed) or returns held
   * ones to it, so a node can serve its blocked receivers and consumers at once and re-arm its
   * timer from `nextWakeAt`. Pub/sub is at most once: the `nextWakeAt` timers are the fallback.
   */
  #subscribeWake(queue: QueueKey, onWake: () => void): () => void {
    this.#check();
    if (this.#sharded)
      return this.#channels.subscribe(`${this.#keys.queueBase(queue)}wake`, () => onWake(), true);
    return this.#channels.subscribe(globalKeys.wake(this.#keys.global, queue), () => onWake());
  }

  /**
   * Metadata notes (a key any node changed; '' after a reconnect, when notes published while the
   * connection was away are lost) and node departures (closed, or found dead by any node's sweep).
   */
  #watch<T>(watchers: Set<(value: T) => void>, listener: (value: T) => void): () => void {
    watchers.add(listener);
    return () => void watchers.delete(listener);
  }

  async #liveNodes(): Promise<ReadonlySet<string>> {
    this.#check();
    return this.#guard(this.#liveness.liveNodes());
  }

  #tell<T>(listeners: Set<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  /** Per queue, in its slot: node id → its consumers of the queue. */
  #consumersKey(queue: QueueKey): string {
    return `${this.#keys.queueBase(queue)}consumers`;
  }

  async #setConsumers(queue: QueueKey, count: number): Promise<void> {
    this.#check();
    const key = this.#consumersKey(queue);
    await this.#guard(
      count > 0 ? this.#redis.hset(key, this.nodeId, count) : this.#redis.hdel(key, this.nodeId),
    );
  }

  /** Dead nodes' entries do not count: their consumers went with them. */
  async #consumerCount(queue: QueueKey): Promise<number> {
    this.#check();
    const [counts, live] = await Promise.all([
      this.#guard(this.#redis.hgetall(this.#consumersKey(queue))),
      this.#liveNodes(),
    ]);
    let total = 0;
    for (const [node, n] of Object.entries(counts)) if (live.has(node)) total += Number(n);
    return total;
  }

  async #signal(topic: string, payload: string): Promise<void> {
    this.#check();
    await this.#guard(this.#redis.publish(globalKeys.signal(this.#keys.global, topic), payload));
  }

  // ---- metadata ----

  async loadMeta(prefix: string): Promise<MetaEntry[]> {
    this.#check();
    const key = globalKeys.meta(this.#keys.global);
    const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const found = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscan(key, cursor, 'MATCH', match, 'COUNT', 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) found.set(flat[i] as string, flat[i + 1] as string);
      cursor = next;
    } while (cursor !== '0');
    return [...found.keys()].sort().map((k) => ({ key: k, value: decodeValue(found.get(k) as string) }));
  }

  async getMeta(key: string): Promise<unknown> {
    this.#check();
    const raw = await this.#guard(this.#redis.hget(globalKeys.meta(this.#keys.global), key));
    return raw === null ? undefined : decodeValue(raw);
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    this.#check();
    await this.#guard(this.#redis.hset(globalKeys.meta(this.#keys.global), key, encodeValue(value)));
    await this.#waitDurable();
    await this.#guard(this.#redis.publish(globalKeys.metaChanged(this.#keys.global), key));
  }

  async deleteMeta(key: string): Promise<void> {
    this.#check();
    await this.#guard(this.#redis.hdel(globalKeys.meta(this.#keys.global), key));
    await this.#waitDurable();
    await this.#guard(this.#redis.publish(globalKeys.metaChanged(this.#keys.global), key));
  }

  async takeMeta(key: string): Promise<unknown> {
    this.#check();
    const g = this.#keys.global;
    // One transaction: of concurrent takers exactly one reads the value before it is gone.
    const results = await this.#guard(
      this.#redis.multi().hget(globalKeys.meta(g), key).hdel(globalKeys.meta(g), key).exec(),
    );
    const raw = results?.[0]?.[1] as string | null | undefined;
    if (raw === null || raw === undefined) return undefined;
    await this.#waitDurable();
    await this.#guard(this.#redis.publish(globalKeys.metaChanged(g), key));
    return decodeValue(raw);
  }

  // ---- queues ----

  /**
   * The store-wide queue list is another key (another slot in a Cluster) than the queue's own, so
   * it is written outside the script: listed before the queue exists, unlisted after it is gone.
   * A crash in between leaves a listed name without a queue, never a queue nobody lists.
   */
  async createQueue(queue: QueueKey): Promise<void> {
    this.#check();
    await this.#guard(this.#redis.sadd(globalKeys.queues(this.#keys.global), queue));
    await this.#script('createQueue', queue, []);
  }

  async deleteQueue(queue: QueueKey): Promise<void> {
    this.#check();
    await this.#script('deleteQueue', queue, []);
    await this.#guard(this.#redis.del(this.#consumersKey(queue)));
    await this.#guard(this.#redis.srem(globalKeys.queues(this.#keys.global), queue));
    this.#depth.delete(queue);
  }

  async listQueues(): Promise<QueueKey[]> {
    this.#check();
    return this.#guard(this.#redis.smembers(globalKeys.queues(this.#keys.global)));
  }

  async enqueue(queue: QueueKey, records: QueueRecordInput[]): Promise<string[]> {
    this.#check();
    const args: ScriptArg[] = [Date.now()];
    for (const r of records) args.push(...recordArgs(r));
    const ids = (await this.#script('enqueue', queue, args)) as string[];
    this.#depth.set(queue, Number(ids.pop()));
    if (records.some((r) => r.durable)) await this.#waitDurable();
    return ids;
  }

  async take(queue: QueueKey, max: number, options: TakeOptions): Promise<StoredMessage[]> {
    this.#check();
    await this.#register(queue);
    const holder = this.#holder(options.holder);
    const rows = (await this.#script(
      'take',
      queue,
      [clampCount(max), holder, options.leaseUntil ?? '', options.now],
      true,
    )) as Row[];
    if (rows.length > 0) this.#holders.touch(holder, queue, Date.now());
    return rows.map(rowToMessage);
  }

  async takeById(queue: QueueKey, id: string, options: TakeOptions): Promise<StoredMessage | undefined> {
    this.#check();
    await this.#register(queue);
    const holder = this.#holder(options.holder);
    const row = (await this.#script(
      'takeById',
      queue,
      [id, holder, options.leaseUntil ?? '', options.now],
      true,
    )) as Row | null;
    if (row === null) return undefined;
    this.#holders.touch(holder, queue, Date.now());
    return rowToMessage(row);
  }

  /**
   * Before this node first holds anything in `queue`, it is listed under `nq:<node>`, so that if
   * it dies, the sweep of any other node knows where to return its deliveries from. Awaited before
   * the take: a crash between the two leaves a listing with nothing held, which is harmless.
   */
  #register(queue: QueueKey): Promise<void> {
    let registered = this.#registered.get(queue);
    if (registered === undefined) {
      registered = this.#guard(
        this.#redis.sadd(globalKeys.nodeQueues(this.#keys.global, this.nodeId), queue),
      ).then(() => undefined);
      registered.catch(() => this.#registered.delete(queue)); // the take that awaits it reports the error
      this.#registered.set(queue, registered);
    }
    return registered;
  }

  /** Forgets holder-index entries (older than a minute) whose holder no longer holds anything there. */
  async #pruneHolders(): Promise<void> {
    const now = Date.now();
    await this.#holders.prune(now - 60_000, now, (entries) =>
      Promise.all(
        entries.map(
          async ([holder, queue]) => (await this.#redis.exists(this.#heldKey(queue, holder))) === 1,
        ),
      ),
    );
  }

  /** The set of ids `holder` holds in `queue` (written by the scripts: see prelude.ts). */
  #heldKey(queue: QueueKey, holder: string): string {
    return `${this.#keys.queueBase(queue)}h:${holder}`;
  }

  /**
   * Acks of one queue that arrive in the same event-loop iteration (many consumers' frames read in
   * one poll) share one script call: acks are most of the scripts a message costs (issue 17).
   */
  async ack(queue: QueueKey, ids: string[], holder: HolderId): Promise<string[]> {
    this.#check();
    let batch = this.#acks.get(queue);
    if (!batch) {
      this.#acks.set(queue, (batch = []));
      // End of this event-loop iteration (node:timers' own: a test's fake timers do not stop I/O batching).
      setImmediate(() => void this.#flushAcks(queue));
    }
    return new Promise((resolve, reject) =>
      batch.push({ holder: this.#holder(holder), ids, resolve, reject }),
    );
  }

  async #flushAcks(queue: QueueKey): Promise<void> {
    const batch = this.#acks.get(queue) ?? [];
    this.#acks.delete(queue);
    try {
      const args: ScriptArg[] = [batch.length];
      for (const a of batch) args.push(a.holder, a.ids.length, ...a.ids);
      const out = (await this.#script('ack', queue, args)) as string[];
      let at = 0;
      for (const a of batch) {
        const n = Number(out[at]);
        a.resolve(out.slice(at + 1, at + 1 + n));
        at += 1 + n;
      }
    } catch (err) {
      for (const a of batch) a.reject(err);
    }
  }

  async release(
    queue: QueueKey,
    ids: string[],
    holder: HolderId,
    options?: ReleaseOptions,
  ): Promise<string[]> {
    this.#check();
    const readyAt = options?.readyAt ?? '';
    return (await this.#script('release', queue, [this.#holder(holder), readyAt, ...ids])) as string[];
  }

  async renew(queue: QueueKey, ids: string[], holder: HolderId, leaseUntil: number): Promise<string[]> {
    this.#check();
    return (await this.#script('renew', queue, [this.#holder(holder), leaseUntil, ...ids])) as string[];
  }

  async releaseHolder(holder: HolderId): Promise<number> {
    this.#check();
    const qualified = this.#holder(holder);
    let n = 0;
    for (const queue of this.#holders.take(qualified))
      n += await this.#count('releaseHolder', queue, [qualified]);
    return n;
  }

  async expireLeases(queue: QueueKey, now: number): Promise<number> {
    this.#check();
    return this.#count('expireLeases', queue, [now]);
  }

  async move(
    from: QueueKey,
    ids: string[],
    holder: HolderId,
    to: QueueKey,
    records: QueueRecordInput[],
  ): Promise<string[]> {
    this.#check();
    if (this.#crossSlot) return this.#crossSlot.move(from, ids, this.#holder(holder), to, records);
    const k = this.#keys;
    const keys = [...k.queueKeys(from), ...k.queueKeys(to)];
    const args: ScriptArg[] = [k.global, k.queueBase(from), from, k.queueBase(to), to, this.#holder(holder)];
    args.push(ids.length, Date.now(), ...ids);
    for (let i = 0; i < ids.length; i++) {
      const record = records[i];
      if (record === undefined) throw new StoreError(`move: no record for id ${ids[i]}`);
      args.push(...recordArgs(record));
    }
    const moved = (await this.#call('move', [...keys, ...args], false)) as string[];
    if (moved.length > 0 && records.some((r) => r.durable)) await this.#waitDurable();
    return moved;
  }

  async peek(queue: QueueKey, max: number, options?: PeekOptions): Promise<PeekedMessage[]> {
    this.#check();
    const args = [
      clampCount(max),
      options?.includeInFlight ? '1' : '0',
      options?.includeDelayed ? '1' : '0',
      Date.now(),
    ];
    return ((await this.#script('peek', queue, args, true)) as Row[]).map(rowToPeeked);
  }

  async counts(queue: QueueKey): Promise<QueueCounts> {
    this.#check();
    const [ready, inFlight, delayed, bytes] = (
      (await this.#script('counts', queue, [Date.now()])) as string[]
    ).map(Number);
    return { ready: ready ?? 0, inFlight: inFlight ?? 0, delayed: delayed ?? 0, bytes: bytes ?? 0 };
  }

  async purge(queue: QueueKey): Promise<number> {
    this.#check();
    return this.#count('purge', queue, []);
  }

  async remember(queue: QueueKey, key: string, windowMs: number, now: number): Promise<boolean> {
    this.#check();
    return (await this.#count('remember', queue, [key, windowMs, now])) === 1;
  }

  async nextWakeAt(queue: QueueKey): Promise<number | undefined> {
    this.#check();
    const at = (await this.#script('nextWakeAt', queue, [])) as string | null;
    if (at === null) return undefined;
    return at === 'inf' ? Number.POSITIVE_INFINITY : Number(at); // a lease renewed to Infinity
  }

  // ---- internals ----

  #check(): void {
    if (this.#status === 'open') return;
    if (this.#status === 'new') throw new StoreError('redis store is not open');
    throw new BrokerClosedError();
  }

  #holder(holder: HolderId): string {
    return `${this.nodeId}/${holder}`;
  }

  async #count(name: ScriptName, queue: QueueKey, args: ScriptArg[]): Promise<number> {
    return Number(await this.#script(name, queue, args));
  }

  /** Runs a single-queue script: its keys, then [global prefix, queue base, queue name, ...args]. */
  #script(name: ScriptName, queue: QueueKey, args: ScriptArg[], buffers = false) {
    const k = this.#keys;
    return this.#call(name, [...k.queueKeys(queue), k.global, k.queueBase(queue), queue, ...args], buffers);
  }

  async #call(name: ScriptName, args: ScriptArg[], buffers: boolean): Promise<unknown> {
    const commands = this.#redis as unknown as Record<string, ScriptFn>;
    const fn = commands[buffers ? `${name}Buffer` : name] as ScriptFn;
    try {
      return await fn.apply(this.#redis, args);
    } catch (err) {
      const message = err instanceof Error ? err.message : '';
      if (message.startsWith('QNF ')) throw new QueueNotFoundError(message.slice(4));
      throw this.#storeError(err);
    }
  }

  async #guard<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      throw this.#storeError(err);
    }
  }

  #storeError(err: unknown): Error {
    if (this.#status === 'closed') return new BrokerClosedError();
    return new StoreError(`redis: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  /** `wait`: the writes so far on this connection reached the replicas / the local AOF. */
  async #waitDurable(): Promise<void> {
    const wait = this.#wait;
    if (!wait) return;
    if ('aof' in wait) {
      const [local] = (await this.#guard(this.#redis.call('WAITAOF', 1, 0, wait.timeoutMs ?? 0))) as number[];
      if ((local ?? 0) < 1) throw new StoreError('WAITAOF: the write did not reach the append-only file');
      return;
    }
    const acked = Number(await this.#guard(this.#redis.call('WAIT', wait.replicas, wait.timeoutMs)));
    if (acked < wait.replicas)
      throw new StoreError(
        `WAIT: ${acked} of ${wait.replicas} replicas acknowledged within ${wait.timeoutMs} ms`,
      );
  }
}
