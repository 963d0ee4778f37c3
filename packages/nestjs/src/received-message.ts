import type { Headers, MessageProperties } from '@conveyor/core';
import type { InboundMessage, SettleOptions } from './link/link.js';
import type { Serializer } from './serializer.js';
import { DEATH_DETAIL_HEADER } from './link/amqp-link.js';

/** A message received outside a handler (`receive`, `take`): leased until settled. */
export interface ReceivedMessage<T = unknown> {
  readonly id: string;
  readonly payload: T;
  readonly headers: Headers;
  readonly properties: MessageProperties;
  readonly deliveryCount: number;
  /** Why it was dead-lettered, on a message read from a dead-letter queue. */
  readonly deadLetterReason: string | undefined;
  ack(): Promise<void>;
  nack(options?: SettleOptions): Promise<void>;
  deadLetter(reason: string): Promise<void>;
  renewLease(leaseMs?: number): Promise<number>;
}

export function toReceived<T>(m: InboundMessage, serializer: Serializer): ReceivedMessage<T> {
  return {
    id: m.id,
    payload: serializer.deserialize(m.body, m.properties.contentType, m.headers) as T,
    headers: m.headers,
    properties: m.properties,
    deliveryCount: m.deliveryCount,
    deadLetterReason: deadLetterReason(m.headers),
    ack: () => m.ack(),
    nack: (options) => m.nack(options),
    deadLetter: (reason) => m.deadLetter(reason),
    renewLease: (leaseMs) => m.renewLease(leaseMs),
  };
}

/**
 * The reason a dead-lettered message carries: the engine's `x-death[0].detail` (embedded, and the
 * broker's own dead-lettering), or the header the AMQP modes put on the copy they publish.
 */
export function deadLetterReason(headers: Headers): string | undefined {
  const explicit = headers[DEATH_DETAIL_HEADER];
  if (typeof explicit === 'string') return explicit;
  const deaths = headers['x-death'];
  if (Array.isArray(deaths)) {
    const first = deaths[0];
    if (first && typeof first === 'object' && !(first instanceof Date) && !(first instanceof Uint8Array)) {
      const entry = first as Record<string, unknown>;
      if (typeof entry['detail'] === 'string') return entry['detail'];
      if (typeof entry['reason'] === 'string') return entry['reason'];
    }
  }
  const last = headers['x-last-death-reason'];
  return typeof last === 'string' ? last : undefined;
}
