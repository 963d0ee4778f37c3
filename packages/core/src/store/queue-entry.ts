import type { StoredMessage } from '../message.js';

/** Where an entry is; an entry is in at most one of the ordered structures at a time. */
export type EntryState = 0 | 1 | 2 | 3 | 4;
/** Ready, in the fresh deque (never delivered or delayed since enqueue). */
export const FRESH = 0;
/** Ready, in the returned heap (released, lease-expired or promoted from delayed). */
export const RETURNED = 1;
export const DELAYED = 2;
export const IN_FLIGHT = 3;
export const GONE = 4;

/** No lease deadline (push deliveries held until ack). */
export const NO_LEASE = Number.POSITIVE_INFINITY;

/**
 * The store's bookkeeping for one message. `record` is what callers get back from `take`; the
 * store keeps updating it (delivery count, readyAt), so callers treat it as read-only.
 */
export class QueueEntry {
  state: EntryState;
  holder: string | undefined = undefined;
  leaseUntil: number = NO_LEASE;
  /** Sort key in whichever heap holds the entry (seq, readyAt or leaseUntil); ties by seq. */
  heapKey = 0;
  heapIndex = -1;
  /** A durable store wrote a delivery state for it (so removing it must remove that too). */
  stateOnDisk = false;
  /** Intrusive list of the entries one holder holds in this queue. */
  holderPrev: QueueEntry | undefined = undefined;
  holderNext: QueueEntry | undefined = undefined;

  constructor(
    readonly seq: number,
    readonly record: StoredMessage,
    readonly size: number,
    state: EntryState,
  ) {
    this.state = state;
  }
}

/** Ids are decimal strings of a per-store counter: compare them numerically, not as strings. */
export function idToSeq(id: string): number {
  const seq = Number(id);
  return Number.isSafeInteger(seq) ? seq : -1;
}
