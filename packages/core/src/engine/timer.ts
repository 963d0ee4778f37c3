/**
 * One re-armable timer: `at(t)` fires the callback at time t, keeping the earlier of the armed
 * time and t unless `replace` is set. Unref'd, so an idle broker's timers never hold the process.
 */
export class Timer {
  #handle: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;

  constructor(
    private readonly callback: () => unknown,
    private readonly onError: (err: unknown) => void,
  ) {}

  at(time: number, replace: boolean): void {
    if (!replace && this.#handle && this.#at <= time) return;
    this.cancel();
    this.#at = time;
    this.#handle = setTimeout(
      () => {
        this.#handle = undefined;
        this.#at = Number.POSITIVE_INFINITY;
        Promise.resolve().then(this.callback).catch(this.onError);
      },
      Math.max(0, time - Date.now()),
    );
    this.#handle.unref();
  }

  cancel(): void {
    if (this.#handle) clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}
