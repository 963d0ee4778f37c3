import type { QueueKey } from '@conveyor/core';

/**
 * Which queues each of this node's holders took from, so `releaseHolder` visits only those. It
 * lives in the node's memory, not in Redis: a holder belongs to one process, and when that process
 * dies the liveness sweep returns what it held queue by queue. A Redis key per holder would be a
 * key no queue script may touch in a Cluster (another slot).
 *
 * Entries outlive the holds they stand for (acked, expired or returned by another node), which
 * costs a wasted script call at release at most; `prune` drops those whose holder holds nothing
 * there any more (its field in the queue's `holding` hash is gone).
 */
export class HolderIndex {
  /** holder → queue → when the entry was last confirmed (ms). */
  readonly #queues = new Map<string, Map<QueueKey, number>>();

  touch(holder: string, queue: QueueKey, now: number): void {
    let queues = this.#queues.get(holder);
    if (queues === undefined) this.#queues.set(holder, (queues = new Map()));
    queues.set(queue, now);
  }

  /** The queues `holder` may hold messages in; forgets them (the caller releases them). */
  take(holder: string): QueueKey[] {
    const queues = this.#queues.get(holder);
    this.#queues.delete(holder);
    return queues === undefined ? [] : [...queues.keys()];
  }

  /**
   * Re-checks entries not confirmed since `before`: `holds` says whether the holder still holds
   * anything in the queue; those that do not are dropped, the others are confirmed at `now`.
   */
  async prune(
    before: number,
    now: number,
    holds: (entries: readonly (readonly [string, QueueKey])[]) => Promise<boolean[]>,
  ): Promise<void> {
    const stale: [string, QueueKey][] = [];
    for (const [holder, queues] of this.#queues)
      for (const [queue, at] of queues) if (at < before) stale.push([holder, queue]);
    if (stale.length === 0) return;
    const answers = await holds(stale);
    stale.forEach(([holder, queue], i) => {
      const queues = this.#queues.get(holder);
      const at = queues?.get(queue);
      if (queues === undefined || at === undefined || at >= before) return; // taken from again meanwhile
      if (answers[i]) queues.set(queue, now);
      else {
        queues.delete(queue);
        if (queues.size === 0) this.#queues.delete(holder);
      }
    });
  }

  get size(): number {
    let n = 0;
    for (const queues of this.#queues.values()) n += queues.size;
    return n;
  }
}
