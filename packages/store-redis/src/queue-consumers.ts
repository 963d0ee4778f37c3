import type { QueueKey } from '@conveyor/core';
import type { RedisCalls } from './redis-calls.js';

/**
 * How many consumers each node has on a queue (auto-delete and expiry count every node's): per
 * queue, in its slot, a hash of node id → count.
 */
export class QueueConsumers {
  constructor(
    private readonly calls: RedisCalls,
    private readonly nodeId: string,
    private readonly liveNodes: () => Promise<ReadonlySet<string>>,
  ) {}

  #key(queue: QueueKey): string {
    return `${this.calls.keys.queueBase(queue)}consumers`;
  }

  /** This node's count; 0 removes its entry. */
  async set(queue: QueueKey, count: number): Promise<void> {
    const { redis } = this.calls;
    const key = this.#key(queue);
    await this.calls.guard(count > 0 ? redis.hset(key, this.nodeId, count) : redis.hdel(key, this.nodeId));
  }

  /** Dead nodes' entries do not count: their consumers went with them. */
  async total(queue: QueueKey): Promise<number> {
    const [counts, live] = await Promise.all([
      this.calls.guard(this.calls.redis.hgetall(this.#key(queue))),
      this.liveNodes(),
    ]);
    let total = 0;
    for (const [node, n] of Object.entries(counts)) if (live.has(node)) total += Number(n);
    return total;
  }

  /** The queue is gone: so are every node's counts. */
  async forget(queue: QueueKey): Promise<void> {
    await this.calls.guard(this.calls.redis.del(this.#key(queue)));
  }
}
