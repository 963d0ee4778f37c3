/** The publish path's last step: one message into the queues its routing chose. */
import type { MessageData, OutgoingMessage } from '../message.js';
import type { EngineQueue } from './engine-queue.js';
import type { AcceptOutcome, AcceptRequest } from './queue-admission.js';
import type { PublishResult } from './vhost-types.js';

const NONE: readonly string[] = Object.freeze([]);
const UNROUTABLE: PublishResult = Object.freeze({
  queues: NONE,
  unroutable: true,
  rejected: NONE,
  duplicates: NONE,
});

function singleQueueResult(queue: string, outcome: AcceptOutcome): PublishResult {
  const queues = outcome === 'rejected' ? NONE : [queue];
  return {
    queues,
    unroutable: false,
    rejected: outcome === 'rejected' ? [queue] : NONE,
    duplicates: outcome === 'duplicate' ? [queue] : NONE,
  };
}

/**
 * Hands one message to the named queues (those that exist here) and resolves once every copy is
 * stored. Publishing is the hottest path: no async function, no spreads, one promise per copy batch.
 */
export function deliverTo(
  queues: ReadonlyMap<string, EngineQueue>,
  now: number,
  names: readonly string[],
  message: MessageData,
  outgoing: OutgoingMessage,
): Promise<PublishResult> {
  const request: AcceptRequest = {
    message,
    now,
    readyAt: outgoing.deliverAt ?? (outgoing.delayMs !== undefined ? now + outgoing.delayMs : undefined),
    ttlMs: message.properties.expiration,
  };
  if (names.length === 1) {
    const name = names[0]!;
    const queue = queues.get(name);
    if (queue) {
      const { done, index } = queue.accept(request);
      return done.then((outcomes) => singleQueueResult(name, outcomes[index]!));
    }
  }
  const tickets: { queue: string; done: Promise<AcceptOutcome[]>; index: number }[] = [];
  for (const name of names) {
    const queue = queues.get(name);
    if (queue) tickets.push({ queue: name, ...queue.accept(request) });
  }
  if (tickets.length === 0) return Promise.resolve(UNROUTABLE);
  return Promise.all(tickets.map((t) => t.done)).then((all) => {
    const result = {
      queues: [] as string[],
      unroutable: false,
      rejected: [] as string[],
      duplicates: [] as string[],
    };
    tickets.forEach((ticket, i) => {
      const outcome = all[i]![ticket.index];
      if (outcome === 'rejected') result.rejected.push(ticket.queue);
      else {
        result.queues.push(ticket.queue);
        if (outcome === 'duplicate') result.duplicates.push(ticket.queue);
      }
    });
    return result;
  });
}
