/**
 * The message model shared by every door. Property names follow AMQP 0-9-1 basic properties
 * (the richest of our protocols); MQTT 5 maps onto them (user properties → headers,
 * message expiry → expiration, response topic → replyTo, correlation data → correlationId).
 */

/** A header value as the protocol doors can carry it (AMQP field-table values, MQTT user properties). */
export type HeaderValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | Date
  | Uint8Array
  | HeaderValue[]
  | { [key: string]: HeaderValue };

export type Headers = Record<string, HeaderValue>;

export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Headers;
  /** AMQP delivery-mode 2 / MQTT QoS ≥ 1: written to disk when the queue is durable. */
  persistent?: boolean;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  /** Per-message time to live in milliseconds (AMQP `expiration`, MQTT 5 message expiry). */
  expiration?: number;
  messageId?: string;
  /** Seconds since the epoch, as AMQP carries it. */
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
}

/** What a publisher hands to the engine. */
export interface OutgoingMessage {
  body: Uint8Array | string;
  properties?: MessageProperties;
  /** Deliver no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** Deliver no earlier than this time (ms since the epoch); wins over `delayMs`. */
  deliverAt?: number;
}

/** A message as routed: the body, its properties and where it was published. */
export interface MessageData {
  exchange: string;
  routingKey: string;
  properties: MessageProperties;
  body: Uint8Array;
}

/** What the engine asks a store to keep for one queue. */
export interface QueueRecordInput {
  message: MessageData;
  /** Time it entered this queue (ms since the epoch). */
  enqueuedAt: number;
  /** Not deliverable after this time (ms since the epoch). */
  expiresAt?: number;
  /** Not deliverable before this time (ms since the epoch): delayed or nacked with a delay. */
  readyAt?: number;
  /** Deliveries so far (a redriven or moved message may carry its count). */
  deliveryCount?: number;
  /** Written to stable storage before `enqueue` resolves (persistent message on a durable queue). */
  durable: boolean;
  /**
   * Priority queue: the message's priority within the queue's levels (1 … its maximum); higher
   * comes out first, FIFO within a level. Absent: 0.
   */
  priority?: number;
}

/** A message held in a queue, as the store returns it. */
export interface StoredMessage {
  /** Store-assigned id, unique within the queue; stable across restarts; FIFO order by id. */
  id: string;
  message: MessageData;
  enqueuedAt: number;
  expiresAt?: number;
  readyAt?: number;
  /** Times this message has been handed out, counted at delivery. */
  deliveryCount: number;
  durable: boolean;
  /** Its level in a priority queue (see QueueRecordInput); absent: 0. */
  priority?: number;
}

export type MessageState = 'ready' | 'in-flight' | 'delayed';

/** A peeked message: not leased, may be gone by the time it is taken. */
export interface PeekedMessage extends StoredMessage {
  state: MessageState;
}

export function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Size used for max-bytes limits and the memory watermark: the body only, as RabbitMQ counts it. */
export function messageSize(message: MessageData): number {
  return message.body.byteLength;
}
