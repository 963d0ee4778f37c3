import type { MessageData } from '../message.js';

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
