import type { QueueEntry } from './queue-entry.js';

/**
 * Durable writes gathered until the next flush (one `setImmediate` later), so that work which
 * cancels out never reaches the disk: a message acked before its record was written is not
 * written at all, and a delivery count raised and then acked in the same window is not written
 * either. What remains goes to LMDB in one transaction, whose sync resolves every enqueue of the
 * window (group commit).
 */
export class LmdbWriteBatch<M> {
  /** seq → record not yet written. */
  readonly adds = new Map<number, M>();
  /** seq → entry whose delivery state is to be written (the entry's record holds it). */
  readonly states = new Map<number, QueueEntry>();
  /** Entries to delete from disk (records written in an earlier window). */
  readonly removes: QueueEntry[] = [];
  /** Callers waiting for this window's commit. */
  readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  add(seq: number, value: M): void {
    this.adds.set(seq, value);
  }

  state(entry: QueueEntry): void {
    this.states.set(entry.seq, entry);
  }

  remove(entry: QueueEntry): void {
    this.states.delete(entry.seq);
    // Added in this window: it never reaches the disk.
    if (!this.adds.delete(entry.seq)) this.removes.push(entry);
  }

  /** A promise that settles with this window's commit. */
  committed(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  get empty(): boolean {
    return (
      this.adds.size === 0 && this.states.size === 0 && this.removes.length === 0 && this.waiters.length === 0
    );
  }
}
