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
 * A door that hands some copies to consumers on this node itself, past the store (MQTT QoS 0 to a
 * connected subscriber): given the queues a publish routed to, it returns those still to be
 * stored — the same array when it took none, so the common path allocates nothing. A door takes
 * only queues it declared itself and serves alone.
 */
export type LocalDelivery = (queues: readonly string[], message: MessageData) => readonly string[];

/** Resolved results for routes a door served whole: the route cache hands out the same array per key. */
const servedWhole = new WeakMap<readonly string[], Promise<PublishResult>>();

/**
 * `deliverTo` for a publish a door served in part (`rest` are the queues it left): the served
 * copies count as delivered and acked, the others are stored as usual.
 */
export function deliverAround(
  queues: ReadonlyMap<string, EngineQueue>,
  now: number,
  routed: readonly string[],
  rest: readonly string[],
  message: MessageData,
  outgoing: OutgoingMessage,
): Promise<PublishResult> {
  const served: string[] = [];
  for (const name of routed) {
    if (rest.includes(name)) continue;
    const queue = queues.get(name);
    if (queue) {
      queue.countDirect();
      served.push(name);
    }
  }
  if (rest.length === 0) {
    let whole = servedWhole.get(routed);
    if (whole === undefined) {
      whole = Promise.resolve(
        Object.freeze({ queues: Object.freeze(served), unroutable: false, rejected: NONE, duplicates: NONE }),
      );
      servedWhole.set(routed, whole);
    }
    return whole;
  }
  return deliverTo(queues, now, rest, message, outgoing).then((stored) => ({
    ...stored,
    queues: [...served, ...stored.queues],
    unroutable: false,
  }));
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
