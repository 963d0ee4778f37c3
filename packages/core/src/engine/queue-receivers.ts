import type { Delivery } from './delivery.js';

/** A receive waiting for messages (`waitMs` > 0). */
export interface Receiver {
  readonly max: number;
  readonly leaseMs: number;
  readonly holder: string;
  readonly resolve: (deliveries: Delivery[]) => void;
  timer?: NodeJS.Timeout;
  /** A take for it is under way: its timeout waits for that take's result. */
  serving: boolean;
  timedOut: boolean;
}

/** What serving one receiver needs: a take for it (expired and poisoned messages screened out). */
export type TakeFor = (holder: string, max: number, leaseMs: number) => Promise<Delivery[]>;

/**
 * A queue's waiting receivers, served in arrival order: each gets what one take brings it, or
 * nothing once its wait is over. A timeout that falls during a take for it waits for that take,
 * so no message is taken for a receiver that has already gone.
 */
export class QueueReceivers {
  readonly #waiting: Receiver[] = [];

  get length(): number {
    return this.#waiting.length;
  }

  /** Waits `waitMs` at most for messages; resolves with none when the wait is over. */
  wait(max: number, leaseMs: number, waitMs: number, holder: string): Promise<Delivery[]> {
    return new Promise<Delivery[]>((resolve) => {
      const receiver: Receiver = { max, leaseMs, holder, resolve, serving: false, timedOut: false };
      receiver.timer = setTimeout(() => {
        receiver.timedOut = true;
        if (receiver.serving) return; // the take under way resolves it
        this.#remove(receiver);
        resolve([]);
      }, waitMs);
      this.#waiting.push(receiver);
    });
  }

  /** Serves the first receiver; false when there is none, or nothing was ready for it. */
  async serveFirst(take: TakeFor): Promise<boolean> {
    const receiver = this.#waiting[0];
    if (!receiver) return false;
    receiver.serving = true;
    let deliveries: Delivery[];
    try {
      deliveries = await take(receiver.holder, receiver.max, receiver.leaseMs);
    } finally {
      receiver.serving = false;
    }
    if (deliveries.length === 0 && !receiver.timedOut) return false;
    this.#remove(receiver);
    if (receiver.timer) clearTimeout(receiver.timer);
    receiver.resolve(deliveries);
    return true;
  }

  /** The queue is gone: every receiver gets nothing. */
  closeAll(): void {
    for (const receiver of this.#waiting.splice(0)) {
      if (receiver.timer) clearTimeout(receiver.timer);
      receiver.resolve([]);
    }
  }

  #remove(receiver: Receiver): void {
    const i = this.#waiting.indexOf(receiver);
    if (i >= 0) this.#waiting.splice(i, 1);
  }
}
