import { StoreError, type QueueKey } from '@conveyor/core';

/** Reserves a queue's next `n` ids in the store (the reserveIds script); resolves to the last. */
export type ReserveIds = (queue: QueueKey, n: number) => Promise<number>;

interface Block {
  next: number;
  /** The block's last id. */
  readonly last: number;
}

/**
 * The ids this node hands its enqueues, per queue, from blocks it reserved in the store. An
 * enqueue that knows its ids before it is sent can write its records with plain commands, so
 * their bodies never pass through Lua (queue-appender.ts); one reservation serves `blockSize`
 * messages. Ids stay unique across nodes and grow within each node's enqueues to a queue, in the
 * order they were asked for; a node that stops leaves the rest of its block unused.
 */
export class IdBlocks {
  readonly #blocks = new Map<QueueKey, Block>();
  /** A reservation under way, per queue: enqueues that find the block short wait for it. */
  readonly #reserving = new Map<QueueKey, Promise<void>>();

  constructor(
    private readonly reserve: ReserveIds,
    private readonly blockSize = 1024,
  ) {}

  /**
   * Calls `use` with `n` consecutive ids of `queue`, as strings. Enqueues to a queue get their ids,
   * and call `use`, in the order they asked, waiting behind a reservation under way: `use` must
   * send before it first awaits, so that a publisher's messages reach the store in its order.
   */
  withIds<T>(queue: QueueKey, n: number, use: (ids: string[]) => Promise<T>): Promise<T> {
    const ids = this.#reserving.has(queue) ? undefined : this.#cut(queue, n);
    return ids ? use(ids) : this.#afterReserving(queue, n, use);
  }

  async #afterReserving<T>(queue: QueueKey, n: number, use: (ids: string[]) => Promise<T>): Promise<T> {
    for (;;) {
      await (this.#reserving.get(queue) ?? this.#refill(queue, n));
      // Another enqueue that waited ahead of this one may have started the next reservation.
      if (this.#reserving.has(queue)) continue;
      const ids = this.#cut(queue, n);
      if (ids) return use(ids);
    }
  }

  #cut(queue: QueueKey, n: number): string[] | undefined {
    const block = this.#blocks.get(queue);
    if (!block || block.last - block.next + 1 < n) return undefined;
    const first = block.next;
    block.next += n;
    return Array.from({ length: n }, (_, k) => String(first + k));
  }

  /** The queue was deleted, or is missing: a queue of that name later gets ids of its own. */
  forget(queue: QueueKey): void {
    this.#blocks.delete(queue);
  }

  #refill(queue: QueueKey, n: number): Promise<void> {
    const size = Math.max(n, this.blockSize);
    const reserving = this.reserve(queue, size)
      .then((last) => {
        if (!Number.isSafeInteger(last) || !Number.isSafeInteger(last - size + 1))
          throw new StoreError(`enqueue: id ${last} of queue ${queue} is not an exact integer`);
        // What is left of the block before goes unused: ids need only be unique and growing.
        this.#blocks.set(queue, { next: last - size + 1, last });
      })
      .finally(() => this.#reserving.delete(queue));
    this.#reserving.set(queue, reserving);
    return reserving;
  }
}
