import { messageSize, type MessageData, type QueueRecordInput } from '../message.js';
import type { QueueCounts } from '../store/message-store.js';
import type { EngineQueue } from './engine-queue.js';
import { deadLetterUnqueued } from './queue-dead-letter.js';
import type { ResolvedQueueOptions } from './queue-options.js';

/** What happened to one published copy at this queue. */
export type AcceptOutcome = 'enqueued' | 'duplicate' | 'rejected';

export interface AcceptRequest {
  message: MessageData;
  now: number;
  readyAt?: number | undefined;
  /** Per-message TTL (ms), combined with the queue's default. */
  ttlMs?: number | undefined;
}

/**
 * What enters a queue, decided before the store write: duplicates within the dedupe window,
 * copies refused on overflow (reject-publish, reject-publish-dlx), and each record's TTL and delay.
 */
export async function admit(
  queue: EngineQueue,
  requests: readonly AcceptRequest[],
): Promise<AcceptOutcome[]> {
  const { store } = queue.host;
  const outcomes: AcceptOutcome[] = new Array<AcceptOutcome>(requests.length).fill('enqueued');
  const window = queue.options.dedupeWindowMs;
  if (window !== undefined) {
    for (let i = 0; i < requests.length; i++) {
      const id = requests[i]!.message.properties.messageId;
      if (id !== undefined && !(await store.remember(queue.key, id, window, requests[i]!.now)))
        outcomes[i] = 'duplicate';
    }
  }
  if (queue.options.overflow !== 'drop-head' && hasLimits(queue.options))
    await rejectOverflow(queue, requests, outcomes);
  return outcomes;
}

/** The stored form of a copy: its expiry (the shorter of message and queue TTL) and its delay. */
export function recordFor(options: ResolvedQueueOptions, request: AcceptRequest): QueueRecordInput {
  const queueTtl = options.messageTtlMs;
  const ttl =
    request.ttlMs === undefined
      ? queueTtl
      : queueTtl === undefined
        ? request.ttlMs
        : Math.min(queueTtl, request.ttlMs);
  const record: QueueRecordInput = {
    message: request.message,
    enqueuedAt: request.now,
    durable: options.durable && request.message.properties.persistent === true,
  };
  if (ttl !== undefined) record.expiresAt = request.now + ttl;
  // A priority above the queue's maximum counts as the maximum, as in RabbitMQ.
  const max = options.maxPriority;
  if (max !== undefined && max > 0) {
    const priority = Math.min(max, request.message.properties.priority ?? 0);
    if (priority > 0) record.priority = priority;
  }
  if (request.readyAt !== undefined && request.readyAt > request.now) record.readyAt = request.readyAt;
  return record;
}

export function hasLimits(options: ResolvedQueueOptions): boolean {
  return options.maxLength !== undefined || options.maxBytes !== undefined;
}

function overLimit(
  options: ResolvedQueueOptions,
  counts: QueueCounts,
  extraMessages: number,
  extraBytes: number,
): boolean {
  const { maxLength, maxBytes } = options;
  return (
    (maxLength !== undefined && counts.ready + extraMessages > maxLength) ||
    (maxBytes !== undefined && counts.bytes + extraBytes > maxBytes)
  );
}

/** reject-publish(-dlx): copies that would overflow the queue are refused (and maybe dead-lettered). */
async function rejectOverflow(
  queue: EngineQueue,
  requests: readonly AcceptRequest[],
  outcomes: AcceptOutcome[],
): Promise<void> {
  const counts = await queue.host.store.counts(queue.key);
  let messages = 0;
  let bytes = 0;
  for (let i = 0; i < requests.length; i++) {
    if (outcomes[i] !== 'enqueued') continue;
    const size = messageSize(requests[i]!.message);
    if (overLimit(queue.options, counts, messages + 1, bytes + size)) {
      outcomes[i] = 'rejected';
      if (queue.options.overflow === 'reject-publish-dlx')
        await deadLetterUnqueued(queue, requests[i]!, 'maxlen');
    } else {
      messages++;
      bytes += size;
    }
  }
}

/** drop-head: the oldest ready messages leave (dead-lettered with `maxlen` when there is a target). */
export async function dropHead(queue: EngineQueue, nextHolder: () => string): Promise<void> {
  const { store } = queue.host;
  for (;;) {
    const counts = await store.counts(queue.key);
    if (!overLimit(queue.options, counts, 0, 0)) return;
    const holder = nextHolder();
    const [head] = await store.take(queue.key, 1, { holder, now: queue.host.now() });
    if (!head) return;
    await queue.deadLetter([head], holder, 'maxlen');
  }
}
