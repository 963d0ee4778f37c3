import { randomUUID } from 'node:crypto';
import { RequestTimeoutError } from '../errors.js';
import type { OutgoingMessage } from '../message.js';
import type { ConsumerHandle } from './consumer.js';
import type { Delivery } from './delivery.js';
import type { VirtualHost } from './virtual-host.js';

export interface RequestOptions {
  /** How long to wait for each attempt's reply. Default 5 s. */
  timeoutMs?: number;
  /** Resends after the first attempt times out. Default 0. */
  retries?: number;
  /** Exchange to publish the request to. Default '' (straight to the queue named by `to`). */
  exchange?: string;
  /** Correlation id of the request; default a fresh UUID. */
  correlationId?: string;
}

let requesterSeq = 0;

/**
 * The requesting side of request/response: a private reply queue, a correlation id per request,
 * a timeout per attempt and resends. A resend is a new message (new message id) with the same
 * correlation id, so duplicate detection does not swallow it and the responder can recognise it.
 * Late and duplicate replies are dropped.
 */
export class Requester {
  readonly #pending = new Map<string, (reply: Delivery) => void>();
  #consumer: ConsumerHandle | undefined;

  private constructor(
    private readonly vhost: VirtualHost,
    readonly replyQueue: string,
    private readonly owner: string,
  ) {}

  static async create(vhost: VirtualHost): Promise<Requester> {
    const owner = `requester:${++requesterSeq}`;
    const info = await vhost.declareQueue(
      '',
      { durable: false, exclusive: true, autoDelete: true },
      { owner },
    );
    const requester = new Requester(vhost, info.name, owner);
    requester.#consumer = vhost.consume(info.name, (d) => requester.#onReply(d), { autoAck: true, owner });
    return requester;
  }

  #onReply(reply: Delivery): void {
    const id = reply.message.properties.correlationId;
    if (id === undefined) return;
    const resolve = this.#pending.get(id);
    if (!resolve) return; // late or duplicate reply
    this.#pending.delete(id);
    resolve(reply);
  }

  async request(to: string, outgoing: OutgoingMessage, options: RequestOptions = {}): Promise<Delivery> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    const attempts = (options.retries ?? 0) + 1;
    const correlationId = options.correlationId ?? randomUUID();
    const reply = new Promise<Delivery>((resolve) => this.#pending.set(correlationId, resolve));
    try {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const properties = {
          ...outgoing.properties,
          correlationId,
          replyTo: this.replyQueue,
          messageId: randomUUID(),
        };
        const request = { ...outgoing, properties };
        // To a queue: one nobody declared is QueueNotFoundError, not a request that waits for nothing.
        if ((options.exchange ?? '') === '') await this.vhost.send(to, request);
        else await this.vhost.publish(options.exchange!, to, request);
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((resolve) => {
          timer = setTimeout(resolve, timeoutMs, undefined);
        });
        const result = await Promise.race([reply, timeout]);
        clearTimeout(timer);
        if (result) return result;
      }
      if ((options.exchange ?? '') !== '') throw new RequestTimeoutError(correlationId, attempts, timeoutMs);
      // The consumer count only makes the message more useful: a failed count leaves it out.
      const consumers = await this.vhost.count(to).then(
        (stats) => stats.consumers,
        () => undefined,
      );
      throw new RequestTimeoutError(correlationId, attempts, timeoutMs, { queue: to, consumers });
    } finally {
      this.#pending.delete(correlationId);
    }
  }

  /** Stops listening and deletes the reply queue. */
  async close(): Promise<void> {
    await this.#consumer?.cancel();
    await this.vhost.releaseOwner(this.owner);
  }
}

export type ResponderHandler = (request: Delivery) => OutgoingMessage | Promise<OutgoingMessage>;

export interface ResponderOptions {
  /** Requests handled at once. Default 10. */
  prefetch?: number;
  /** How long a correlation id's result is remembered for resends. Default 60 s. */
  windowMs?: number;
}

interface HandledRequest {
  result: Promise<OutgoingMessage>;
  at: number;
}

/**
 * The responding side: runs the handler at most once per correlation id within a window. A resend
 * whose original is still running waits for that result; one whose original was answered gets
 * the remembered reply; so a lost reply is recovered without running the handler twice.
 * A handler that throws nacks the request (it is redelivered, and dead-lettered past the queue's limit).
 */
export class Responder {
  readonly #handled = new Map<string, HandledRequest>();
  #consumer: ConsumerHandle | undefined;

  private constructor(
    private readonly vhost: VirtualHost,
    private readonly handler: ResponderHandler,
    private readonly windowMs: number,
  ) {}

  static start(
    vhost: VirtualHost,
    queue: string,
    handler: ResponderHandler,
    options: ResponderOptions = {},
  ): Responder {
    const responder = new Responder(vhost, handler, options.windowMs ?? 60_000);
    responder.#consumer = vhost.consume(queue, (d) => void responder.#onRequest(d), {
      prefetch: options.prefetch ?? 10,
    });
    return responder;
  }

  async #onRequest(request: Delivery): Promise<void> {
    const { correlationId, replyTo } = request.message.properties;
    try {
      const reply = await this.#result(request, correlationId);
      if (replyTo !== undefined) {
        const properties = { ...reply.properties, correlationId };
        await this.vhost.publish('', replyTo, { ...reply, properties });
      }
      await this.vhost.ack(request);
    } catch {
      if (correlationId !== undefined) this.#handled.delete(correlationId);
      await this.vhost.nack(request).catch(() => undefined);
    }
  }

  #result(request: Delivery, correlationId: string | undefined): Promise<OutgoingMessage> {
    if (correlationId === undefined) return Promise.resolve(this.handler(request));
    this.#prune();
    const known = this.#handled.get(correlationId);
    if (known) return known.result;
    const result = Promise.resolve().then(() => this.handler(request));
    this.#handled.set(correlationId, { result, at: Date.now() });
    return result;
  }

  #prune(): void {
    const cutoff = Date.now() - this.windowMs;
    for (const [id, entry] of this.#handled) {
      if (entry.at >= cutoff) break; // insertion order = age order
      this.#handled.delete(id);
    }
  }

  async close(): Promise<void> {
    await this.#consumer?.cancel();
  }
}
