import { setImmediate } from 'node:timers';
import type { QueueKey } from '@conveyor/core';
import type { PendingReleases } from './pending-releases.js';
import type { RedisCalls, ScriptArg } from './redis-calls.js';

interface PendingAck {
  holder: string;
  ids: string[];
  resolve: (acked: string[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Acks of one queue that arrive in the same event-loop iteration (many consumers' frames read in
 * one poll) share one `ack` script call: acks are most of the scripts a message costs (issue 17).
 */
export class AckBatcher {
  readonly #pending = new Map<QueueKey, PendingAck[]>();

  constructor(
    private readonly calls: RedisCalls,
    /** Where the ids of a failed call go to be released (see PendingReleases). */
    private readonly releases: PendingReleases,
  ) {}

  /** The ids of `ids` that `holder` (qualified) held, now acked. */
  ack(queue: QueueKey, holder: string, ids: string[]): Promise<string[]> {
    let batch = this.#pending.get(queue);
    if (!batch) {
      this.#pending.set(queue, (batch = []));
      // End of this event-loop iteration (node:timers' own: a test's fake timers do not stop I/O batching).
      setImmediate(() => void this.#flush(queue));
    }
    return new Promise((resolve, reject) => batch.push({ holder, ids, resolve, reject }));
  }

  async #flush(queue: QueueKey): Promise<void> {
    const batch = this.#pending.get(queue) ?? [];
    this.#pending.delete(queue);
    // One group per holder: most acks of a turn come from a few consumers, and each id then costs
    // the script one argument instead of three.
    const groups = new Map<string, { ids: string[]; callers: PendingAck[] }>();
    for (const a of batch) {
      let group = groups.get(a.holder);
      if (!group) groups.set(a.holder, (group = { ids: [], callers: [] }));
      group.ids.push(...a.ids);
      group.callers.push(a);
    }
    try {
      const args: ScriptArg[] = [groups.size];
      for (const [holder, g] of groups) args.push(holder, g.ids.length, ...g.ids);
      // Per group: how many of its ids were not acked, then their places in it (1-based).
      const out = (await this.calls.script('ack', queue, args)) as number[];
      let at = 0;
      for (const g of groups.values()) {
        const n = Number(out[at]);
        const missed = new Set(out.slice(at + 1, at + 1 + n).map(Number));
        const acked = new Set(n === 0 ? g.ids : g.ids.filter((_, i) => !missed.has(i + 1)));
        at += 1 + n;
        // Each id to the first caller that asked for it, as if each had acked alone, in turn.
        for (const a of g.callers) a.resolve(a.ids.filter((id) => acked.delete(id)));
      }
    } catch (err) {
      // Redis may not have run it: what it would have settled is still held by a holder whose
      // engine has forgotten it. Released once Redis answers; a no-op for what it did settle.
      for (const [holder, g] of groups)
        this.releases.keepAfter(err, { name: 'release', queue, args: [holder, '', ...g.ids] });
      for (const a of batch) a.reject(err);
    }
  }
}
