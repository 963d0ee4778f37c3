import { BrokerClosedError, QueueNotFoundError, StoreError } from '../errors.js';
import type { PeekedMessage, QueueRecordInput, StoredMessage } from '../message.js';
import type {
  HolderId,
  MessageStore,
  MetaEntry,
  PeekOptions,
  QueueCounts,
  QueueKey,
  ReleaseOptions,
  TakeOptions,
} from './message-store.js';
import type { QueueEntry } from './queue-entry.js';
import { InMemoryQueueState, type HolderIndex } from './queue-state.js';

function ids(entries: readonly QueueEntry[]): string[] {
  const out = new Array<string>(entries.length);
  for (let i = 0; i < entries.length; i++) out[i] = (entries[i] as QueueEntry).record.id;
  return out;
}

/**
 * The queue logic of an in-process store over `InMemoryQueueState`. Subclasses persist what they
 * must through the `persist*` hooks, which are called synchronously in the same tick as the
 * change, so a store that batches writes per tick commits related changes together.
 */
export abstract class EmbeddedStore implements MessageStore, HolderIndex {
  abstract readonly kind: string;
  abstract readonly durable: boolean;
  readonly priorities = true;

  protected readonly queues = new Map<QueueKey, InMemoryQueueState>();
  private readonly holderQueues = new Map<HolderId, Set<InMemoryQueueState>>();
  /** Next message id; ids are unique and increasing across all queues of the store. */
  protected nextSeq = 1;
  private status: 'new' | 'open' | 'closing' | 'closed' = 'new';

