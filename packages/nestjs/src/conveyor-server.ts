import { randomUUID } from 'node:crypto';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { CONVEYOR_TRANSPORT, specOf, type HandlerSpec } from './decorators.js';
import { keepOriginalExceptions } from './error-reply.js';
import { assertOneNestCopy } from './nest-copies.js';
import type { MessageLink, QueueSetup, Subscription } from './link/link.js';
import { openLink, type ConveyorConnectionOptions } from './link/open-link.js';
import { MessageRunner } from './message-runner.js';
import { ReplyCache } from './reply-cache.js';
import { resolveRetry } from './retry.js';
import { JsonSerializer, type Serializer } from './serializer.js';

export interface ConveyorServerOptions {
  /** Names durable broadcast subscriptions (`<appName>.<topic>`). */
  appName: string;
  connection?: ConveyorConnectionOptions;
  serializer?: Serializer;
  /** How long close() lets handlers in flight finish before giving their messages back. Default 10 s. */
  shutdownTimeoutMs?: number;
  /** Over AMQP, reopen the connection and resubscribe after it is lost (backoff up to 10 s). Default true. */
  reconnect?: boolean;
}

const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 10_000;

export type ConveyorStatus = 'connecting' | 'connected' | 'disconnected' | 'closing';

export type ConveyorServerEvents = {
  error: (err: unknown) => void;
};

/**
 * The Nest transport: `app.connectMicroservice({ strategy: new ConveyorServer({ appName }) })`.
 * Every `@OneWay`, `@Request` and `@Broadcast` handler becomes a consumer on its queue.
 */
