/**
 * Requests made in the same turn, written together: the first `add` of a turn schedules one
 * `write` of all of them (in a microtask), and each caller learns its own outcome by index. A
 * queue's copies accepted in one turn so share one store write and one fsync.
 */
export class TurnBatch<Request, Outcome> {
  #pending: { requests: Request[]; done: Promise<Outcome[]> } | undefined;

  constructor(private readonly write: (requests: Request[]) => Promise<Outcome[]>) {}

  add(request: Request): { done: Promise<Outcome[]>; index: number } {
    let batch = this.#pending;
    if (!batch) {
      const requests: Request[] = [];
      // Written once the turn's synchronous work is done: every add of this turn is in `requests`.
      const done = Promise.resolve().then(() => {
        this.#pending = undefined;
        return this.write(requests);
      });
      batch = { requests, done };
      this.#pending = batch;
    }
    batch.requests.push(request);
    return { done: batch.done, index: batch.requests.length - 1 };
  }
}
