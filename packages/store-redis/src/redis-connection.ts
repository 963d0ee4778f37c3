import { Cluster, Redis } from 'ioredis';
import type { ClusterSeeds } from './redis-url.js';

/** One Redis or a Redis Cluster: the store's commands and scripts run on either. */
export type RedisClient = Redis | Cluster;

/** Where the store connects: one Redis by URL, or a Cluster by its seed nodes. */
export type RedisTarget = { url: string } | { cluster: ClusterSeeds };

/**
 * A command sent whose reply a lost connection took with it is not sent again on the next one
 * (ioredis's default resends it): Redis may have run it, and a script run twice would count a
 * message twice or hold what no caller knows of. The call fails instead, as the outcome is
 * unknown, and a caller that sends again does so knowingly (a publisher's resend is at least
 * once). Commands not yet sent wait for the reconnect (`maxRetriesPerRequest`).
 */
const noResend = { autoResendUnfulfilledCommands: false } as const;

/**
 * RESP2, as Redis before 6 speaks and as the scripts' replies are read (ioredis 6 would ask for
 * RESP3 by HELLO, which an older Redis refuses, and which changes how Lua values come back).
 */
const resp2 = { protocol: 2 } as const;

/** The store's command connection (not yet connected). */
export function commandClient(target: RedisTarget): RedisClient {
  if ('url' in target)
    return new Redis(target.url, { lazyConnect: true, maxRetriesPerRequest: 3, ...resp2, ...noResend });
  return new Cluster(target.cluster.nodes, {
    lazyConnect: true,
    redisOptions: { ...nodeOptions(target.cluster), ...noResend },
    // A CLUSTERDOWN or a slot moving mid-failover: retried on the next slot table rather than failed.
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
  });
}

/**
 * The subscriber connection: classic channels (store-wide notes) and, in a Cluster, sharded ones
 * (queue wake-ups, `SSUBSCRIBE` on the shard that owns the queue's slot).
 */
export function subscriberClient(target: RedisTarget): RedisClient {
  // No ready check: its INFO is refused once the connection is in subscriber mode (on reconnect).
  if ('url' in target) return new Redis(target.url, { enableReadyCheck: false, ...resp2 });
  return new Cluster(target.cluster.nodes, {
    redisOptions: { ...nodeOptions(target.cluster), enableReadyCheck: false },
    shardedSubscribers: true,
  });
}

function nodeOptions(seeds: ClusterSeeds) {
  return {
    maxRetriesPerRequest: 3,
    ...resp2,
    ...(seeds.username === undefined ? {} : { username: seeds.username }),
    ...(seeds.password === undefined ? {} : { password: seeds.password }),
    ...(seeds.tls ? { tls: {} } : {}),
  };
}

export const isCluster = (client: RedisClient): client is Cluster => client instanceof Cluster;