export class ConveyorServer
  extends Server<ConveyorServerEvents, ConveyorStatus>
  implements CustomTransportStrategy
{
  override readonly transportId = CONVEYOR_TRANSPORT;
  readonly #options: ConveyorServerOptions;
  readonly #serializer: Serializer;
  readonly #errorListeners: ((err: unknown) => void)[] = [];
  readonly #subscriptions: Subscription[] = [];
  readonly #replyCaches = new Map<string, ReplyCache>();
  readonly #instanceId = randomUUID().slice(0, 8);
  #link: MessageLink | undefined;
  #runner: MessageRunner | undefined;
  #closing = false;

  constructor(options: ConveyorServerOptions) {
    super();
    keepOriginalExceptions();
    this.#options = options;
    this.#serializer = options.serializer ?? new JsonSerializer();
  }

  on<K extends keyof ConveyorServerEvents>(event: K, callback: ConveyorServerEvents[K]): void {
    if (event === 'error') this.#errorListeners.push(callback);
  }

  unwrap<T>(): T {
    if (!this.#link) throw new Error('ConveyorServer is not listening yet; call listen() first');
    return this.#link.unwrap() as T;
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.#runner?.inFlight ?? 0;
  }

  /** The link the handlers use (for health checks). */
  get link(): MessageLink | undefined {
    return this.#link;
  }

  listen(callback: (err?: unknown) => void): void {
    this.#start().then(
      () => callback(),
      (err: unknown) => callback(err),
    );
  }

  async #start(): Promise<void> {
    // Loudly, before anything runs: with two copies, handler errors and RpcExceptions go wrong silently.
    assertOneNestCopy();
    this._status$.next('connecting');
    this.#runner = new MessageRunner({
      link: () => {
        if (!this.#link) throw new Error('ConveyorServer has no link');
        return this.#link;
      },
      serializer: this.#serializer,
      logger: this.logger,
      toObservable: (result) => this.transformToObservable(result),
      // The runner sees the work's own outcome; what the hook chain returns only needs no rejection left unhandled.
      processingHooks: (ctx, run) => {
        const hooked: unknown = this.runWithProcessingHooks(ctx, async (end) => {
          try {
            await run();
          } finally {
            end();
          }
        });
        if (hooked instanceof Promise) hooked.catch(() => undefined);
      },
    });
    await this.#connect(this.#runner);
  }

  /** Opens a link and subscribes every Conveyor handler on it. */
  async #connect(runner: MessageRunner): Promise<void> {
    const link = await openLink(this.#options.connection);
    this.#link = link;
    link.onError((err) => {
      if (this.#link !== link || this.#closing) return;
      this._status$.next('disconnected');
      this.#errorListeners.forEach((l) => l(err));
      if (this.#options.reconnect ?? true) this.#reconnect(link, 0);
    });
    try {
      for (const [pattern, handler] of this.messageHandlers) {
        const spec = specOf(handler.extras);
        if (!spec) continue;
        this.#subscriptions.push(await this.#bind(link, runner, pattern, handler, spec));
      }
    } catch (err) {
      await link.close().catch(() => undefined);
      throw err;
    }
    this._status$.next('connected');
  }

  /** Drops the lost link and tries again with backoff until it works or the server closes. */
  #reconnect(lost: MessageLink, attempt: number): void {
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** attempt);
    const timer = setTimeout(() => {
      void (async () => {
        if (this.#closing || !this.#runner) return;
        this.#subscriptions.splice(0);
        await lost.close().catch(() => undefined);
        this._status$.next('connecting');
        try {
          await this.#connect(this.#runner);
          this.logger.log?.(`conveyor: reconnected after ${attempt + 1} attempt(s)`);
        } catch (err) {
          this._status$.next('disconnected');
          this.#errorListeners.forEach((l) => l(err));
          this.#reconnect(lost, attempt + 1);
        }
      })();
    }, delay);
    timer.unref();
  }

  async #bind(
    link: MessageLink,
    runner: MessageRunner,
    pattern: string,
    handler: MessageHandler,
    spec: HandlerSpec,
  ): Promise<Subscription> {
    const concurrency = spec.options.concurrency ?? 10;
    if (spec.kind === 'request') {
      // A request handler's failure is its reply: no DLQ unless one is asked for.
      const setup: QueueSetup = {
        keepExisting: true,
        ...(spec.options.deadLetterQueue === undefined
          ? {}
          : { deadLetterQueue: spec.options.deadLetterQueue }),
      };
      await link.setupQueue(spec.queue, setup);
      // Kept across reconnects, so a resend after one still gets the first result.
      const cache = this.#replyCaches.get(pattern) ?? new ReplyCache(spec.options.windowMs ?? 60_000);
      this.#replyCaches.set(pattern, cache);
      return link.consume(spec.queue, { prefetch: concurrency }, (m) => {
        if (this.#closing) void m.nack();
        else runner.runRequest(m, pattern, handler, cache);
      });
    }
    const retry = resolveRetry(spec.options.retry);
    const durable = spec.options.durable ?? true;
    let queue: string;
    if (spec.kind === 'one-way') {
      queue = spec.queue;
      await link.setupQueue(queue, {
        durable,
        deadLetterQueue: spec.options.deadLetterQueue ?? `${queue}.dlq`,
        maxDeliveries: retry.maxAttempts,
      });
    } else {
      const group = spec.options.group ?? this.#options.appName;
      const perInstance = spec.options.perInstance ?? false;
      // Per instance: a private queue named after the instance; both share the group's DLQ.
      const name = `${group}.${spec.topic}${perInstance ? `.${this.#instanceId}` : ''}`;
      const deadLetterQueue = spec.options.deadLetterQueue ?? `${group}.${spec.topic}.dlq`;
      queue = await link.setupSubscription(spec.topic, name, {
        durable: perInstance ? false : durable,
        autoDelete: perInstance,
        exclusive: perInstance && link.mode !== 'embedded',
        deadLetterQueue,
        maxDeliveries: retry.maxAttempts,
      });
    }
    return link.consume(
      queue,
      {
        prefetch: concurrency,
        ...(spec.options.leaseMs === undefined ? {} : { leaseMs: spec.options.leaseMs }),
      },
      (m) => {
        if (this.#closing) void m.nack();
        else runner.runEvent(m, pattern, handler, spec.options);
      },
    );
  }

  /** Stop taking, let handlers in flight finish (up to `shutdownTimeoutMs`), give back the rest, close. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this._status$.next('closing');
    for (const s of this.#subscriptions.splice(0)) await s.stop().catch(() => undefined);
    await this.#runner?.drain(this.#options.shutdownTimeoutMs ?? 10_000);
    await this.#link?.close();
    this._status$.next('disconnected');
  }
}
