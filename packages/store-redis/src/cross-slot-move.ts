import { QueueNotFoundError, StoreError, type QueueKey, type QueueRecordInput } from '@conveyor/core';
import { legacyArgsToRecordArgs, LEGACY_RECORD_ARGS, recordArgs } from './record-codec.js';
import { RECORD_ARGS } from './scripts/prelude.js';
import type { ScriptName } from './scripts/queue-scripts.js';

type ScriptArg = string | number | Buffer;

/** What a cross-slot move needs from its store. */
export interface MoveHost {
  /** Runs a single-queue script (see RedisStore); `buffers` returns bulk strings as Buffers. */
  script(name: ScriptName, queue: QueueKey, args: ScriptArg[], buffers?: boolean): Promise<unknown>;
  /** The store's `wait` (replicas, AOF), on the shard of `queue`; nothing when none is set. */
  waitDurable(queue: QueueKey): Promise<void>;
}

/**
 * Moves between queues in different Cluster slots as four single-slot scripts, with replay after a
 * crash (see scripts/move-scripts.ts for the steps and why each is safe to repeat).
 */
export class CrossSlotMove {
  /** Per source queue, the moves whose marks are forgotten: their landed notes go with its next moveDone. */
  readonly #forgotten = new Map<QueueKey, string[]>();

  constructor(private readonly host: MoveHost) {}

  async move(
    from: QueueKey,
    ids: string[],
    holder: string,
    to: QueueKey,
    records: QueueRecordInput[],
  ): Promise<string[]> {
    const args: ScriptArg[] = [holder, to, ids.length, ...ids];
    const byId = new Map<string, ScriptArg[]>();
    ids.forEach((id, i) => {
      const record = records[i];
      if (record === undefined) throw new StoreError(`move: no record for id ${id}`);
      const encoded = recordArgs(record);
      byId.set(id, encoded);
      args.push(...encoded);
    });
    const marked = (await this.host.script('moveOut', from, args)) as string[];
    if (marked.length === 0) {
      await this.host.script('moveIn', to, [from, Date.now(), 0]); // a missing target still says so
      return [];
    }
    const entries = marked.map((id) => [id, byId.get(id) ?? []] as const);
    try {
      await this.#finish(from, to, entries);
    } catch (err) {
      // Target gone: the messages go back to their holder, as an atomic move refused would leave them.
      if (err instanceof QueueNotFoundError) await this.host.script('moveAbort', from, ['1', ...marked]);
      // Any other failure leaves the intents: this node's close, or the sweep of it, replays them.
      throw err;
    }
    return marked;
  }

  /**
   * Completes the moves `node` left half-done in `queue` (it died, or is closing); those whose
   * target is gone return to ready. Returns how many were replayed.
   */
  async recover(queue: QueueKey, node: string): Promise<number> {
    const intents = (await this.host.script('movesOf', queue, [`${node}/`, 'moving'], true)) as Buffer[][];
    const byTarget = new Map<string, (readonly [string, ScriptArg[]])[]>();
    for (const intent of intents) {
      const [id, target] = intent.map(String);
      if (id === undefined || target === undefined) continue;
      // An intent written before the packed record format holds the record's nine fields.
      const record =
        intent.length === 4 + LEGACY_RECORD_ARGS
          ? legacyArgsToRecordArgs(intent.slice(4))
          : intent.slice(4, 4 + RECORD_ARGS);
      let list = byTarget.get(target);
      if (list === undefined) byTarget.set(target, (list = []));
      list.push([id, record]);
    }
    for (const [target, entries] of byTarget) {
      try {
        await this.#finish(queue, target, entries);
      } catch (err) {
        if (!(err instanceof QueueNotFoundError)) throw err;
        await this.host.script('moveAbort', queue, ['', ...entries.map(([id]) => id)]);
      }
    }
    await this.#forgetLanded(queue, node);
    return intents.length;
  }

  /** Forgets the marks `node`'s landed moves from `queue` left in their targets, then the notes. */
  async #forgetLanded(queue: QueueKey, node: string): Promise<void> {
    const notes = (await this.host.script('movesOf', queue, [`${node}/`, 'landed'])) as string[][];
    const byTarget = new Map<string, string[]>();
    const done = this.#takeForgotten(queue);
    for (const [id, target] of notes) {
      if (id === undefined || target === undefined) continue;
      let ids = byTarget.get(target);
      if (ids === undefined) byTarget.set(target, (ids = []));
      ids.push(id);
      done.push(id);
    }
    // A target deleted meanwhile took its marks with it.
    for (const [target, ids] of byTarget) await this.host.script('moveForget', target, [queue, ...ids]);
    if (done.length > 0) await this.host.script('moveDone', queue, [0, ...done]);
  }

  /** `queue` was deleted: its landed notes went with it. */
  forget(queue: QueueKey): void {
    this.#forgotten.delete(queue);
  }

  #takeForgotten(queue: QueueKey): string[] {
    const ids = this.#forgotten.get(queue) ?? [];
    this.#forgotten.delete(queue);
    return ids;
  }

  /** Steps 2–4: append to the target (deduplicated), drop from the source, forget the marks. */
  async #finish(from: QueueKey, to: QueueKey, entries: readonly (readonly [string, ScriptArg[]])[]) {
    const inArgs: ScriptArg[] = [from, Date.now(), entries.length];
    for (const [id, record] of entries) inArgs.push(id, ...record);
    await this.host.script('moveIn', to, inArgs);
    // Durable on the target's shard before the source lets go: a failover there loses nothing.
    await this.host.waitDurable(to);
    const ids = entries.map(([id]) => id);
    // If this call fails, the notes it was to drop stay until this node's close or its sweep.
    await this.host.script('moveDone', from, [ids.length, ...ids, ...this.#takeForgotten(from)]);
    await this.host.script('moveForget', to, [from, ...ids]);
    const forgotten = this.#forgotten.get(from);
    if (forgotten === undefined) this.#forgotten.set(from, ids);
    else forgotten.push(...ids);
  }
}
