import type { PeekedMessage, QueueRecordInput, StoredMessage } from '../message.js';

/**
 * The storage boundary. A store owns every queue's state: ready order, delayed messages,
 * in-flight deliveries with their holders and lease deadlines, and delivery counts.
 * The engine owns policy (routing, TTL, delivery limits, dead-lettering, dispatch) and calls
 * these operations; each one is atomic in the store, so a shared store (Redis) can serve
 * several broker processes over the same queues.
 *
 * Queues are named by a `QueueKey`: the engine's vhost-qualified queue name.
 * Holders are opaque ids: a pull lease, a push consumer, an MQTT session.
 */
export type QueueKey = string;
export type HolderId = string;

export interface QueueCounts {
  /** Deliverable now. */
  ready: number;
  /** Held by someone (leased or pushed, not yet acked). */
  inFlight: number;
  /** Waiting for their `readyAt` (delayed publish or delayed nack). */
  delayed: number;
  /** Body bytes of all messages in the queue (ready, in flight and delayed). */
  bytes: number;
}

export interface TakeOptions {
  /** Who will hold the deliveries. */
  holder: HolderId;
  /** Lease deadline (ms since the epoch); none for push deliveries that wait for ack. */
  leaseUntil?: number;
  /** The clock, so tests and a shared store agree on "now". */
  now: number;
  /**
   * Shared stores: after this take, wake the other nodes if ready messages are left. The caller
   * enqueued with `taking`, which woke nobody.
   */
  wakeRest?: boolean;
}

export interface EnqueueOptions {
  /**
   * Shared stores: the caller takes from the queue as soon as this resolves (it has a consumer or
   * receiver with room there), so the store wakes no other node for these records; the caller's
   * next take, with `wakeRest`, wakes them for what it leaves, and a caller that does not take
   * after all calls `cluster.wake`. Other stores ignore it.
   */
  taking?: boolean;
}

export interface PeekOptions {
  includeInFlight?: boolean;
  includeDelayed?: boolean;
}

export interface ReleaseOptions {
  /** Ready again no earlier than this time; absent = ready now, at its original position. */
  readyAt?: number;
}

export interface MetaEntry {
  key: string;
  value: unknown;
}

/**
 * What several broker processes sharing one store need of it, beyond queues and metadata. A store
 * with a `cluster` is shared: a node must then not delete queues it did not declare, keeps all of
 * its topology (durable or not) in the metadata so every node routes alike, and learns of other
 * nodes' sends through `subscribe`.
 */
export interface StoreCluster {
  /** This process's node id, stable while the store is open. */
  readonly nodeId: string;
  /**
   * Calls `onWake` when another process adds or returns messages in `queue` (at most once; the
   * engine keeps its `nextWakeAt` timers as the fallback), and once as soon as the subscription is
   * in place: a send between the caller's last look at the queue and then is not missed. When the
   * other process delayed some of them, `dueAt` is when the first falls due: only that process
   * had a timer for it, so the listener arms its own. Returns an unsubscribe function.
   */
  subscribe(queue: QueueKey, onWake: (dueAt?: number) => void): () => void;
  /** Wakes the other processes listening on `queue` (see `EnqueueOptions.taking`). */
  wake(queue: QueueKey): Promise<void>;
  /**
   * Calls `onChange` with the key when any process (this one included) changes the metadata, and
   * with `''` when notes may have been lost (the store's listening connection came back): then
   * anything may have changed. Returns an unsubscribe function.
   */
  watchMeta(onChange: (key: string) => void): () => void;
  /** The nodes whose liveness is current (this one included). */
  liveNodes(): Promise<ReadonlySet<string>>;
  /**
   * Calls `onGone` on every node when a node left (closed, or found dead by a sweep after its
   * deliveries were returned). At most once, like `watchMeta`.
   */
  watchNodes(onGone: (nodeId: string) => void): () => void;
  /**
   * Ready messages in `queue` as the store reported them with this node's latest enqueue into
   * it; undefined before the first. Read at no cost (flow control across nodes).
   */
  readyDepth(queue: QueueKey): number | undefined;
  /** This node's number of consumers on `queue`: auto-delete and expiry count every node's. */
  setConsumers(queue: QueueKey, count: number): Promise<void>;
  /** The consumers on `queue` of every live node, this one's included. */
  consumerCount(queue: QueueKey): Promise<number>;
  /** A note to every process of the store (pub/sub: at most once, no history). */
  signal(topic: string, payload: string): Promise<void>;
  /** Receives the notes of `signal` on `topic`, this process's own included. */
  onSignal(topic: string, listener: (payload: string) => void): () => void;
}

/** Key-value metadata: durable topology, retained messages, sessions. */
export interface MetadataStore {
  loadMeta(prefix: string): Promise<MetaEntry[]>;
  /** One entry by its exact key; `undefined` when absent. */
  getMeta(key: string): Promise<unknown>;
  /**
   * `durable` (default true): the entry must outlive a restart or failover, so a store that
   * confirms writes only once replicated (Redis `wait`) confirms this one that way; a transient
   * queue's or session's entry, which dies with its node anyway, is confirmed once written.
   */
  putMeta(key: string, value: unknown, options?: MetaWriteOptions): Promise<void>;
  /** `durable` as for `putMeta`: whether the entry removed was a durable one. */
  deleteMeta(key: string, options?: MetaWriteOptions): Promise<void>;
  /** Reads and deletes one entry atomically: of concurrent callers, one gets the value, the others `undefined`. */
  takeMeta(key: string): Promise<unknown>;
}

