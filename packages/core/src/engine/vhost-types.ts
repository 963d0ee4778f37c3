/** The options and results of a virtual host's operations (its public vocabulary). */
import type { QueueCounts } from '../store/message-store.js';
import type { QueueOptions, ResolvedQueueOptions } from './queue-options.js';

export interface DeclareQueueContext {
  /** Only check that the queue exists (AMQP passive declare). */
  passive?: boolean;
  /** The connection or session declaring it: required for exclusive queues. */
  owner?: string;
}

export interface QueueInfo {
  vhost: string;
  name: string;
  /** What it was declared with. */
  options: ResolvedQueueOptions;
  /** The policy that applies to it (by name), if any. */
  policy?: string;
  /** What it runs with: `options` with the policy laid over them. */
  effectiveOptions: ResolvedQueueOptions;
  /** Ready messages (what AMQP reports in declare-ok). */
  messageCount: number;
  consumerCount: number;
}

export interface QueueStats extends QueueCounts {
  /** Cumulative since the broker started: copies enqueued, handed out, acked, dead-lettered. */
  published: number;
  delivered: number;
  acked: number;
  deadLettered: number;
  consumers: number;
  /** Pull receivers waiting for a message. */
  waiting: number;
}

export interface PublishOptions {
  /** Only the routing result matters to the caller; AMQP returns an unroutable mandatory message. */
  mandatory?: boolean;
}

export interface PublishResult {
  /** Queues the message was routed to. */
  queues: readonly string[];
  /** Routed to no queue at all. */
  unroutable: boolean;
  /** Queues that refused it (full, overflow reject-publish). */
  rejected: readonly string[];
  /** Queues that already had its message id within their duplicate window. */
  duplicates: readonly string[];
}

export interface ReceiveOptions {
  /** Most messages to return. Default 1. */
  max?: number;
  /** Wait up to this long for a message when none is ready. Default 0: answer at once. */
  waitMs?: number;
  /** Lease (visibility timeout); default the queue's `leaseMs`, else the broker's. `Infinity`: held until settled or released. */
  leaseMs?: number;
  /** Hold for this holder id (e.g. an AMQP channel's basic.get), released with `releaseHolder`; default a fresh one. */
  holder?: string;
}

export interface NackOptions {
  /** Back to the queue (true, default) or to the dead-letter target (false: reason `rejected`). */
  requeue?: boolean;
  /** Ready again only after this delay. */
  delayMs?: number;
}

export interface RedriveOptions {
  /** Queue to move to; default each message's original queue (from its death headers). */
  to?: string;
  /** At most this many. Default all ready messages. */
  max?: number;
}

export interface SubscribeOptions {
  /** A durable subscription's name (its queue's name); absent: a private queue that goes with its last consumer. */
  name?: string;
  /** Topic exchange to bind to. Default `amq.topic`. */
  exchange?: string;
  /** Options of the subscription's queue (TTL, DLQ, limits, …). */
  queue?: QueueOptions;
}
