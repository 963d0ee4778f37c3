import { StoreError } from '@conveyor/core';
import { globalKeys } from './keys.js';
import type { RedisClient } from './redis-connection.js';

/**
 * The layout of what a store keeps in Redis. 2: records packed into one value (record-codec.ts).
 * Nodes of format 1 announced themselves with liveness value '1' and read records field by field,
 * so they must not share a store with this one: they would hand out packed records as empty
 * messages. Every node's liveness key holds its format, and the store remembers the highest.
 */
export const STORE_FORMAT = 2;

/**
 * Refuses to open beside a live node of another format, or over data a newer format wrote; marks
 * the store as written in this format. Records of format 1 left in Redis are read as they are.
 */
export async function claimStoreFormat(redis: RedisClient, global: string, self: string): Promise<void> {
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
  if (stored < STORE_FORMAT) await redis.set(globalKeys.format(global), String(STORE_FORMAT));
}
