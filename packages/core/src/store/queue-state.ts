import type { PeekedMessage, QueueRecordInput, StoredMessage } from '../message.js';
import { messageSize } from '../message.js';
import { DedupeWindow } from './dedupe-window.js';
import { EntryDeque } from './entry-deque.js';
import { EntryHeap } from './entry-heap.js';
import type { HolderId, PeekOptions, QueueCounts, QueueKey } from './message-store.js';
import { DELAYED, FRESH, GONE, IN_FLIGHT, NO_LEASE, QueueEntry, RETURNED, idToSeq } from './queue-entry.js';

/** Tells the owning store which queues a holder holds something in (for `releaseHolder`). */
export interface HolderIndex {
  attach(holder: HolderId, queue: InMemoryQueueState): void;
  detach(holder: HolderId, queue: InMemoryQueueState): void;
}

class HolderList {
  head: QueueEntry | undefined = undefined;
  count = 0;
}

/**
 * One queue's state, shared by the embedded stores. Ready messages come out in id order:
 * never-delivered ones from a deque, returned ones (released, lease-expired, delay over) from a
 * min-heap by id, whichever front is smaller, so a redelivery keeps its original position.
 * Priority queues: an entry with a priority is ready in that heap under the key −priority (ids
 * break ties), entries without one in the deque as key 0, so higher levels come out first and
 * each level in id order, with one comparison more per take.
 * Delayed entries wait in a heap by readyAt and become ready lazily when the clock is passed in.
 * Counters are kept on every transition; nothing here scans to count.
 */
export class InMemoryQueueState {
  ready = 0;
  inFlight = 0;
  delayed = 0;
  bytes = 0;
  readonly dedupe = new DedupeWindow();
  /** Live entries with a priority: while there are any, peek sorts the ready ones by level. */
  private prioritized = 0;

  /** Every live entry by seq; insertion order is id order (ids only grow). */
  private readonly entries = new Map<number, QueueEntry>();
  private readonly fresh = new EntryDeque();
  private readonly returned = new EntryHeap();
  private readonly delayedHeap = new EntryHeap();
  private readonly leases = new EntryHeap();
  private readonly holders = new Map<HolderId, HolderList>();

  constructor(
    readonly key: QueueKey,
    private readonly holderIndex?: HolderIndex,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Appends a new message; `seq` must be above every seq already in the queue. */
  add(seq: number, input: QueueRecordInput, now: number): QueueEntry {
    const record: StoredMessage = {
      id: String(seq),
      message: input.message,
      enqueuedAt: input.enqueuedAt,
      expiresAt: input.expiresAt,
      readyAt: input.readyAt,
      deliveryCount: input.deliveryCount ?? 0,
      durable: input.durable,
    };
    if (input.priority !== undefined && input.priority > 0) record.priority = input.priority;
    return this.restore(seq, record, now);
  }

  /** Appends a message with its stored record (recovery, in id order). */
  restore(seq: number, record: StoredMessage, now: number): QueueEntry {
    const delayed = record.readyAt !== undefined && record.readyAt > now;
    const entry = new QueueEntry(seq, record, messageSize(record.message), delayed ? DELAYED : FRESH);
    this.entries.set(seq, entry);
    this.bytes += entry.size;
    if (record.priority !== undefined) this.prioritized++;
    if (delayed) {
      this.delayedHeap.push(entry, record.readyAt as number);
      this.delayed++;
    } else if (record.priority !== undefined) {
      this.toReady(entry);
    } else {
      this.fresh.push(entry);
      this.ready++;
    }
    return entry;
  }

  /** Delayed entries whose time has come become ready, at their original position. */
  promote(now: number): void {
    const heap = this.delayedHeap;
    let top = heap.peek();
    while (top !== undefined && top.heapKey <= now) {
      heap.pop();
      this.delayed--;
      this.toReady(top);
      top = heap.peek();
    }
  }

  /** Hands out up to `max` ready entries in id order to `holder`, raising their counts. */
  take(max: number, holder: HolderId, leaseUntil: number | undefined, now: number): QueueEntry[] {
    this.promote(now);
    const out: QueueEntry[] = [];
    if (this.ready === 0 || max <= 0) return out;
    const list = this.holderList(holder);
    const fresh = this.fresh;
    const returned = this.returned;
    while (out.length < max) {
      let f = fresh.peekFront();
      while (f !== undefined && f.state !== FRESH) {
        fresh.shift();
        f = fresh.peekFront();
      }
      const r = returned.peek();
      let entry: QueueEntry;
      // The deque's entries are at level 0: the heap's top wins when it is above that (key < 0).
      if (f !== undefined && (r === undefined || (r.heapKey === 0 && f.seq < r.seq))) {
        fresh.shift();
        entry = f;
      } else if (r !== undefined) {
        returned.pop();
        entry = r;
      } else break;
      this.deliver(entry, holder, list, leaseUntil);
      out.push(entry);
    }
    return out;
  }

  takeById(
    id: string,
    holder: HolderId,
    leaseUntil: number | undefined,
    now: number,
  ): QueueEntry | undefined {
    this.promote(now);
    const entry = this.entries.get(idToSeq(id));
    if (entry === undefined) return undefined;
    if (entry.state === RETURNED) this.returned.remove(entry);
    else if (entry.state !== FRESH) return undefined; // a stale deque slot is skipped later
    this.deliver(entry, holder, this.holderList(holder), leaseUntil);
    return entry;
  }

  /** Removes entries `holder` holds; `positions` (when given) gets the index in `ids` of each. */
  ack(ids: readonly string[], holder: HolderId, positions?: number[]): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (let i = 0; i < ids.length; i++) {
      const entry = this.held(ids[i] as string, holder);
      if (entry === undefined) continue;
      this.unhold(entry);
      this.forget(entry);
      this.inFlight--;
      this.bytes -= entry.size;
      out.push(entry);
      if (positions !== undefined) positions.push(i);
    }
    return out;
  }

