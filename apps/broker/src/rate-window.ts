/** Per-second rates over the last few whole seconds, from counts reported as they happen. */
export type RateKind = 'published' | 'delivered' | 'acked';
const KINDS: readonly RateKind[] = ['published', 'delivered', 'acked'];

export type Rates = Record<RateKind, number>;

interface Slots {
  /** Whole second each slot holds. */
  second: number[];
  counts: Record<RateKind, number[]>;
}

export class RateWindow {
  readonly #series = new Map<string, Slots>();

  constructor(
    /** Seconds averaged over (the current, incomplete second excluded). */
    readonly seconds = 5,
    private readonly now: () => number = Date.now,
  ) {}

  add(key: string, kind: RateKind, count: number): void {
    const second = Math.floor(this.now() / 1000);
    let slots = this.#series.get(key);
    if (!slots) {
      const size = this.seconds + 1;
      slots = {
        second: new Array<number>(size).fill(-1),
        counts: {
          published: new Array<number>(size).fill(0),
          delivered: new Array<number>(size).fill(0),
          acked: new Array<number>(size).fill(0),
        },
      };
      this.#series.set(key, slots);
    }
    const i = second % slots.second.length;
    if (slots.second[i] !== second) {
      slots.second[i] = second;
      for (const k of KINDS) slots.counts[k][i] = 0;
    }
    slots.counts[kind][i]! += count;
  }

  rates(key: string): Rates {
    const rates: Rates = { published: 0, delivered: 0, acked: 0 };
    const slots = this.#series.get(key);
    if (!slots) return rates;
    const current = Math.floor(this.now() / 1000);
    slots.second.forEach((second, i) => {
      if (second >= current - this.seconds && second < current)
        for (const k of KINDS) rates[k] += slots.counts[k][i]!;
    });
    for (const k of KINDS) rates[k] /= this.seconds;
    return rates;
  }

  forget(key: string): void {
    this.#series.delete(key);
  }
}
