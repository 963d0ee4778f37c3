import { LeaseNotHeldError } from '@conveyor/core';
import type { LoggerService } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import { lastValueFrom, type Observable } from 'rxjs';
import { ConveyorContext } from './conveyor-context.js';
import type { ConsumerOptions } from './decorators.js';
import { describeError, isNonRetryable, reasonOf } from './error-reply.js';
import type { InboundMessage, MessageLink, OutboundMessage } from './link/link.js';
import type { ReplyCache } from './reply-cache.js';
import { backoffDelay, resolveRetry } from './retry.js';
import type { Serializer } from './serializer.js';

/** Reply header: `ok`, or `error` with an `ErrorReply` as the body. */
export const REPLY_STATUS_HEADER = 'x-conveyor-status';

export interface RunnerDeps {
  /** The link now (a reconnect replaces it). */
  link: () => MessageLink;
  serializer: Serializer;
  logger: LoggerService;
  toObservable: (result: unknown) => Observable<unknown>;
  /** Nest's processing start/end hooks (tracing) around one message's work. */
  processingHooks: (ctx: ConveyorContext, run: () => Promise<void>) => unknown;
}

interface InFlight {
  message: InboundMessage;
  ctx: ConveyorContext;
  done: Promise<void>;
}

/**
 * Runs handlers for deliveries and settles them: ack when the handler's promise or observable
 * completes, retry with backoff on a transient failure, dead-letter at once on a permanent one or
 * past the attempts. Tracks what is in flight for graceful shutdown.
 */
export class MessageRunner {
  readonly #inFlight = new Set<InFlight>();

