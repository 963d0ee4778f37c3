import type { QueueHost } from './queue-host.js';

/** How long a queue keeps listening for other nodes' sends after its last consumer or receiver (ms). */
export const LISTEN_AFTER_LAST_MS = 5_000;

/** The queue a listener is of. */
export interface ListeningQueue {
  readonly host: QueueHost;
  readonly key: string;
  readonly deleted: boolean;
}

/** What the listener asks of its queue. */
export interface ListenerHooks {
  /** A consumer or a waiting receiver is on the queue here. */
  takesHere(): boolean;
  /** Another node sent (`dueAt`: when the first of its delayed messages falls due): dispatch. */
  woken(dueAt: number | undefined): void;
  /** Re-reads from the store when the queue next needs waking (a delayed message, a lease). */
  rearmWakeUp(): Promise<void>;
}

/**
 * A shared store tells a node when another node sends to a queue; only a node with a consumer or
 * a waiting receiver on it needs to know, and every wake-up costs each listening node a turn of
 * its event loop. So a queue listens from its first consumer or receiver until a while after the
 * last. The store wakes the queue once the subscription is in place, so a send just before it is
 * not missed.
 */
export class QueueListener {
  #unsubscribe: (() => void) | undefined;
  /** When this node last had a consumer or receiver on the queue (engine clock). */
  #servedAt = 0;

  constructor(
    private readonly queue: ListeningQueue,
    private readonly hooks: ListenerHooks,
  ) {}

  /** Someone here takes from the queue: listen, if not yet. */
  listen(): void {
    const { queue } = this;
    this.served();
    if (this.#unsubscribe || queue.deleted) return;
    const { cluster } = queue.host.store;
    if (!cluster) return;
    this.#unsubscribe = cluster.subscribe(queue.key, (dueAt) => this.#woken(dueAt));
    // Messages another node delayed before this one listened fall due on no timer of this node's.
    this.hooks.rearmWakeUp().catch((err: unknown) => queue.host.backgroundError(err));
  }

  /** A consumer or receiver was here just now: keep listening a while longer. */
  served(): void {
    this.#servedAt = this.queue.host.now();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #woken(dueAt: number | undefined): void {
    const { queue } = this;
    if (this.hooks.takesHere()) {
      this.served();
      this.hooks.woken(dueAt);
    } else if (queue.host.now() - this.#servedAt >= LISTEN_AFTER_LAST_MS) {
      // Kept a while after the last consumer or receiver left: a receive loop does not resubscribe each time.
      this.stop();
    }
  }
}
