import type { RetryPolicy } from './decorators.js';

export type ResolvedRetryPolicy = Required<RetryPolicy>;

export function resolveRetry(policy: RetryPolicy = {}): ResolvedRetryPolicy {
  return {
    maxAttempts: policy.maxAttempts ?? 5,
    backoffMs: policy.backoffMs ?? 100,
    factor: policy.factor ?? 2,
    maxBackoffMs: policy.maxBackoffMs ?? 30_000,
  };
}

/** Delay before the retry that follows delivery number `deliveryCount` (1 = the first). */
export function backoffDelay(policy: ResolvedRetryPolicy, deliveryCount: number): number {
  const delay = policy.backoffMs * policy.factor ** Math.max(0, deliveryCount - 1);
  return Math.min(policy.maxBackoffMs, delay);
}
