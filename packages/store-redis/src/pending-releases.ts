import { BrokerClosedError, QueueNotFoundError, type QueueKey } from '@conveyor/core';
import type { ScriptName } from './scripts/queue-scripts.js';
import type { ScriptArg } from './redis-calls.js';

/** A release that Redis did not take: the script, its queue and its arguments. */
interface Release {
  readonly name: Extract<ScriptName, 'release' | 'releaseHolder' | 'undoTake'>;
  readonly queue: QueueKey;
  readonly args: ScriptArg[];
}

/**
 * Releases that failed (Redis unreachable, the connection lost mid-call), run again on the
 * liveness timer until Redis takes them; the undoing of takes whose call failed (they may have
 * run, their reply lost); and the release of what an ack that failed may not have settled (its
 * consumer is done with it, its engine has forgotten it: delivered again, at least once).
 * Without that, a consumer that goes while Redis is away leaves what it held in flight for as
 * long as its node lives: no sweep returns the holds of a live node. Each script releases only
 * what its holder still holds, so running one again, or one that Redis did run before its reply
 * was lost, changes nothing a second time.
 */
export class PendingReleases {
  #pending: Release[] = [];

  constructor(private readonly run: (release: Release) => Promise<unknown>) {}

  /** Runs `release`; if Redis does not take it, keeps it for `retry` and rethrows. */
  async attempt(release: Release): Promise<unknown> {
    try {
      return await this.run(release);
    } catch (err) {
      this.keepAfter(err, release);
      throw err;
    }
  }

  /** Keeps `release` for `retry` (a call that was not made: an earlier one failed). */
  keep(release: Release): void {
    this.#pending.push(release);
  }

  /**
   * Keeps `release` for `retry` after a call failed with `err`, unless nothing is left to release
   * (a queue that is gone holds nothing, a closed store's node returns everything it held).
   * Returns whether it kept it.
   */
  keepAfter(err: unknown, release: Release): boolean {
    if (err instanceof QueueNotFoundError || err instanceof BrokerClosedError) return false;
    this.#pending.push(release);
    return true;
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
        // connection itself, once per outage (the store's onConnection).
        this.keepAfter(err, release);
      }
    }
  }

  /** The node closes: its close returns everything it holds anyway. */
  clear(): void {
    this.#pending = [];
  }
}
