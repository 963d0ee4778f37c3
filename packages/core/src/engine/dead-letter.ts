import type { HeaderValue, Headers, MessageData, StoredMessage } from '../message.js';

/** Why a message left its queue for the dead-letter target (RabbitMQ's reasons, plus the delivery limit). */
export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

export interface DeathEvent {
  reason: DeadLetterReason;
  queue: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** Delivery count of the message when it died. */
  deliveryCount: number;
  /** Free text given by whoever dead-lettered it explicitly (a handler's error, say). */
  detail?: string;
}

/**
 * The message as it enters the dead-letter target: RabbitMQ-compatible `x-death` history (one
 * entry per queue and reason, with a count), `x-first-death-*` and `x-last-death-*` headers,
 * and `expiration` moved to `original-expiration` so the copy does not expire again at once.
 */
export function deadLetteredMessage(
  stored: StoredMessage,
  death: DeathEvent,
  routingKey?: string,
): MessageData {
  const original = stored.message;
  const headers: Headers = { ...(original.properties.headers ?? {}) };
  const history = Array.isArray(headers['x-death']) ? [...(headers['x-death'] as HeaderValue[])] : [];
  const routingKeys = [original.routingKey];
  const existingIndex = history.findIndex(
    (entry) => isTable(entry) && entry['queue'] === death.queue && entry['reason'] === death.reason,
  );
  let entry: Headers;
  if (existingIndex >= 0) {
    const previous = history[existingIndex] as Headers;
    entry = { ...previous, count: Number(previous['count'] ?? 0) + 1, time: new Date(death.time) };
    history.splice(existingIndex, 1);
  } else {
    entry = {
      count: 1,
      reason: death.reason,
      queue: death.queue,
      time: new Date(death.time),
      exchange: original.exchange,
      'routing-keys': routingKeys,
    };
    if (original.properties.expiration !== undefined)
      entry['original-expiration'] = String(original.properties.expiration);
  }
  entry['delivery-count'] = death.deliveryCount;
  if (death.detail !== undefined) entry['detail'] = death.detail;
  history.unshift(entry);
  headers['x-death'] = history;
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = death.reason;
    headers['x-first-death-queue'] = death.queue;
    headers['x-first-death-exchange'] = original.exchange;
  }
  headers['x-last-death-reason'] = death.reason;
  headers['x-last-death-queue'] = death.queue;
  headers['x-last-death-exchange'] = original.exchange;

  const { expiration, ...properties } = original.properties;
  if (expiration !== undefined) headers['original-expiration'] = String(expiration);
  return {
    exchange: original.exchange,
    routingKey: routingKey ?? original.routingKey,
    properties: { ...properties, headers },
    body: original.body,
  };
}

/** The queue a dead-lettered message last died in, from its `x-last-death-queue` header. */
export function lastDeathQueue(message: MessageData): string | undefined {
  const q = message.properties.headers?.['x-last-death-queue'];
  return typeof q === 'string' ? q : undefined;
}

/** A redriven message: its death history stays, the last-death pointers go. */
export function redrivenMessage(message: MessageData): MessageData {
  const headers: Headers = { ...(message.properties.headers ?? {}) };
  delete headers['x-last-death-reason'];
  delete headers['x-last-death-queue'];
  delete headers['x-last-death-exchange'];
  return { ...message, properties: { ...message.properties, headers } };
}

function isTable(v: HeaderValue): v is Headers {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Date) &&
    !(v instanceof Uint8Array)
  );
}
