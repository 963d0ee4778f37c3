import type { MessageData, StoredMessage } from '../message.js';

/** A message handed to a receiver or consumer; it stays held by `holder` until acked, nacked or released. */
export interface Delivery {
  readonly vhost: string;
  readonly queue: string;
  /** The message's id in its queue (what peek shows and take accepts). */
  readonly id: string;
  /** Who holds it: a pull lease, a push consumer, an MQTT session. */
  readonly holder: string;
  readonly message: MessageData;
  /** How many times it has been handed out, this time included. */
  readonly deliveryCount: number;
  /** True when it was handed out before. */
  readonly redelivered: boolean;
  /** When it entered the queue (ms since the epoch): publish→ack latency starts here. */
  readonly enqueuedAt: number;
  /** Lease deadline of a pull delivery (ms since the epoch); push deliveries have none. */
  readonly leaseUntil?: number;
  /** The push consumer it went to. */
  readonly consumerTag?: string;
}

export type DeliveryHandler = (delivery: Delivery) => void;

/** The delivery of a stored message taken by `holder` (with its lease deadline, or its consumer's tag). */
export function deliveryOf(
  vhost: string,
  queue: string,
  stored: StoredMessage,
  holder: string,
  leaseUntil: number | undefined,
  consumerTag: string | undefined,
): Delivery {
  const delivery: { -readonly [K in keyof Delivery]: Delivery[K] } = {
    vhost,
    queue,
    id: stored.id,
    holder,
    message: stored.message,
    deliveryCount: stored.deliveryCount,
    redelivered: stored.deliveryCount > 1,
    enqueuedAt: stored.enqueuedAt,
  };
  if (leaseUntil !== undefined) delivery.leaseUntil = leaseUntil;
  if (consumerTag !== undefined) delivery.consumerTag = consumerTag;
  return delivery;
}

/** A delivery as the stored message it came from (to dead-letter what a holder gives up). */
export function storedOf(d: Delivery): StoredMessage {
  return {
    id: d.id,
    message: d.message,
    enqueuedAt: d.enqueuedAt,
    deliveryCount: d.deliveryCount,
    durable: d.message.properties.persistent === true,
  };
}

/**
 * Deliveries grouped by queue and holder, so each group settles in one store call. Usually one
 * receive's or one consumer's deliveries: then the one group is the list itself.
 */
export function byQueueAndHolder(deliveries: Delivery | readonly Delivery[]): (readonly Delivery[])[] {
  const list: readonly Delivery[] = Array.isArray(deliveries) ? deliveries : [deliveries as Delivery];
  const first = list[0];
  if (!first) return [];
  if (list.every((d) => d.queue === first.queue && d.holder === first.holder)) return [list];
  const groups = new Map<string, Delivery[]>();
  for (const d of list) {
    const key = `${d.queue}\u0000${d.holder}`;
    const group = groups.get(key);
    if (group) group.push(d);
    else groups.set(key, [d]);
  }
  return [...groups.values()];
}

/**
 * A credit window shared by several consumers (AMQP's global basic.qos on a channel, an MQTT
 * session's Receive Maximum): at most `limit` deliveries unacked across them; 0 = unlimited.
 */
export class CreditWindow {
  used = 0;
  constructor(public limit = 0) {}

  available(): number {
    return this.limit === 0 ? Number.POSITIVE_INFINITY : Math.max(0, this.limit - this.used);
  }
}
