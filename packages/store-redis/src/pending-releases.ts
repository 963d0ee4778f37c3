import { BrokerClosedError, QueueNotFoundError, type QueueKey } from '@conveyor/core';
import type { ScriptName } from './scripts/queue-scripts.js';
import type { ScriptArg } from './redis-calls.js';

/** A release that Redis did not take: the script, its queue and its arguments. */
interface Release {
  readonly name: Extract<ScriptName, 'release' | 'releaseHolder'>;
  readonly queue: QueueKey;
  readonly args: ScriptArg[];
}

/**
 * Releases that failed (Redis unreachable, the connection lost mid-call), run again on the
 * liveness timer until Redis takes them. Without that a consumer that goes while Redis is away
 * would leave what it held in flight for as long as its node lives: no sweep returns the holds of
 * a live node. Both scripts release only what their holder still holds, so running one again, or
 * one that Redis did run before its reply was lost, changes nothing a second time.
 */
export class PendingReleases {
  #pending: Release[] = [];

  constructor(private readonly run: (release: Release) => Promise<unknown>) {}

  /** Runs `release`; if Redis does not take it, keeps it for `retry` and rethrows. */
  async attempt(release: Release): Promise<unknown> {
    try {
      return await this.run(release);
    } catch (err) {
      if (worthRetrying(err)) this.#pending.push(release);
      throw err;
    }
  }

  /** Keeps `release` for `retry` (a call that was not made: an earlier one failed). */
  keep(release: Release): void {
    this.#pending.push(release);
  }

  /** Runs each kept release once more; keeps those Redis still does not take. */
  async retry(): Promise<void> {
    const due = this.#pending;
    this.#pending = [];
    for (const release of due) {
      try {
        await this.run(release);
      } catch (err) {
        // Still not taken: kept for the next tick. What keeps Redis away is reported by the
        // connection itself (the store's onError), once per failed reconnect.
        if (worthRetrying(err)) this.#pending.push(release);
      }
    }
  }

  /** The node closes: its close returns everything it holds anyway. */
  clear(): void {
    this.#pending = [];
  }

  get size(): number {
    return this.#pending.length;
  }
}

/** A queue that is gone holds nothing, and a closed store's node returns everything it held. */
const worthRetrying = (err: unknown): boolean =>
  !(err instanceof QueueNotFoundError) && !(err instanceof BrokerClosedError);
