/**
 * Keys remembered until their own expiry. Pruning is incremental: each `remember` looks at the
 * two oldest-inserted keys, drops them if expired and otherwise rotates them to the back, so the
 * map stays within about twice its live size without timers or scans.
 */
export class DedupeWindow {
  /** Made on the first key: most queues never see a message id to deduplicate. */
  #map: Map<string, number> | undefined;

  private get expiries(): Map<string, number> {
    return (this.#map ??= new Map());
  }

  get size(): number {
    return this.#map?.size ?? 0;
  }

  /**
   * Returns true when `key` was not remembered at `now` (it then is, until `expiresAt`).
   * Keys found expired while pruning are pushed onto `pruned` when given.
   */
  remember(key: string, expiresAt: number, now: number, pruned?: string[]): boolean {
    this.prune(now, pruned);
    const current = this.expiries.get(key);
    if (current !== undefined && current > now) return false;
    this.expiries.delete(key);
    this.expiries.set(key, expiresAt);
    return true;
  }

  /** Loads a remembered key (recovery). */
  restore(key: string, expiresAt: number): void {
    this.expiries.set(key, expiresAt);
  }

  keys(): IterableIterator<string> {
    return this.expiries.keys();
  }

  private prune(now: number, pruned: string[] | undefined): void {
    if (this.#map === undefined) return;
    for (let i = 0; i < 2 && this.expiries.size > 0; i++) {
      const first = this.expiries.entries().next().value;
      if (first === undefined) return;
      const [key, expiresAt] = first;
      this.expiries.delete(key);
      if (expiresAt > now) this.expiries.set(key, expiresAt);
      else if (pruned !== undefined) pruned.push(key);
    }
  }
}
