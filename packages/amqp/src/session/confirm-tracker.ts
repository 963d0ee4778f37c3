/**
 * Publisher confirms: publishes are numbered from 1; each settles (ack or nack) when the engine's publish
 * promise does, possibly out of order. Confirms go out at the end of the turn, in order: every
 * settled number up to the first one still pending (a durable write not yet synced is never
 * covered), consecutive equal outcomes as one `multiple` ack or nack, so a run of publishes stored
 * together is one frame, as RabbitMQ acknowledges runs; a nack splits the runs.
 */
export type ConfirmOutcome = 'ack' | 'nack';

export class ConfirmTracker {
  #next = 1;
  /** seq → outcome, undefined while the publish is pending; insertion order = seq order. */
  readonly #pending = new Map<number, ConfirmOutcome | undefined>();
  #flushScheduled = false;
  readonly #flushAtTurnEnd = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  constructor(private readonly send: (outcome: ConfirmOutcome, seq: number, multiple: boolean) => void) {}

  register(): number {
    const seq = this.#next++;
    this.#pending.set(seq, undefined);
    return seq;
  }

  settle(seq: number, outcome: ConfirmOutcome): void {
    // Unknown, already confirmed, or already settled: the first outcome stands.
    if (!this.#pending.has(seq) || this.#pending.get(seq) !== undefined) return;
    this.#pending.set(seq, outcome);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flushAtTurnEnd);
  }

  get unconfirmed(): number {
    return this.#pending.size;
  }

  #flush(): void {
    let run: { outcome: ConfirmOutcome; last: number; count: number } | undefined;
    for (const [seq, outcome] of this.#pending) {
      if (outcome === undefined) break;
      this.#pending.delete(seq);
      if (run && run.outcome === outcome) {
        run.last = seq;
        run.count++;
      } else {
        if (run) this.send(run.outcome, run.last, run.count > 1);
        run = { outcome, last: seq, count: 1 };
      }
    }
    if (run) this.send(run.outcome, run.last, run.count > 1);
  }
}
