import { open, type Database, type RootDatabase } from 'lmdb';
import { StoreError } from '../errors.js';
import type { MessageProperties, StoredMessage } from '../message.js';
import { EmbeddedStore } from './embedded-store.js';
import type { MetaEntry } from './message-store.js';
import type { QueueEntry } from './queue-entry.js';
import type { InMemoryQueueState } from './queue-state.js';

export interface LmdbStoreOptions {
  /** Directory of the LMDB environment (created if missing). */
  path: string;
}

/** A message record as written once at enqueue (short names: msgpack stores them per record). */
interface PersistedMessage {
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
}

/** What changes after enqueue, kept apart so a count bump does not rewrite the body. */
type PersistedState = [deliveryCount: number, readyAt?: number];

type MessageKey = [queue: string, seq: number];
type DedupeKey = [queue: string, key: string];

const NEXT_SEQ = 'nextSeq';

function storeError(what: string, cause: unknown): StoreError {
  return new StoreError(`lmdb: ${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
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
      const root = open({ path: this.options.path, overlappingSync: false, noSync: false, noSubdir: false, maxDbs: 8 });
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
    const states = new Map<string, Map<number, PersistedState>>();
    for (const { key, value } of this.states.getRange()) {
      let perQueue = states.get(key[0]);
      if (perQueue === undefined) states.set(key[0], (perQueue = new Map()));
      perQueue.set(key[1], value);
    }
    let maxSeq = 0;
    for (const { key, value } of this.messages.getRange()) {
      const [queue, seq] = key;
      const update = states.get(queue)?.get(seq);
      const record: StoredMessage = {
        id: String(seq),
        message: { exchange: value.e, routingKey: value.k, properties: value.p, body: value.b },
        enqueuedAt: value.t,
        expiresAt: value.x,
        readyAt: update !== undefined && update.length > 1 ? update[1] : value.r,
        deliveryCount: update !== undefined ? update[0] : value.c,
        durable: true,
      };
      this.ensureQueue(queue).restore(seq, record, now);
      if (seq > maxSeq) maxSeq = seq;
    }
    for (const { key, value } of this.dedupe.getRange()) {
      if (value > now) this.ensureQueue(key[0]).dedupe.restore(key[1], value);
      else this.dedupe.remove(key).catch(this.onWriteError);
    }
    this.nextSeq = Math.max(maxSeq + 1, this.sys.get(NEXT_SEQ) ?? 1);
  }

  protected async closeStorage(): Promise<void> {
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

  protected persistAdded(queue: InMemoryQueueState, entries: readonly QueueEntry[]): Promise<void> | undefined {
    let last: Promise<boolean> | undefined;
    const q = queue.key;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as QueueEntry;
      const r = entry.record;
      if (!r.durable) continue;
      const m = r.message;
      const value: PersistedMessage = { e: m.exchange, k: m.routingKey, p: m.properties, b: m.body, t: r.enqueuedAt, c: r.deliveryCount };
      if (r.expiresAt !== undefined) value.x = r.expiresAt;
      if (r.readyAt !== undefined) value.r = r.readyAt;
      last = this.messages.put([q, entry.seq], value);
    }
    if (last === undefined) return undefined;
    // Same transaction as the records: ids never repeat after a restart.
    return this.synced(this.sys.put(NEXT_SEQ, this.nextSeq));
  }

  protected persistDelivered(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    this.persistStates(queue, entries);
  }

  protected persistDelayed(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    this.persistStates(queue, entries);
  }

  private persistStates(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    const q = queue.key;
    let last: Promise<boolean> | undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as QueueEntry;
      const r = entry.record;
      if (!r.durable) continue;
      last = this.states.put([q, entry.seq], r.readyAt === undefined ? [r.deliveryCount] : [r.deliveryCount, r.readyAt]);
    }
    last?.catch(this.onWriteError);
  }

  protected persistRemoved(queue: InMemoryQueueState, entries: readonly QueueEntry[]): void {
    const q = queue.key;
    let last: Promise<boolean> | undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as QueueEntry;
      if (!entry.record.durable) continue;
      const key: MessageKey = [q, entry.seq];
      this.messages.remove(key);
      last = this.states.remove(key);
    }
    last?.catch(this.onWriteError);
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