/** How a metadata entry is written or removed (see `MetadataStore.putMeta`). */
export interface MetaWriteOptions {
  readonly durable?: boolean;
}

/** How a queue is created (see `QueueStore.createQueue`). */
export interface CreateQueueOptions {
  readonly durable?: boolean;
}

/** The queues and their messages. */
export interface QueueStore {
  /**
   * Idempotent. `durable` (default true): the queue outlives a restart, so a store that confirms
   * writes only once replicated (Redis `wait`) confirms the queue's creation the same way.
   */
  createQueue(queue: QueueKey, options?: CreateQueueOptions): Promise<void>;
  /** Removes the queue and every message in it. */
  deleteQueue(queue: QueueKey): Promise<void>;
  /** Queues that hold state in this store (after a restart: those with durable messages). */
  listQueues(): Promise<QueueKey[]>;

  /**
   * Appends records in order. Resolves, with their ids, once every `durable` record is on stable
   * storage (group commit: many enqueues share one sync). Records are visible to `take` as soon
   * as the call is made in an embedded store, and once it resolves in any store.
   */
  enqueue(queue: QueueKey, records: QueueRecordInput[], options?: EnqueueOptions): Promise<string[]>;

  /**
   * Hands out up to `max` ready messages in FIFO order (redeliveries keep their original
   * position; with `priorities`, higher priority first and FIFO within a level), raising each one's delivery count; the raised count is stored (batched).
   * Returns what it handed out; the caller decides (TTL, delivery limit) and acks, moves or
   * delivers them. Fewer than `max` means no more were ready: the engine then stops asking until
   * something changes.
   */
  take(queue: QueueKey, max: number, options: TakeOptions): Promise<StoredMessage[]>;
  /** Like `take`, for one peeked message; `undefined` when it is no longer ready. */
  takeById(queue: QueueKey, id: string, options: TakeOptions): Promise<StoredMessage | undefined>;

  /** Removes messages held by `holder`; returns the ids that were held (others are ignored). */
  ack(queue: QueueKey, ids: string[], holder: HolderId): Promise<string[]>;
  /** Returns held messages to ready (or delayed); returns the ids that were held. */
  release(queue: QueueKey, ids: string[], holder: HolderId, options?: ReleaseOptions): Promise<string[]>;
  /** Extends leases; returns the ids that were held. */
  renew(queue: QueueKey, ids: string[], holder: HolderId, leaseUntil: number): Promise<string[]>;
  /** Everything `holder` holds, in every queue, becomes ready again (count stays raised). */
  releaseHolder(holder: HolderId): Promise<number>;
  /** Leases whose deadline is at or before `now` end: those messages become ready again. */
  expireLeases(queue: QueueKey, now: number): Promise<number>;

  /**
   * Atomically removes held messages from `from` and appends `records` to `to` (dead-lettering,
   * redrive). Returns the ids that were held and moved; only their records are appended
   * (records[i] belongs to ids[i]).
   */
  move(
    from: QueueKey,
    ids: string[],
    holder: HolderId,
    to: QueueKey,
    records: QueueRecordInput[],
  ): Promise<string[]>;

  /** Up to `max` messages in delivery order without leasing them. */
  peek(queue: QueueKey, max: number, options?: PeekOptions): Promise<PeekedMessage[]>;
  /** Counters, not a scan. */
  counts(queue: QueueKey): Promise<QueueCounts>;
  /** Removes every ready and delayed message; returns how many. */
  purge(queue: QueueKey): Promise<number>;

  /**
   * Duplicate detection: records `key` for `windowMs` and returns true if it was not already
   * recorded within its window. Survives a restart in a durable store.
   */
  remember(queue: QueueKey, key: string, windowMs: number, now: number): Promise<boolean>;

  /** Earliest time something in the queue changes by itself (a delayed message or a lease deadline). */
  nextWakeAt(queue: QueueKey): Promise<number | undefined>;
}

/** A store: queues, metadata, and, when several processes share it, `cluster`. */
export interface MessageStore extends QueueStore, MetadataStore {
  /** `memory`, `lmdb`, `redis`, …: shown by the broker at start. */
  readonly kind: string;
  /** True when `enqueue` of a durable record means "on stable storage". */
  readonly durable: boolean;
  /** Present when other broker processes use the same storage (a shared store). */
  readonly cluster?: StoreCluster;
  /** True when `take` and `peek` honour records' `priority` (priority queues need it). */
  readonly priorities?: boolean;

  /**
   * Opens the store. For an embedded store, whatever was held by anyone when the process
   * stopped is ready again (holders do not outlive the process), with its stored count.
   */
  open(): Promise<void>;
  /** Flushes and closes. Operations after close reject with `BrokerClosedError`. */
  close(): Promise<void>;
}
