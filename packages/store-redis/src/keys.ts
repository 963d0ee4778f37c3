/**
 * Where everything lives in Redis. Each queue's keys share one base (`<prefix>{q:<queue>}:`), so
 * with per-queue hash tags they land in one Redis Cluster slot. In `singleSlot` mode every key
 * of the store shares the tag `{<prefix>}` instead: scripts that touch two queues (move) are then
 * atomic in a Cluster too, at the price of one slot per store.
 */
export interface KeyLayout {
  /** Keys shared by the whole store: queue set, metadata, node liveness (never touched by a script). */
  readonly global: string;
  /** Every key of the store shares one slot (`{<prefix>}`). */
  readonly singleSlot: boolean;
  /** Base of one queue's keys. */
  queueBase(queue: string): string;
  /** The ten keys every queue script declares, in the order the scripts expect. */
  queueKeys(queue: string): string[];
  /** One of those keys, by name (for the plain commands the store sends beside its scripts). */
  queueKey(queue: string, name: QueueKeyName): string;
}

export type QueueKeyName = (typeof QUEUE_KEY_SUFFIXES)[number];

/** Suffixes of the declared per-queue keys, in the order of the scripts' KEYS. */
const QUEUE_KEY_SUFFIXES = [
  'counts',
  'ready',
  'delayed',
  'inflight',
  'leases',
  'holding',
  'dedupe',
  'fresh',
  'records',
  'meta',
] as const;

export function keyLayout(prefix: string, singleSlot: boolean): KeyLayout {
  const global = singleSlot ? `{${prefix}}` : prefix;
  const queueBase = singleSlot
    ? (queue: string) => `${global}q:${queue}:`
    : (queue: string) => `${prefix}{q:${queue}}:`;
  return {
    global,
    singleSlot,
    queueBase,
    queueKeys(queue) {
      const base = queueBase(queue);
      return QUEUE_KEY_SUFFIXES.map((s) => base + s);
    },
    queueKey: (queue, name) => queueBase(queue) + name,
  };
}

export const globalKeys = {
  queues: (g: string) => `${g}queues`,
  meta: (g: string) => `${g}meta`,
  nodes: (g: string) => `${g}nodes`,
  /** The highest store format written here (store-format.ts). */
  format: (g: string) => `${g}format`,
  node: (g: string, node: string) => `${g}node:${node}`,
  nodeQueues: (g: string, node: string) => `${g}nq:${node}`,
  /** Which live node is sweeping a dead `node` (its id, PX the liveness TTL). */
  sweeping: (g: string, node: string) => `${g}sweeping:${node}`,
};

/** The store-wide pub/sub channels, and whether they are sharded. */
export interface StoreChannels {
  readonly sharded: boolean;
  /** A metadata key some node changed. */
  readonly metaChanged: string;
  /** A node that left. */
  readonly nodeGone: string;
  signal(topic: string): string;
}

/**
 * On one Redis the store-wide channels are classic. In a Cluster they are sharded and tagged to
 * the slot of the metadata hash: an SPUBLISH reaches the subscribers on the shard that owns the
 * slot directly, where a classic PUBLISH is relayed over the cluster bus, whose links drop notes
 * while they (re)connect (seen on a cluster fresh from `redis-cli --cluster create`).
 */
export function storeChannels(keys: KeyLayout, sharded: boolean): StoreChannels {
  const g = keys.global;
  // In single-slot mode every `<global>…` name already hashes to the store's one slot.
  const base = sharded && !keys.singleSlot ? `{${globalKeys.meta(g)}}:` : g;
  return {
    sharded,
    metaChanged: `${base}meta-changed`,
    nodeGone: `${base}node-gone`,
    signal: (topic) => `${base}signal:${topic}`,
  };
}
