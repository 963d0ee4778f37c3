import { open, type Database, type RootDatabase } from 'lmdb';
import { StoreError } from '../errors.js';
import type { MessageProperties, StoredMessage } from '../message.js';
import { EmbeddedStore } from './embedded-store.js';
import type { MetaEntry } from './message-store.js';
import type { QueueEntry } from './queue-entry.js';
import type { InMemoryQueueState } from './queue-state.js';
import { LmdbWriteBatch } from './lmdb-write-batch.js';

export interface LmdbStoreOptions {
  /** Directory of the LMDB environment (created if missing). */
  path: string;
}

/** A message record as written once at enqueue (short names: msgpack stores them per record). */
interface PersistedMessage {
  /** queue key */
  q: string;
  /** exchange */
  e: string;
  /** routing key */
  k: string;
  p: MessageProperties;
  b: Uint8Array;
  /** enqueuedAt */
  t: number;
  x?: number;
  r?: number;
  /** delivery count at enqueue */
  c: number;
  /** priority (priority queues) */
  y?: number;
}

/** What changes after enqueue, kept apart so a count bump does not rewrite the body. */
type PersistedState = [deliveryCount: number, readyAt?: number];

/** Messages and their states are keyed by seq alone: seqs are unique across queues, and a number key is cheap. */
type MessageKey = number;
type DedupeKey = [queue: string, key: string];

const NEXT_SEQ = 'nextSeq';

