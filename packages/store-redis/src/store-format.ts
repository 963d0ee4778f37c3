import { StoreError } from '@conveyor/core';
import { globalKeys } from './keys.js';
import type { RedisClient } from './redis-connection.js';

/**
 * The layout of what a store keeps in Redis. 2: records packed into one value (record-codec.ts).
 * 3: a queue's records in its `records` and `meta` hashes, fresh ids on a list beside the `ready`
 * zset (prelude.ts). 4: a meta value only for a message with a delivery count or a readyAt, the
 * others' body size read from the packed record; a count per holder instead of a set of its ids.
 * 5: records packed in version 2, the body size in their head (record-codec.ts); version 1
 * records still read, so nothing is converted. Nodes of an older format must not share a store
 * with this one: format 1 (liveness value '1') would hand out packed records as empty messages,
 * format 2 would look for records in hashes of their own and not see the fresh ids, format 3
 * would count a message without meta as 0 bytes and find no holder's ids, format 4 would refuse
 * every record packed in version 2. Every node's liveness key holds its format, and the store
 * remembers the highest. Older data is converted when the first node of format 4 or later opens
 * the store (store-upgrade.ts).
 */
export const STORE_FORMAT = 5;

/**
 * Refuses to open beside a live node of another format, or over data a newer format wrote; brings
 * data of an older format up to this one (`upgrade`), then marks the store as written in it.
 */
export async function claimStoreFormat(
  redis: RedisClient,
  global: string,
  self: string,
  upgrade: () => Promise<unknown>,
): Promise<void> {
  const stored = Number((await redis.get(globalKeys.format(global))) ?? '0');
  if (stored > STORE_FORMAT)
    throw new StoreError(
      `this Redis store was written by a newer Conveyor (store format ${stored}; this one knows up to ${STORE_FORMAT})`,
    );
  for (const node of await redis.smembers(globalKeys.nodes(global))) {
    if (node === self) continue;
    const live = await redis.get(globalKeys.node(global, node));
    if (live !== null && live !== String(STORE_FORMAT))
      throw new StoreError(
        `node ${node} uses this Redis store in format ${live} and this one in ${STORE_FORMAT}: stop every node of the other version first (docs/store-redis.md, "Upgrading")`,
      );
  }
  if (stored >= STORE_FORMAT) return;
  await upgrade();
  await redis.set(globalKeys.format(global), String(STORE_FORMAT));
}
