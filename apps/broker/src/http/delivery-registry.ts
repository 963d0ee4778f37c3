import { LeaseNotHeldError, type Delivery } from '@conveyor/core';

interface Held {
  delivery: Delivery;
  /** Lease deadline as last renewed (ms since the epoch). */
  until: number;
}

/**
 * Deliveries handed out over HTTP, so a later ack/nack/renew can give the engine the Delivery
 * objects it needs. Keyed by vhost+queue+holder+id; dropped when settled or past their lease
 * (the engine has made those ready again by then, so an ack would be refused anyway).
 */
export class DeliveryRegistry {
  readonly #held = new Map<string, Held>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.#sweeper = setInterval(() => this.sweep(), 10_000).unref();
  }

  get size(): number {
    return this.#held.size;
  }

  add(delivery: Delivery): void {
    const until = delivery.leaseUntil ?? Number.POSITIVE_INFINITY;
    this.#held.set(key(delivery.vhost, delivery.queue, delivery.holder, delivery.id), { delivery, until });
  }

  /** The held deliveries for `refs`, or LeaseNotHeldError naming the first one that is not held. */
  resolve(vhost: string, queue: string, refs: readonly { id: string; holder: string }[]): Delivery[] {
    const now = this.now();
    return refs.map(({ id, holder }) => {
      const held = this.#held.get(key(vhost, queue, holder, id));
      if (!held || held.until <= now)
        throw new LeaseNotHeldError(
          `delivery '${id}' of queue '${queue}' is not held by '${holder}' (settled, or its lease expired)`,
        );
      return held.delivery;
    });
  }

  renewed(deliveries: readonly Delivery[], until: number): void {
    for (const d of deliveries) {
      const held = this.#held.get(key(d.vhost, d.queue, d.holder, d.id));
      if (held) held.until = until;
    }
  }

  settled(deliveries: readonly Delivery[]): void {
    for (const d of deliveries) this.#held.delete(key(d.vhost, d.queue, d.holder, d.id));
  }

  sweep(): void {
    const now = this.now();
    for (const [k, held] of this.#held) if (held.until <= now) this.#held.delete(k);
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#held.clear();
  }
}

function key(vhost: string, queue: string, holder: string, id: string): string {
  return `${vhost}\u0000${queue}\u0000${holder}\u0000${id}`;
}