function storeError(what: string, cause: unknown): StoreError {
  return new StoreError(`lmdb: ${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
    cause,
  });
}

/**
 * The embedded durable store: queue state in memory (`InMemoryQueueState`), every durable record
 * in LMDB. Writes issued in one event-loop turn share one transaction, and with overlappingSync
 * off each commit is synced before its promise resolves: `enqueue` resolves after the fsync of the
 * transaction that holds its records (group commit). See docs/storage.md.
 */
export class LmdbStore extends EmbeddedStore {
  readonly kind = 'lmdb';
  readonly durable = true;

  private root: RootDatabase | undefined;
  private messages!: Database<PersistedMessage, MessageKey>;
  private states!: Database<PersistedState, MessageKey>;
  private dedupe!: Database<number, DedupeKey>;
  private meta!: Database<unknown, string>;
  /** Metadata keys whose `takeMeta` removal has not committed yet. */
  private readonly taking = new Set<string>();
  private sys!: Database<number, string>;
  /** A failed background write (count bump, ack) surfaces on the next awaited write. */
  private writeError: unknown = undefined;
  private readonly onWriteError = (err: unknown): void => {
    this.writeError ??= err;
  };

  constructor(private readonly options: LmdbStoreOptions) {
    super();
  }

  protected async openStorage(): Promise<void> {
    try {
      // overlappingSync off: a commit's promise resolves only after LMDB synced it (checked by
      // the strace test); on, it would resolve before the flush.
      const root = open({
        path: this.options.path,
        overlappingSync: false,
        noSync: false,
        noSubdir: false,
        maxDbs: 8,
      });
      this.root = root;
      this.messages = root.openDB<PersistedMessage, MessageKey>({ name: 'messages' });
      this.states = root.openDB<PersistedState, MessageKey>({ name: 'states' });
      this.dedupe = root.openDB<number, DedupeKey>({ name: 'dedupe' });
      this.meta = root.openDB<unknown, string>({ name: 'meta' });
      this.sys = root.openDB<number, string>({ name: 'sys' });
      this.recover();
    } catch (err) {
      throw storeError('open', err);
    }
  }

  /** Rebuilds every queue from disk: all messages ready (or delayed), counts and deadlines kept. */
  private recover(): void {
    const now = Date.now();
    const states = new Map<number, PersistedState>();
    for (const { key, value } of this.states.getRange()) states.set(key, value);
    let maxSeq = 0;
    for (const { key: seq, value } of this.messages.getRange()) {
      const update = states.get(seq);
      states.delete(seq);
      const record: StoredMessage = {
        id: String(seq),
        message: { exchange: value.e, routingKey: value.k, properties: value.p, body: value.b },
        enqueuedAt: value.t,
        expiresAt: value.x,
        readyAt: update !== undefined && update.length > 1 ? update[1] : value.r,
        deliveryCount: update !== undefined ? update[0] : value.c,
        durable: true,
      };
      if (value.y !== undefined) record.priority = value.y;
      const entry = this.ensureQueue(value.q).restore(seq, record, now);
      entry.stateOnDisk = update !== undefined;
      if (seq > maxSeq) maxSeq = seq;
    }
    // States whose message is gone (a crash between the two deletes cannot happen: they share a
    // transaction, but be tidy about older data).
    for (const seq of states.keys()) this.states.remove(seq).catch(this.onWriteError);
    for (const { key, value } of this.dedupe.getRange()) {
      if (value > now) this.ensureQueue(key[0]).dedupe.restore(key[1], value);
      else this.dedupe.remove(key).catch(this.onWriteError);
    }
    this.nextSeq = Math.max(maxSeq + 1, this.sys.get(NEXT_SEQ) ?? 1);
  }

  protected async closeStorage(): Promise<void> {
    if (this.flushScheduled) this.flush(); // the window's writes go out before the close (LMDB orders them)
    const root = this.root;
    this.root = undefined;
    this.queues.clear();
    if (root === undefined) return;
    try {
      await root.flushed;
      await root.close();
    } catch (err) {
      throw storeError('close', err);
    }
  }

  private batch = new LmdbWriteBatch<PersistedMessage>();
  private flushScheduled = false;
  /** A window's commit is being synced: the next window keeps filling until it is done (group commit). */
  private committing = false;

  private pending(): LmdbWriteBatch<PersistedMessage> {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (!this.committing) setImmediate(() => this.flush());
    }
    return this.batch;
  }

  /** Writes the window's surviving operations in one LMDB transaction and settles its waiters after the sync. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = new LmdbWriteBatch<PersistedMessage>();
    if (batch.empty) return;
    if (this.root === undefined) {
      for (const w of batch.waiters) w.reject(storeError('write', new Error('store closed')));
      return;
    }
    let last: Promise<boolean> | undefined;
    for (const [seq, value] of batch.adds) last = this.messages.put(seq, value);
    for (const entry of batch.removes) {
      last = this.messages.remove(entry.seq);
      if (entry.stateOnDisk) last = this.states.remove(entry.seq);
    }
    for (const [seq, entry] of batch.states) {
      const r = entry.record;
      last = this.states.put(seq, r.readyAt === undefined ? [r.deliveryCount] : [r.deliveryCount, r.readyAt]);
      entry.stateOnDisk = true;
    }
    if (batch.adds.size > 0) last = this.sys.put(NEXT_SEQ, this.nextSeq);
    const done = last ?? Promise.resolve(true);
    this.committing = true;
    done.then(
      () => {
        this.committed();
        for (const w of batch.waiters) w.resolve();
      },
      (err: unknown) => {
        this.committed();
        this.onWriteError(err);
        for (const w of batch.waiters) w.reject(storeError('write', err));
      },
    );
  }

  /** One commit at a time: what gathered meanwhile goes out now, as one transaction. */
  private committed(): void {
    this.committing = false;
    if (this.flushScheduled) setImmediate(() => this.flush());
  }

  protected persistAdded(
    queue: InMemoryQueueState,
    entries: readonly QueueEntry[],
  ): Promise<void> | undefined {
    let batch: LmdbWriteBatch<PersistedMessage> | undefined;
    const q = queue.key;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as QueueEntry;
      const r = entry.record;
      if (!r.durable) continue;
      const m = r.message;
      const value: PersistedMessage = {
        q,
        e: m.exchange,
        k: m.routingKey,
        p: m.properties,
        b: m.body,
        t: r.enqueuedAt,
        c: r.deliveryCount,
      };
      if (r.expiresAt !== undefined) value.x = r.expiresAt;
      if (r.readyAt !== undefined) value.r = r.readyAt;
      if (r.priority !== undefined) value.y = r.priority;
      batch ??= this.pending();
      batch.add(entry.seq, value);
    }
    // Resolves after the sync of the transaction that holds these records (or their removal).
    return batch?.committed();
  }

  protected persistDelivered(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    this.persistStates(queue, entries);
  }

  protected persistDelayed(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    this.persistStates(queue, entries);
  }

  private persistStates(_queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    let batch: LmdbWriteBatch<PersistedMessage> | undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as QueueEntry;
      if (!entry.record.durable) continue;
      batch ??= this.pending();
      batch.state(entry);
    }
  }

  protected persistRemoved(_queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    let batch: LmdbWriteBatch<PersistedMessage> | undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as QueueEntry;
      if (!entry.record.durable) continue;
      batch ??= this.pending();
      batch.remove(entry);
    }
  }

  protected persistQueueDeleted(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    this.persistRemoved(queue, entries);
    const q = queue.key;
    for (const key of queue.dedupe.keys()) this.dedupe.remove([q, key]).catch(this.onWriteError);
  }

  protected persistRemembered(
    queue: InMemoryQueueState,
    key: string | undefined,
    expiresAt: number,
    pruned: readonly string[],
  ): void {
    const q = queue.key;
    for (const k of pruned) this.dedupe.remove([q, k]).catch(this.onWriteError);
    if (key !== undefined) this.dedupe.put([q, key], expiresAt).catch(this.onWriteError);
  }

  async loadMeta(prefix: string): Promise<MetaEntry[]> {
    this.check();
    const out: MetaEntry[] = [];
    for (const { key, value } of this.meta.getRange({ start: prefix })) {
      if (!key.startsWith(prefix)) break;
      out.push({ key, value });
    }
    return out;
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    this.check();
    await this.synced(this.meta.put(key, value));
  }

  async deleteMeta(key: string): Promise<void> {
    this.check();
    await this.synced(this.meta.remove(key));
  }

  async getMeta(key: string): Promise<unknown> {
    this.check();
    return this.taking.has(key) ? undefined : (this.meta.get(key) as unknown);
  }

  async takeMeta(key: string): Promise<unknown> {
    this.check();
    // A read sees the entry until the removal commits: keys being taken are nobody else's.
    if (this.taking.has(key)) return undefined;
    const value: unknown = this.meta.get(key);
    if (value === undefined) return undefined;
    this.taking.add(key);
    try {
      await this.synced(this.meta.remove(key));
    } finally {
      this.taking.delete(key);
    }
    return value;
  }

  /** Waits for a write's commit (synced, as overlappingSync is off) and reports write failures. */
  private async synced(write: Promise<boolean>): Promise<void> {
    try {
      await write;
    } catch (err) {
      throw storeError('write', err);
    }
    const failed = this.writeError;
    if (failed !== undefined) {
      this.writeError = undefined;
      throw storeError('an earlier write', failed);
    }
  }
}
