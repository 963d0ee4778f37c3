/** What a queue's pump drives: rounds of taking for its receivers and consumers. */
export interface PumpTarget {
  /** Whether a waiting receiver or a consumer with room would take now. */
  hasRoom(): boolean;
  /**
   * One round: serve waiters, then consumers, until they have no room or the queue runs dry.
   * Resolves false when the queue is gone: no round follows.
   */
  round(): Promise<boolean>;
  /** Nothing more goes out now (no room, or a round ended with nothing to do again). */
  idle(): void;
  onError(err: unknown): void;
}

/**
 * When a queue dispatches: at most one loop of rounds at a time, and another round whenever
 * something may have arrived meanwhile. A consumer's new room (an ack) does not start a round when
 * the last take came back short and nothing arrived since: every arrival pumps, and over a shared
 * store such a take is a round trip that comes back empty (three nodes at 64 messages in flight
 * each: with the shared store's enqueue no longer pumping before its write, a third of all takes).
 */
export class DispatchPump {
  #running = false;
  #again = false;
  /** A consumer got room while a round ran: go round again, unless that round ran dry. */
  #roomAgain = false;
  /** The last take got fewer than it asked for, and nothing has arrived since (the taker sets it). */
  drained = false;

  constructor(private readonly target: PumpTarget) {}

  get running(): boolean {
    return this.#running;
  }

  /** Something may have arrived, or someone came to take: dispatch. */
  pump(): void {
    this.drained = false;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (!this.target.hasRoom()) {
      this.target.idle();
      return;
    }
    this.#running = true;
    this.#loop()
      .catch((err: unknown) => this.target.onError(err))
      .finally(() => {
        this.#running = false;
        const again = this.#again || (this.#roomAgain && !this.drained);
        this.#again = this.#roomAgain = false;
        if (again) this.pump();
        if (!this.#running) this.target.idle();
      });
  }

  /** A consumer has room again (an ack): take for it, unless the queue ran dry and nothing came since. */
  room(): void {
    if (this.drained) return;
    if (this.#running) this.#roomAgain = true;
    else this.pump();
  }

  async #loop(): Promise<void> {
    let live: boolean;
    do {
      this.#again = this.#roomAgain = false;
      live = await this.target.round();
    } while (live && (this.#again || (this.#roomAgain && !this.drained)));
  }
}
