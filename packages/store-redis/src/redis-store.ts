import { randomUUID } from 'node:crypto';
import {
  BrokerClosedError,
  StoreError,
  type CreateQueueOptions,
  type EnqueueOptions,
  type HolderId,
  type MessageStore,
  type StoreCluster,
  type MetaEntry,
  type MetaWriteOptions,
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
import { recordArgs, rowToPeeked, takenToMessages, type Row } from './record-codec.js';
import { splitUrl } from './redis-url.js';
import { readPersistence, versionAtLeast, type RedisPersistence } from './redis-persistence.js';
import { queueScripts } from './scripts/queue-scripts.js';
import { HolderIndex } from './holder-index.js';
import { AckBatcher } from './ack-batcher.js';
import { PendingReleases } from './pending-releases.js';
import { QueueAppender } from './queue-appender.js';
import { RedisCalls, storeScripts, type RedisWaitOption, type ScriptArg } from './redis-calls.js';
import { RedisMetadata } from './redis-metadata.js';
import { QueueConsumers } from './queue-consumers.js';
import { ChannelSubscriber } from './channel-subscriber.js';
import { printConnectionEvent, reportOutages, type RedisConnectionEvent } from './outage-reports.js';
import { fromFormat3, upgradeRecords } from './store-upgrade.js';
import { claimStoreFormat } from './store-format.js';

export type { RedisWaitOption } from './redis-calls.js';
export type { RedisConnectionEvent, RedisConnectionName } from './outage-reports.js';

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
  /** After durable writes, wait for replicas (`WAIT`) or the local AOF fsync (`WAITAOF`, Redis ≥ 7.2); in a Cluster, on the shard that took the write. */
  wait?: RedisWaitOption;
  /** Every key under one hash tag `{prefix}`: one Cluster shard holds the whole store, moves stay one script. */
  singleSlot?: boolean;
  /** Errors no call awaits: a connection's own while it is up, the liveness loop's. Default: printed to stderr. */
  onError?: (err: unknown) => void;
  /** A connection to Redis lost, and back: once each per outage and connection. Default: printed to stderr. */
  onConnection?: (event: RedisConnectionEvent) => void;
}

