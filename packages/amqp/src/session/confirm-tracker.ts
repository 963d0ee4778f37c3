/**
 * Publisher confirms: publishes are numbered from 1; each settles (ack or nack) when the engine's publish
 * promise does, possibly out of order; confirms go out in order, consecutive equal outcomes as one
 * `multiple` ack or nack.
 */
export type ConfirmOutcome = 'ack' | 'nack';

export class ConfirmTracker {
  #next = 1;
  /** seq → outcome, undefined while the publish is pending; insertion order = seq order. */
  readonly #pending = new Map<number, ConfirmOutcome | undefined>();

  constructor(private readonly send: (outcome: ConfirmOutcome, seq: number, multiple: boolean) => void) {}

  register(): number {
    const seq = this.#next++;
    this.#pending.set(seq, undefined);
    return seq;
  }

  settle(seq: number, outcome: ConfirmOutcome): void {
    if (!this.#pending.has(seq)) return;
    this.#pending.set(seq, outcome);
    this.#flush();
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