  // ---- hooks for persistence (no-ops in memory) ----
  /** New entries; returns a promise when some must reach stable storage first. */
  protected abstract persistAdded(
    queue: InMemoryQueueState,
    entries: readonly QueueEntry[],
  ): Promise<void> | undefined;
  protected abstract persistDelivered(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void;
  protected abstract persistDelayed(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void;
  protected abstract persistRemoved(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void;
  /** The queue is gone: `entries` were all its messages, its dedupe window is still readable. */
  protected abstract persistQueueDeleted(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void;
  /** `key` is undefined when nothing new was remembered and only `pruned` keys went away. */
  protected abstract persistRemembered(
    queue: InMemoryQueueState,
    key: string | undefined,
    expiresAt: number,
    pruned: readonly string[],
  ): void;
  protected abstract openStorage(): Promise<void>;
  protected abstract closeStorage(): Promise<void>;

  abstract loadMeta(prefix: string): Promise<MetaEntry[]>;
  abstract putMeta(key: string, value: unknown): Promise<void>;
  abstract deleteMeta(key: string): Promise<void>;
  abstract takeMeta(key: string): Promise<unknown>;
  abstract getMeta(key: string): Promise<unknown>;

  async open(): Promise<void> {
    if (this.status === 'open') return;
    if (this.status !== 'new') throw new BrokerClosedError();
    await this.openStorage();
    this.status = 'open';
  }

  async close(): Promise<void> {
    if (this.status !== 'open') {
      this.status = 'closed';
      return;
    }
    this.status = 'closing';
    try {
      await this.closeStorage();
    } finally {
      this.status = 'closed';
    }
  }

  /** Throws unless the store is open; every operation starts here. */
  protected check(): void {
    if (this.status === 'open') return;
    if (this.status === 'new') throw new StoreError(`${this.kind} store is not open`);
    throw new BrokerClosedError();
  }

  attach(holder: HolderId, queue: InMemoryQueueState): void {
    let set = this.holderQueues.get(holder);
    if (set === undefined) this.holderQueues.set(holder, (set = new Set()));
    set.add(queue);
  }

  detach(holder: HolderId, queue: InMemoryQueueState): void {
    const set = this.holderQueues.get(holder);
    if (set === undefined) return;
    set.delete(queue);
    if (set.size === 0) this.holderQueues.delete(holder);
  }

  protected state(queue: QueueKey): InMemoryQueueState {
    const state = this.queues.get(queue);
    if (state === undefined) throw new QueueNotFoundError(queue);
    return state;
  }

  protected ensureQueue(queue: QueueKey): InMemoryQueueState {
    let state = this.queues.get(queue);
    if (state === undefined) this.queues.set(queue, (state = new InMemoryQueueState(queue, this)));
    return state;
  }

  async createQueue(queue: QueueKey): Promise<void> {
    this.check();
    this.ensureQueue(queue);
  }

  async deleteQueue(queue: QueueKey): Promise<void> {
    this.check();
    const state = this.queues.get(queue);
    if (state === undefined) return;
    this.queues.delete(queue);
    this.persistQueueDeleted(state, state.clear());
  }

  async listQueues(): Promise<QueueKey[]> {
    this.check();
    return [...this.queues.keys()];
  }

  async enqueue(queue: QueueKey, records: QueueRecordInput[]): Promise<string[]> {
    this.check();
    const state = this.state(queue);
    const added = this.append(state, records);
    const synced = this.persistAdded(state, added);
    if (synced !== undefined) await synced;
    return ids(added);
  }

  private append(state: InMemoryQueueState, records: readonly QueueRecordInput[]): QueueEntry[] {
    const now = Date.now();
    const added = new Array<QueueEntry>(records.length);
    for (let i = 0; i < records.length; i++)
      added[i] = state.add(this.nextSeq++, records[i] as QueueRecordInput, now);
    return added;
  }

  async take(queue: QueueKey, max: number, options: TakeOptions): Promise<StoredMessage[]> {
    this.check();
    const state = this.state(queue);
    const taken = state.take(max, options.holder, options.leaseUntil, options.now);
    if (taken.length > 0) this.persistDelivered(state, taken);
    const out = new Array<StoredMessage>(taken.length);
    for (let i = 0; i < taken.length; i++) out[i] = (taken[i] as QueueEntry).record;
    return out;
  }

  async takeById(queue: QueueKey, id: string, options: TakeOptions): Promise<StoredMessage | undefined> {
    this.check();
    const state = this.state(queue);
    const entry = state.takeById(id, options.holder, options.leaseUntil, options.now);
    if (entry === undefined) return undefined;
    this.persistDelivered(state, [entry]);
    return entry.record;
  }

  async ack(queue: QueueKey, idList: string[], holder: HolderId): Promise<string[]> {
    this.check();
    const state = this.state(queue);
    const removed = state.ack(idList, holder);
    if (removed.length > 0) this.persistRemoved(state, removed);
    return ids(removed);
  }

  async release(
    queue: QueueKey,
    idList: string[],
    holder: HolderId,
    options?: ReleaseOptions,
  ): Promise<string[]> {
    this.check();
    const state = this.state(queue);
    const released = state.release(idList, holder, options?.readyAt);
    if (options?.readyAt !== undefined && released.length > 0) this.persistDelayed(state, released);
    return ids(released);
  }

  async renew(queue: QueueKey, idList: string[], holder: HolderId, leaseUntil: number): Promise<string[]> {
    this.check();
    return ids(this.state(queue).renew(idList, holder, leaseUntil));
  }

  async releaseHolder(holder: HolderId): Promise<number> {
    this.check();
    const set = this.holderQueues.get(holder);
    if (set === undefined) return 0;
    let n = 0;
    // releaseHolder detaches from the set while we walk it: iterate a copy.
    for (const state of [...set]) n += state.releaseHolder(holder);
    return n;
  }

  async expireLeases(queue: QueueKey, now: number): Promise<number> {
    this.check();
    return this.state(queue).expireLeases(now);
  }

  async move(
    from: QueueKey,
    idList: string[],
    holder: HolderId,
    to: QueueKey,
    records: QueueRecordInput[],
  ): Promise<string[]> {
    this.check();
    const source = this.state(from);
    const target = this.state(to);
    const positions: number[] = [];
    const removed = source.ack(idList, holder, positions);
    if (removed.length === 0) return [];
    const moving: QueueRecordInput[] = [];
    for (const i of positions) {
      const record = records[i];
      if (record !== undefined) moving.push(record);
    }
    // Same tick: a store that commits per tick removes and appends in one transaction.
    this.persistRemoved(source, removed);
    const added = this.append(target, moving);
    const synced = this.persistAdded(target, added);
    if (synced !== undefined) await synced;
    return ids(removed);
  }

  async peek(queue: QueueKey, max: number, options?: PeekOptions): Promise<PeekedMessage[]> {
    this.check();
    return this.state(queue).peek(max, options, Date.now());
  }

  async counts(queue: QueueKey): Promise<QueueCounts> {
    this.check();
    return this.state(queue).counts(Date.now());
  }

  async purge(queue: QueueKey): Promise<number> {
    this.check();
    const state = this.state(queue);
    const removed = state.purge();
    if (removed.length > 0) this.persistRemoved(state, removed);
    return removed.length;
  }

  async remember(queue: QueueKey, key: string, windowMs: number, now: number): Promise<boolean> {
    this.check();
    const state = this.state(queue);
    const pruned: string[] = [];
    const expiresAt = now + windowMs;
    const fresh = state.dedupe.remember(key, expiresAt, now, pruned);
    if (fresh || pruned.length > 0) this.persistRemembered(state, fresh ? key : undefined, expiresAt, pruned);
    return fresh;
  }

  async nextWakeAt(queue: QueueKey): Promise<number | undefined> {
    this.check();
    return this.state(queue).nextWakeAt();
  }
}