  constructor(private readonly deps: RunnerDeps) {}

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** One-way and broadcast handlers. */
  runEvent(
    message: InboundMessage,
    pattern: string,
    handler: MessageHandler,
    options: ConsumerOptions,
  ): void {
    const ctx = new ConveyorContext(message, pattern);
    this.#track(
      message,
      ctx,
      this.#hooked(ctx, () => this.#event(message, ctx, handler, options)),
    );
  }

  /** `@Request` handlers: reply to reply-to with the correlation id, then ack the request. */
  runRequest(message: InboundMessage, pattern: string, handler: MessageHandler, cache: ReplyCache): void {
    const ctx = new ConveyorContext(message, pattern);
    this.#track(
      message,
      ctx,
      this.#hooked(ctx, () => this.#request(message, ctx, handler, cache)),
    );
  }

  /** Runs `work` inside the processing hooks; resolves when the work is done, whatever the hook returns. */
  #hooked(ctx: ConveyorContext, work: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.deps.processingHooks(ctx, () => {
        const running = work();
        running.then(resolve, reject);
        return running;
      });
    });
  }

  #track(message: InboundMessage, ctx: ConveyorContext, work: Promise<void>): void {
    const entry: InFlight = { message, ctx, done: work };
    this.#inFlight.add(entry);
    void work
      .catch((err: unknown) => this.deps.logger.error(`conveyor: settling a message failed: ${String(err)}`))
      .finally(() => this.#inFlight.delete(entry));
  }

  async #invoke(message: InboundMessage, ctx: ConveyorContext, handler: MessageHandler): Promise<unknown> {
    const data = this.deps.serializer.deserialize(
      message.body,
      message.properties.contentType,
      message.headers,
    );
    const result: unknown = await handler(data, ctx);
    return lastValueFrom(this.deps.toObservable(result), { defaultValue: undefined });
  }

  async #event(
    message: InboundMessage,
    ctx: ConveyorContext,
    handler: MessageHandler,
    options: ConsumerOptions,
  ): Promise<void> {
    const renew = this.#renewWhileRunning(message, options.leaseMs, ctx);
    try {
      // Two methods on one queue: Nest's head handler runs the chained ones too (forkJoin).
      await this.#invoke(message, ctx, handler);
      if ((options.autoAck ?? true) && !ctx.settled) await ctx.ack();
    } catch (err) {
      if (ctx.settled) return;
      const retry = resolveRetry(options.retry);
      if (isNonRetryable(err)) {
        await ctx.deadLetter(reasonOf(err));
      } else if (message.deliveryCount >= retry.maxAttempts) {
        await ctx.deadLetter(`${reasonOf(err)} (after ${message.deliveryCount} attempts)`);
      } else {
        this.deps.logger.warn?.(
          `conveyor: ${ctx.getPattern()} attempt ${message.deliveryCount} failed: ${reasonOf(err)}`,
        );
        await ctx.nack({ delayMs: backoffDelay(retry, message.deliveryCount) });
      }
    } finally {
      if (renew) clearInterval(renew);
    }
  }

  /** Renews a pull lease at half its length while the handler runs. */
  #renewWhileRunning(
    message: InboundMessage,
    leaseMs: number | undefined,
    ctx: ConveyorContext,
  ): NodeJS.Timeout | undefined {
    if (leaseMs === undefined) return undefined;
    const timer = setInterval(() => {
      message.renewLease(leaseMs).catch((err: unknown) => {
        this.deps.logger.warn?.(`conveyor: lease renewal failed: ${String(err)}`);
        // The lease is gone: the message may already be another consumer's.
        if (err instanceof LeaseNotHeldError) ctx.abandon(`lease lost: ${err.message}`);
      });
    }, leaseMs / 2);
    timer.unref();
    return timer;
  }

  async #request(
    message: InboundMessage,
    ctx: ConveyorContext,
    handler: MessageHandler,
    cache: ReplyCache,
  ): Promise<void> {
    const reply = await cache.replyFor(message.properties.correlationId, () =>
      this.#produceReply(message, ctx, handler),
    );
    const { replyTo, correlationId } = message.properties;
    if (replyTo === undefined) {
      this.deps.logger.warn?.(`conveyor: request on '${message.queue}' has no reply-to; result dropped`);
      await ctx.ack();
      return;
    }
    // The request is acked once its reply is sent, not once the reply is confirmed: a reply lost
    // on the way is covered by the caller's resend, which the reply cache answers with the same
    // result (the handler does not run again). Holding the prefetch slot for the confirm would cap
    // the handler at prefetch / (confirm round trip).
    const sent = this.deps.link().reply(replyTo, {
      body: reply.body,
      properties: { ...reply.properties, ...(correlationId === undefined ? {} : { correlationId }) },
    });
    await ctx.ack();
    await sent.catch((err: unknown) => {
      this.deps.logger.warn?.(
        `conveyor: reply to '${replyTo}' failed (${String(err)}); the caller's resend gets it from the reply cache`,
      );
    });
  }

  async #produceReply(
    message: InboundMessage,
    ctx: ConveyorContext,
    handler: MessageHandler,
  ): Promise<OutboundMessage> {
    try {
      const value = await this.#invoke(message, ctx, handler);
      const encoded = this.deps.serializer.serialize(value);
      return {
        body: encoded.body,
        properties: { headers: { [REPLY_STATUS_HEADER]: 'ok' }, ...optionalType(encoded.contentType) },
      };
    } catch (err) {
      return {
        body: Buffer.from(JSON.stringify(describeError(err))),
        properties: { contentType: 'application/json', headers: { [REPLY_STATUS_HEADER]: 'error' } },
      };
    }
  }

  /**
   * Graceful shutdown: waits up to `timeoutMs` for handlers in flight, then gives back (nacks)
   * the messages of those still running, so nothing is lost.
   */
  async drain(timeoutMs: number): Promise<number> {
    const waiting = [...this.#inFlight];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled(waiting.map((w) => w.done)), timeout]);
    clearTimeout(timer);
    let released = 0;
    for (const entry of this.#inFlight) {
      if (entry.ctx.settled) continue;
      released++;
      // Told first: the handler may stop before another consumer gets the message.
      entry.ctx.abandon(`handed back: shutdown after ${timeoutMs} ms`);
      await entry.ctx.nack().catch((err: unknown) => {
        this.deps.logger.warn?.(`conveyor: giving back a message at shutdown failed: ${String(err)}`);
      });
    }
    return released;
  }
}

function optionalType(contentType: string | undefined): { contentType?: string } {
  return contentType === undefined ? {} : { contentType };
}
