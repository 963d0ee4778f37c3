export interface BackoffOptions {
  /** First delay. Default 200 ms. */
  initialMs?: number;
  /** Largest delay. Default 15 s. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
}

/**
 * Exponential backoff with full jitter: a random delay in [d/2, d] where d grows by `factor` per
 * attempt up to `maxMs`, so bridges that lost the same broker do not all come back at once.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const initial = options.initialMs ?? 200;
  const max = options.maxMs ?? 15_000;
  const factor = options.factor ?? 2;
  const ceiling = Math.min(max, initial * factor ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
