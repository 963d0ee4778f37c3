import { setImmediate } from 'node:timers';
import type { QueueKey } from '@conveyor/core';
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

  constructor(private readonly calls: RedisCalls) {}

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
    try {
      const args: ScriptArg[] = [batch.length];
      for (const a of batch) args.push(a.holder, a.ids.length, ...a.ids);
      const out = (await this.calls.script('ack', queue, args)) as string[];
      let at = 0;
      for (const a of batch) {
        const n = Number(out[at]);
        a.resolve(out.slice(at + 1, at + 1 + n));
        at += 1 + n;
      }
    } catch (err) {
      for (const a of batch) a.reject(err);
    }
  }
}
