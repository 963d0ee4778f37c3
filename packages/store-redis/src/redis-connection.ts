import { Cluster, Redis } from 'ioredis';
import type { ClusterSeeds } from './redis-url.js';

/** One Redis or a Redis Cluster: the store's commands and scripts run on either. */
export type RedisClient = Redis | Cluster;

/** Where the store connects: one Redis by URL, or a Cluster by its seed nodes. */
export type RedisTarget = { url: string } | { cluster: ClusterSeeds };

/** The store's command connection (not yet connected). */
export function commandClient(target: RedisTarget): RedisClient {
  if ('url' in target) return new Redis(target.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  return new Cluster(target.cluster.nodes, {
    lazyConnect: true,
    redisOptions: nodeOptions(target.cluster),
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
  if ('url' in target) return new Redis(target.url, { enableReadyCheck: false });
  return new Cluster(target.cluster.nodes, {
    redisOptions: { ...nodeOptions(target.cluster), enableReadyCheck: false },
    shardedSubscribers: true,
  });
}

function nodeOptions(seeds: ClusterSeeds) {
  return {
    maxRetriesPerRequest: 3,
    ...(seeds.username === undefined ? {} : { username: seeds.username }),
    ...(seeds.password === undefined ? {} : { password: seeds.password }),
    ...(seeds.tls ? { tls: {} } : {}),
  };
}

export const isCluster = (client: RedisClient): client is Cluster => client instanceof Cluster;
