import type { DeadLetterReason } from './dead-letter.js';

/**
 * Hooks for metrics (the broker app feeds Prometheus from these). Called synchronously on the
 * hot path with batch counts, so implementations must be cheap and must not throw.
 */
export interface EngineObserver {
  /** Copies enqueued into a queue. */
  published?(vhost: string, queue: string, count: number): void;
  /** Deliveries handed out (pull or push). */
  delivered?(vhost: string, queue: string, count: number): void;
  /** Deliveries acked, with each one's time from enqueue to ack in ms. */
  acked?(vhost: string, queue: string, latenciesMs: readonly number[]): void;
  /** Messages that left a queue for its dead-letter target (or were dropped for want of one). */
  deadLettered?(vhost: string, queue: string, reason: DeadLetterReason, count: number): void;
}