/** A count the scripts can read: `Infinity` (take everything) becomes a large finite number. */
const clampCount = (n: number): number => (Number.isFinite(n) ? Math.floor(n) : 2 ** 31);

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
  /** Replays another node's half-done moves, waking every node (this one's engine did not move them). */
  readonly #crossSlotReplay: CrossSlotMove | undefined;
  /** Calls made for a departed node (sweep): their wake-ups reach this node as well. */
  readonly #sweepCalls: RedisCalls;
  readonly #sharded: boolean;
  readonly #keys: KeyLayout;
  readonly #wait: RedisWaitOption | undefined;
  readonly #liveness: NodeLiveness;
  /** Per queue: its ready count as the latest enqueue from this node saw it (StoreCluster.readyDepth). */
  readonly #depth = new Map<QueueKey, number>();
  readonly #calls: RedisCalls;
  readonly #meta: RedisMetadata;
  readonly #acks: AckBatcher;
  /** Releases Redis did not take, run again on the liveness timer. */
  readonly #releases: PendingReleases;
  /** Takes made, for each take's token (see undoTake). */
  #takes = 0;
  /** `<holder>\0<queue>` → the token of that holder's last take there, which failed. */
  readonly #failedTakes = new Map<string, string>();
  readonly #appender: QueueAppender;
  readonly #consumers: QueueConsumers;
  /** Queues this node's holders took from (see HolderIndex). */
  readonly #holders = new HolderIndex();
  /** Queues this node is registered under `nq:<node>` for, so a sweep finds what it held. */
  /** The listing under way, or 'listed' once it is done. */
  readonly #registered = new Map<QueueKey, Promise<void> | 'listed'>();
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
    this.#onError = options.onError ?? ((err: unknown) => console.error('[conveyor redis]', err));
    const onConnection = options.onConnection ?? printConnectionEvent;
    // Without a listener ioredis prints each connection error past the broker's log.
    reportOutages(this.#redis, 'commands', {
      onConnection,
      onError: this.#onError,
      silent: () => this.#status !== 'open',
    });
    const mode = this.#sharded ? 'cluster' : 'single';
    this.#calls = new RedisCalls(
      this.#redis,
      this.#keys,
      storeScripts(queueScripts(mode)),
      this.#wait,
      () => this.#status === 'closed',
      this.nodeId,
    );
    this.#sweepCalls = this.#calls.forEveryNode();
    this.#meta = new RedisMetadata(this.#calls);
    this.#releases = new PendingReleases((r) => this.#calls.script(r.name, r.queue, r.args));
    this.#acks = new AckBatcher(this.#calls, this.#releases);
    this.#appender = new QueueAppender(this.#calls, mode);
    this.#consumers = new QueueConsumers(this.#calls, this.nodeId, () => this.#liveNodes());
    const crossSlot = this.#sharded && options.singleSlot !== true;
    this.#crossSlot = crossSlot
      ? new CrossSlotMove({
          script: (name, queue, args, buffers) => this.#calls.script(name, queue, args, buffers),
          waitDurable: (queue) => this.#calls.waitDurable(this.#keys.queueBase(queue)),
        })
      : undefined;
    this.#crossSlotReplay = crossSlot
      ? new CrossSlotMove({
          script: (name, queue, args, buffers) => this.#sweepCalls.script(name, queue, args, buffers),
          waitDurable: (queue) => this.#sweepCalls.waitDurable(this.#keys.queueBase(queue)),
        })
      : undefined;
    const host = {
      nodeId: this.nodeId,
      globalPrefix: this.#keys.global,
      command: (name: string, ...args: (string | number)[]) => this.#redis.call(name, ...args),
      announceGone: (node: string) => this.#calls.note(this.#calls.channels.nodeGone, node),
      releaseNode: (queue: string, node: string) => this.#releaseNode(queue, node),
      housekeep: () => this.#housekeep(),
      onError: this.#onError,
    };
    this.#liveness = new NodeLiveness(host, options.holderTtlMs ?? fromUrl.holderTtlMs ?? 10_000);
    this.#channels = new ChannelSubscriber(() => subscriberClient(target), this.#onError, onConnection);
    this.cluster = {
      nodeId: this.nodeId,
      subscribe: (queue, onWake) => this.#subscribeWake(queue, onWake),
      wake: (queue) => this.#calls.note(this.#wakeChannel(queue), this.nodeId),
      watchMeta: (onChange) => this.#watch(this.#metaWatchers, onChange),
      liveNodes: () => this.#liveNodes(),
      watchNodes: (onGone) => this.#watch(this.#nodeWatchers, onGone),
      signal: (topic, payload) => this.#signal(topic, payload),
      setConsumers: (queue, count) => {
        this.#check();
        return this.#consumers.set(queue, count);
      },
      consumerCount: (queue) => {
        this.#check();
        return this.#consumers.total(queue);
      },
      readyDepth: (queue) => this.#depth.get(queue),
      onSignal: (topic, listener) =>
        this.#channels.subscribe(this.#calls.channels.signal(topic), listener, this.#sharded),
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
    try {
      const g = this.#keys.global;
      await claimStoreFormat(this.#redis, g, this.nodeId, async () => {
        const queues = await this.#redis.smembers(globalKeys.queues(g));
        await upgradeRecords(this.#calls, queues);
        await fromFormat3(this.#calls, queues);
      });
    } catch (err) {
      this.#redis.disconnect();
      throw err instanceof StoreError
        ? err
        : new StoreError(`cannot open the redis store: ${String(err)}`, { cause: err });
    }
    const wait = this.#wait;
    if (wait && 'aof' in wait && this.persistence && !versionAtLeast(this.persistence.version, 7, 2)) {
      this.#redis.disconnect();
      throw new StoreError(`WAITAOF needs Redis 7.2 or later (this one is ${this.persistence.version})`);
    }
    try {
      // Listening before the broker reads its topology: no change made after that read is missed.
      const { channels } = this.#calls;
      await this.#channels.subscribeNow(
        channels.metaChanged,
        (key) => this.#tell(this.#metaWatchers, key),
        this.#sharded,
      );
      await this.#channels.subscribeNow(
        channels.nodeGone,
        (node) => this.#tell(this.#nodeWatchers, node),
        this.#sharded,
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
    this.#releases.clear(); // what they would release, the node's release below returns
    this.#failedTakes.clear();
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
    const calls = node === this.nodeId ? this.#calls : this.#sweepCalls;
    const replay = node === this.nodeId ? this.#crossSlot : this.#crossSlotReplay;
    const replayed = replay ? await replay.recover(queue, node) : 0;
    return replayed + (await calls.count('releaseNode', queue, [node]));
  }

  /** Returns what dead nodes held (every node also does this on its liveness timer). */
  async sweepDeadNodes(): Promise<number> {
    this.#check();
    return this.#liveness.sweep();
  }

  /**
   * `onWake` runs whenever any node adds messages to `queue` (ready or delayed) or returns held
   * ones to it, so a node can serve its blocked receivers and consumers at once and arm its timer
   * for the delayed ones (`dueAt`). Pub/sub is at most once: the `nextWakeAt` timers are the fallback,
   * and after the listening connection was lost every queue is woken again, as on subscribing
   * (a wake-up meanwhile is gone, and a queue that looked empty has no timer).
   */
  #subscribeWake(queue: QueueKey, onWake: (dueAt?: number) => void): () => void {
    this.#check();
    // The payload is the calling node, then the time its first delayed message falls due, if
    // any (the scripts' wake). A wake-up from this node's own call is news to nobody here: the
    // engine made the change and armed its timer.
    const woken = (payload: string) => {
      const space = payload.indexOf(' ');
      if ((space < 0 ? payload : payload.slice(0, space)) === this.nodeId) return;
      onWake(space < 0 ? undefined : Number(payload.slice(space + 1)));
    };
    return this.#channels.subscribe(this.#wakeChannel(queue), woken, this.#sharded, onWake);
  }

  #wakeChannel(queue: QueueKey): string {
    return `${this.#keys.queueBase(queue)}wake`;
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
    return this.#calls.guard(this.#liveness.liveNodes());
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

  async #signal(topic: string, payload: string): Promise<void> {
    this.#check();
    await this.#calls.note(this.#calls.channels.signal(topic), payload);
  }

  // ---- metadata ----

  async loadMeta(prefix: string): Promise<MetaEntry[]> {
    this.#check();
    return this.#meta.load(prefix);
  }

  async getMeta(key: string): Promise<unknown> {
    this.#check();
    return this.#meta.get(key);
  }

  async putMeta(key: string, value: unknown, options?: MetaWriteOptions): Promise<void> {
    this.#check();
    await this.#meta.put(key, value, options?.durable ?? true);
  }

  async deleteMeta(key: string, options?: MetaWriteOptions): Promise<void> {
    this.#check();
    await this.#meta.delete(key, options?.durable ?? true);
  }

  async takeMeta(key: string): Promise<unknown> {
    this.#check();
    return this.#meta.take(key);
  }

  // ---- queues ----

  /**
   * The store-wide queue list is another key (another slot in a Cluster) than the queue's own, so
   * it is written outside the script: listed before the queue exists, unlisted after it is gone.
   * A crash in between leaves a listed name without a queue, never a queue nobody lists. A
   * durable queue waits (`wait`) on its own shard: in a Cluster the wait for its definition, on
   * the metadata's shard, does not cover it, and a failover could keep the definition but lose
   * the queue, so that sends to it would fail.
   */
  async createQueue(queue: QueueKey, options?: CreateQueueOptions): Promise<void> {
    this.#check();
    await this.#calls.guard(this.#redis.sadd(globalKeys.queues(this.#keys.global), queue));
    await this.#calls.script('createQueue', queue, []);
    if (options?.durable ?? true) await this.#calls.waitDurable(this.#keys.queueBase(queue));
  }

  async deleteQueue(queue: QueueKey): Promise<void> {
    this.#check();
    await this.#calls.script('deleteQueue', queue, []);
    this.#appender.forget(queue);
    this.#crossSlot?.forget(queue);
    await this.#consumers.forget(queue);
    await this.#calls.guard(this.#redis.srem(globalKeys.queues(this.#keys.global), queue));
    this.#depth.delete(queue);
  }

  async listQueues(): Promise<QueueKey[]> {
    this.#check();
    return this.#calls.guard(this.#redis.smembers(globalKeys.queues(this.#keys.global)));
  }

  async enqueue(queue: QueueKey, records: QueueRecordInput[], options?: EnqueueOptions): Promise<string[]> {
    this.#check();
    // A batch that wakes nobody, for this node to take: the queue is listed under `nq:<node>`
    // first, so that if the node dies before its take, the sweep of that listing wakes the others
    // there (releaseNode). While a listing is under way every enqueue waits for it, in order, so
    // that none overtakes another of the same publisher.
    const listed = this.#registered.get(queue);
    if (listed !== 'listed') {
      const listing = listed ?? (options?.taking ? this.#register(queue) : undefined);
      if (listing) await listing;
    }
    const { ids, ready } = await this.#appender.append(queue, records, options?.taking);
    this.#depth.set(queue, ready);
    if (records.some((r) => r.durable)) await this.#calls.waitDurable(this.#keys.queueBase(queue));
    return ids;
  }

  async take(queue: QueueKey, max: number, options: TakeOptions): Promise<StoredMessage[]> {
    this.#check();
    await this.#register(queue);
    const holder = this.#holder(options.holder);
    // This holder's last take here failed: what it may have taken goes back before it takes
    // again, as the note of its ids is replaced by the next take's.
    const failed = `${holder}\u0000${queue}`;
    const undo = this.#failedTakes.get(failed);
    if (undo !== undefined) {
      await this.#calls.script('undoTake', queue, [holder, undo]);
      this.#failedTakes.delete(failed);
    }
    const token = String(++this.#takes);
    const args = [
      clampCount(max),
      holder,
      options.leaseUntil ?? '',
      options.now,
      options.wakeRest ? '1' : '',
      token,
    ];
    let flat: Row;
    try {
      flat = (await this.#holding(holder, queue, () => this.#calls.script('take', queue, args, true))) as Row;
    } catch (err) {
      // It may have run, its reply lost: what it took goes back once Redis answers (undoTake),
      // before this holder's next take here, or on the timer if none follows.
      if (this.#releases.keepAfter(err, { name: 'undoTake', queue, args: [holder, token] }))
        this.#failedTakes.set(failed, token);
      throw err;
    }
    if (flat.length > 0) this.#holders.touch(holder, queue, Date.now());
    return takenToMessages(flat);
  }

  async takeById(queue: QueueKey, id: string, options: TakeOptions): Promise<StoredMessage | undefined> {
    this.#check();
    await this.#register(queue);
    const holder = this.#holder(options.holder);
    const row = (await this.#holding(holder, queue, () =>
      this.#calls.script('takeById', queue, [id, holder, options.leaseUntil ?? '', options.now], true),
    )) as Row | null;
    if (row === null || row.length === 0) return undefined;
    this.#holders.touch(holder, queue, Date.now());
    return takenToMessages(row)[0];
  }

  /**
   * A take whose call failed may have run in Redis with its reply lost (the connection dropped):
   * then `holder` holds what its caller never got. The queue goes into the holder index all the
   * same, so that `releaseHolder` (the engine calls it when the holder ends) returns those too.
   */
  async #holding(holder: string, queue: QueueKey, take: () => Promise<unknown>): Promise<unknown> {
    try {
      return await take();
    } catch (err) {
      this.#holders.touch(holder, queue, Date.now());
      throw err;
    }
  }

  /**
   * Before this node first holds anything in `queue`, it is listed under `nq:<node>`, so that if
   * it dies, the sweep of any other node knows where to return its deliveries from. Awaited before
   * the take: a crash between the two leaves a listing with nothing held, which is harmless.
   */
  #register(queue: QueueKey): Promise<void> {
    const registered = this.#registered.get(queue);
    if (registered === 'listed') return Promise.resolve();
    if (registered !== undefined) return registered;
    const listing = this.#calls
      .guard(this.#redis.sadd(globalKeys.nodeQueues(this.#keys.global, this.nodeId), queue))
      .then(() => void this.#registered.set(queue, 'listed'));
    listing.catch(() => this.#registered.delete(queue)); // the take that awaits it reports the error
    this.#registered.set(queue, listing);
    return listing;
  }

  /** On the liveness timer: failed releases again, then the holder index's pruning. */
  async #housekeep(): Promise<void> {
    await this.#releases.retry();
    await this.#pruneHolders();
  }

  /** Forgets holder-index entries (older than a minute) whose holder no longer holds anything there. */
  async #pruneHolders(): Promise<void> {
    const now = Date.now();
    await this.#holders.prune(now - 60_000, now, (entries) =>
      Promise.all(
        entries.map(
          async ([holder, queue]) => (await this.#redis.hexists(this.#holdingKey(queue), holder)) === 1,
        ),
      ),
    );
  }

  /** How many messages each holder holds in `queue`; no field for one that holds none (prelude.ts). */
  #holdingKey(queue: QueueKey): string {
    return this.#keys.queueKey(queue, 'holding');
  }

  /** Acks of one queue in one event-loop iteration share a script call (AckBatcher). */
  async ack(queue: QueueKey, ids: string[], holder: HolderId): Promise<string[]> {
    this.#check();
    return this.#acks.ack(queue, this.#holder(holder), ids);
  }

  async release(
    queue: QueueKey,
    ids: string[],
    holder: HolderId,
    options?: ReleaseOptions,
  ): Promise<string[]> {
    this.#check();
    const readyAt = options?.readyAt ?? '';
    const args = [this.#holder(holder), readyAt, ...ids];
    return (await this.#releases.attempt({ name: 'release', queue, args })) as string[];
  }

  async renew(queue: QueueKey, ids: string[], holder: HolderId, leaseUntil: number): Promise<string[]> {
    this.#check();
    return (await this.#calls.script('renew', queue, [this.#holder(holder), leaseUntil, ...ids])) as string[];
  }

  async releaseHolder(holder: HolderId): Promise<number> {
    this.#check();
    const qualified = this.#holder(holder);
    const queues = this.#holders.take(qualified);
    let n = 0;
    for (const [i, queue] of queues.entries()) {
      try {
        n += Number(await this.#releases.attempt({ name: 'releaseHolder', queue, args: [qualified] }));
      } catch (err) {
        for (const rest of queues.slice(i + 1))
          this.#releases.keep({ name: 'releaseHolder', queue: rest, args: [qualified] });
        throw err;
      }
    }
    return n;
  }

  async expireLeases(queue: QueueKey, now: number): Promise<number> {
    this.#check();
    return this.#calls.count('expireLeases', queue, [now]);
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
    const args: ScriptArg[] = [
      this.nodeId,
      k.queueBase(from),
      from,
      k.queueBase(to),
      to,
      this.#holder(holder),
    ];
    args.push(ids.length, Date.now(), ...ids);
    for (let i = 0; i < ids.length; i++) {
      const record = records[i];
      if (record === undefined) throw new StoreError(`move: no record for id ${ids[i]}`);
      args.push(...recordArgs(record));
    }
    const moved = (await this.#calls.call('move', [...keys, ...args], false)) as string[];
    if (moved.length > 0 && records.some((r) => r.durable)) await this.#calls.waitDurable(k.queueBase(to));
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
    return ((await this.#calls.script('peek', queue, args, true)) as Row[]).map(rowToPeeked);
  }

  async counts(queue: QueueKey): Promise<QueueCounts> {
    this.#check();
    const [ready, inFlight, delayed, bytes] = (
      (await this.#calls.script('counts', queue, [Date.now()])) as string[]
    ).map(Number);
    return { ready: ready ?? 0, inFlight: inFlight ?? 0, delayed: delayed ?? 0, bytes: bytes ?? 0 };
  }

  async purge(queue: QueueKey): Promise<number> {
    this.#check();
    return this.#calls.count('purge', queue, []);
  }

  async remember(queue: QueueKey, key: string, windowMs: number, now: number): Promise<boolean> {
    this.#check();
    return (await this.#calls.count('remember', queue, [key, windowMs, now])) === 1;
  }

  async nextWakeAt(queue: QueueKey): Promise<number | undefined> {
    this.#check();
    const at = (await this.#calls.script('nextWakeAt', queue, [])) as string | null;
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
}
