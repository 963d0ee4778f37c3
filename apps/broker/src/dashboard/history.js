// Per-second samples for the sparklines, and rates from the API's cumulative counters.

export const WINDOW = 60;
/** The charts' time axis never spans fewer polls than this. */
const MIN_SLOTS = 10;

/**
 * The polls since the page opened, up to WINDOW: every chart shares this time axis, so a chart
 * covers the time the page has watched (a queue that appeared later has a shorter line).
 */
export class TimeAxis {
  #polls = 0;

  tick() {
    this.#polls = Math.min(WINDOW, this.#polls + 1);
  }

  get slots() {
    return Math.max(MIN_SLOTS, this.#polls);
  }
}

/** A fixed-length series of the last WINDOW samples. */
export class Series {
  values = [];

  push(value) {
    this.values.push(value);
    if (this.values.length > WINDOW) this.values.shift();
  }
}

/**
 * Per-second rate of a cumulative counter between two polls. A counter that went down (broker
 * restarted, queue re-created) restarts the rate at zero instead of going negative.
 */
export class Rate {
  #last;
  #at;
  value = 0;

  /** @param {number} counter @param {number} now milliseconds */
  update(counter, now) {
    if (this.#last !== undefined && now > this.#at) {
      const delta = counter - this.#last;
      this.value = delta < 0 ? 0 : (delta * 1000) / (now - this.#at);
    }
    this.#last = counter;
    this.#at = now;
    return this.value;
  }
}

/** The API's own rate when it reports one as a number, else ours from the counter. */
export function rateOf(apiRates, key, rate, counter, now) {
  const reported = apiRates?.[key];
  const fromCounter = rate.update(counter ?? 0, now);
  if (typeof reported === 'number') return reported;
  if (typeof reported?.rate === 'number') return reported.rate;
  return fromCounter;
}
