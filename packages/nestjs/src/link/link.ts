import type { Headers, MessageProperties } from '@conveyor/core';

/** How a queue that handlers consume is set up, in any mode. */
export interface QueueSetup {
  /** Survives a broker restart. Default true. */
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  /** Where dead letters go; declared too. None: the queue has no dead-letter target (@Request). */
  deadLetterQueue?: string;
  /**
   * An existing queue is used as declared, not declared again: a queue of an older version keeps
   * its arguments (RabbitMQ refuses a redeclare with other x-dead-letter-* with 406).
   */
  keepExisting?: boolean;
  /** Deliveries after which the broker itself dead-letters (protects against crash loops). */
  maxDeliveries?: number;
}

/** A message sent by the transport: body already serialized. */
export interface OutboundMessage {
  body: Buffer;
  properties: MessageProperties;
}

export interface SettleOptions {
  /** Ready again only after this delay. */
  delayMs?: number;
}

/** A message handed to a handler or a receiver, with its settlement. */
export interface InboundMessage {
  readonly queue: string;
  /** Id in its queue where the mode has one (embedded), else the message id. */
  readonly id: string;
  readonly body: Buffer;
  readonly properties: MessageProperties;
  readonly headers: Headers;
  /** Deliveries so far, this one included. */
  readonly deliveryCount: number;
  ack(): Promise<void>;
  /** Back to the queue, optionally after a delay. */
  nack(options?: SettleOptions): Promise<void>;
  /** To the queue's dead-letter queue now, with a reason. */
  deadLetter(reason: string): Promise<void>;
  /** Extends the lease of a pull delivery; returns the new deadline. */
  renewLease(leaseMs?: number): Promise<number>;
}

export interface ConsumeSetup {
  /** Deliveries handled at once. */
  prefetch: number;
  /** Pull with this lease (renewed while handled) instead of push. */
  leaseMs?: number;
}

export interface Subscription {
  /** Stop taking new deliveries; what is held stays held (and settleable). */
  stop(): Promise<void>;
}

export interface RequestSetup {
  timeoutMs: number;
  retries: number;
  correlationId?: string;
}

export interface QueueCount {
  ready: number;
  /** Unknown over AMQP. */
  inFlight?: number;
  delayed?: number;
  consumers: number;
}

export interface ReceiveSetup {
  max: number;
  waitMs: number;
  leaseMs?: number;
}

export interface PeekedInfo {
  id: string;
  body: Buffer;
  properties: MessageProperties;
  deliveryCount: number;
  state: string;
}

export type LinkMode = 'embedded' | 'rabbitmq' | 'conveyor';

/**
 * What the transport needs from a broker, whatever the mode: the embedded engine, a Conveyor
 * broker over AMQP, or RabbitMQ. Each mode does what it can and says so with
 * `UnsupportedOperationError` where it cannot.
 */
export interface MessageLink {
  readonly mode: LinkMode;
  readonly connected: boolean;
  setupQueue(queue: string, setup: QueueSetup): Promise<void>;
  /** Binds `queue` (created as `setup` says) to the topic exchange with `topic`; returns its name. */
  setupSubscription(topic: string, queue: string, setup: QueueSetup): Promise<string>;
  consume(queue: string, setup: ConsumeSetup, handler: (m: InboundMessage) => void): Promise<Subscription>;
  sendToQueue(queue: string, message: OutboundMessage): Promise<void>;
  publishTopic(topic: string, message: OutboundMessage): Promise<void>;
  /** Request/response with the core's rule: resends are new messages with the same correlation id. */
  request(queue: string, message: OutboundMessage, setup: RequestSetup): Promise<InboundMessage>;
  /** Sends a reply to a request's reply-to address. */
  reply(replyTo: string, message: OutboundMessage): Promise<void>;
  count(queue: string): Promise<QueueCount>;
  peek(queue: string, max: number): Promise<PeekedInfo[]>;
  take(queue: string, id: string, leaseMs?: number): Promise<InboundMessage>;
  receive(queue: string, setup: ReceiveSetup): Promise<InboundMessage[]>;
  /** Told when the link breaks (connection lost). */
  onError(listener: (err: unknown) => void): void;
  /** The underlying broker or connection. */
  unwrap(): unknown;
  close(): Promise<void>;
}