  /** Returns held entries to ready at their position, or to delayed until `readyAt`. */
  release(ids: readonly string[], holder: HolderId, readyAt?: number): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (const id of ids) {
      const entry = this.held(id, holder);
      if (entry === undefined) continue;
      this.unhold(entry);
      this.inFlight--;
      if (readyAt === undefined) this.toReady(entry);
      else {
        entry.record.readyAt = readyAt;
        entry.state = DELAYED;
        this.delayedHeap.push(entry, readyAt);
        this.delayed++;
      }
      out.push(entry);
    }
    return out;
  }

  renew(ids: readonly string[], holder: HolderId, leaseUntil: number): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (const id of ids) {
      const entry = this.held(id, holder);
      if (entry === undefined) continue;
      entry.leaseUntil = leaseUntil;
      if (entry.heapIndex >= 0) this.leases.rekey(entry, leaseUntil);
      else this.leases.push(entry, leaseUntil);
      out.push(entry);
    }
    return out;
  }

  /** Everything `holder` holds here becomes ready again; returns how many. */
  releaseHolder(holder: HolderId): number {
    const list = this.holders.get(holder);
    if (list === undefined) return 0;
    let n = 0;
    let entry = list.head;
    while (entry !== undefined) {
      const next = entry.holderNext;
      this.unhold(entry);
      this.inFlight--;
      this.toReady(entry);
      n++;
      entry = next;
    }
    return n;
  }

  expireLeases(now: number): number {
    let n = 0;
    let top = this.leases.peek();
    while (top !== undefined && top.heapKey <= now) {
      this.unhold(top);
      this.inFlight--;
      this.toReady(top);
      n++;
      top = this.leases.peek();
    }
    return n;
  }

  peek(max: number, options: PeekOptions | undefined, now: number): PeekedMessage[] {
    this.promote(now);
    const withInFlight = options?.includeInFlight === true;
    const withDelayed = options?.includeDelayed === true;
    const out: PeekedMessage[] = [];
    if (max <= 0) return out;
    if (this.prioritized > 0) return this.peekByLevel(max, withInFlight, withDelayed);
    for (const entry of this.entries.values()) {
      const s = entry.state;
      let state: PeekedMessage['state'];
      if (s === FRESH || s === RETURNED) state = 'ready';
      else if (s === IN_FLIGHT) {
        if (!withInFlight) continue;
        state = 'in-flight';
      } else {
        if (!withDelayed) continue;
        state = 'delayed';
      }
      out.push({ ...entry.record, state });
      if (out.length >= max) break;
    }
    return out;
  }

  /** Peek of a queue holding prioritized entries: the ready ones in delivery order, then the others in id order. */
  private peekByLevel(max: number, withInFlight: boolean, withDelayed: boolean): PeekedMessage[] {
    const ready: QueueEntry[] = [];
    const others: PeekedMessage[] = [];
    for (const entry of this.entries.values()) {
      const s = entry.state;
      if (s === FRESH || s === RETURNED) ready.push(entry);
      else if (s === IN_FLIGHT && withInFlight) others.push({ ...entry.record, state: 'in-flight' });
      else if (s === DELAYED && withDelayed) others.push({ ...entry.record, state: 'delayed' });
    }
    // Stable: within a level, id order.
    ready.sort((a, b) => (b.record.priority ?? 0) - (a.record.priority ?? 0));
    const out: PeekedMessage[] = ready.slice(0, max).map((e) => ({ ...e.record, state: 'ready' as const }));
    for (const p of others) {
      if (out.length >= max) break;
      out.push(p);
    }
    return out;
  }

  counts(now: number): QueueCounts {
    this.promote(now);
    return { ready: this.ready, inFlight: this.inFlight, delayed: this.delayed, bytes: this.bytes };
  }

  /** Removes every ready and delayed entry; in-flight ones stay. */
  purge(): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (const entry of this.entries.values()) {
      if (entry.state === IN_FLIGHT) continue;
      this.forget(entry);
      this.bytes -= entry.size;
      out.push(entry);
    }
    this.fresh.clear();
    this.returned.clear();
    this.delayedHeap.clear();
    this.ready = 0;
    this.delayed = 0;
    return out;
  }

  /** Removes everything (the queue is being deleted); returns every entry that was in it. */
  clear(): QueueEntry[] {
    const out = [...this.entries.values()];
    for (const holder of this.holders.keys()) this.holderIndex?.detach(holder, this);
    this.holders.clear();
    for (const entry of out) {
      entry.state = GONE;
      entry.holder = undefined;
      entry.holderPrev = entry.holderNext = undefined;
    }
    this.entries.clear();
    this.fresh.clear();
    this.returned.clear();
    this.delayedHeap.clear();
    this.leases.clear();
    this.ready = this.inFlight = this.delayed = this.bytes = this.prioritized = 0;
    return out;
  }

  nextWakeAt(): number | undefined {
    const d = this.delayedHeap.peek();
    const l = this.leases.peek();
    if (d === undefined) return l?.heapKey;
    if (l === undefined) return d.heapKey;
    return Math.min(d.heapKey, l.heapKey);
  }

  private forget(entry: QueueEntry): void {
    this.entries.delete(entry.seq);
    entry.state = GONE;
    if (entry.record.priority !== undefined) this.prioritized--;
  }

  private held(id: string, holder: HolderId): QueueEntry | undefined {
    const entry = this.entries.get(idToSeq(id));
    return entry !== undefined && entry.state === IN_FLIGHT && entry.holder === holder ? entry : undefined;
  }

  private deliver(
    entry: QueueEntry,
    holder: HolderId,
    list: HolderList,
    leaseUntil: number | undefined,
  ): void {
    entry.state = IN_FLIGHT;
    entry.holder = holder;
    entry.record.deliveryCount++;
    if (leaseUntil !== undefined) {
      entry.leaseUntil = leaseUntil;
      this.leases.push(entry, leaseUntil);
    }
    entry.holderPrev = undefined;
    entry.holderNext = list.head;
    if (list.head !== undefined) list.head.holderPrev = entry;
    list.head = entry;
    list.count++;
    this.ready--;
    this.inFlight++;
  }

  private toReady(entry: QueueEntry): void {
    entry.state = RETURNED;
    this.returned.push(entry, -(entry.record.priority ?? 0));
    this.ready++;
  }

  /** Detaches an in-flight entry from its holder and lease (counters are the caller's job). */
  private unhold(entry: QueueEntry): void {
    if (entry.heapIndex >= 0) this.leases.remove(entry);
    entry.leaseUntil = NO_LEASE;
    const holder = entry.holder as HolderId;
    const list = this.holders.get(holder);
    if (list !== undefined) {
      if (entry.holderPrev !== undefined) entry.holderPrev.holderNext = entry.holderNext;
      else list.head = entry.holderNext;
      if (entry.holderNext !== undefined) entry.holderNext.holderPrev = entry.holderPrev;
      if (--list.count === 0) {
        this.holders.delete(holder);
        this.holderIndex?.detach(holder, this);
      }
    }
    entry.holder = undefined;
    entry.holderPrev = entry.holderNext = undefined;
  }

  private holderList(holder: HolderId): HolderList {
    let list = this.holders.get(holder);
    if (list === undefined) {
      list = new HolderList();
      this.holders.set(holder, list);
      this.holderIndex?.attach(holder, this);
    }
    return list;
  }
}
