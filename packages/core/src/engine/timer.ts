/** setTimeout's largest delay: a longer one would fire after 1 ms instead. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One re-armable timer: `at(t)` fires the callback at time t, keeping the earlier of the armed
 * time and t unless `replace` is set. Unref'd, so an idle broker's timers never hold the process.
 * A time further away than setTimeout can wait (about 24.8 days) is reached in several waits.
 */
export class Timer {
  #handle: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;

  constructor(
    private readonly callback: () => unknown,
    private readonly onError: (err: unknown) => void,
    /** What "now" is (the engine's clock); a timer fires once the clock has reached its time. */
    private readonly clock: () => number = Date.now,
  ) {}

  at(time: number, replace: boolean): void {
    if (!replace && this.#handle && this.#at <= time) return;
    this.cancel();
    this.#at = time;
    this.#arm();
  }

  #arm(): void {
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(0, this.#at - this.clock()));
    this.#handle = setTimeout(() => {
      if (this.clock() < this.#at && delay === MAX_TIMEOUT_MS) {
        this.#arm(); // only part of a long wait is over
        return;
      }
      this.#handle = undefined;
      this.#at = Number.POSITIVE_INFINITY;
      Promise.resolve().then(this.callback).catch(this.onError);
    }, delay);
    this.#handle.unref();
  }

  cancel(): void {
    if (this.#handle) clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}
