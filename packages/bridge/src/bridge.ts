import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { SinkEndpoint, SourceEndpoint, SourceMessage } from './endpoint.js';
import { describeError } from './errors.js';
import { rewriteSubject, type BridgeMessage, type SubjectRewrite } from './message.js';

export interface BridgeOptions {
  name: string;
  source: SourceEndpoint;
  sink: SinkEndpoint;
  /** Messages in flight (received, not yet confirmed by the sink). Default 256. */
  window?: number;
  /** Subject rewrites, first match wins. */
  rewrite?: readonly SubjectRewrite[];
  /** Last change before the sink; `undefined` drops the message (acked at the source, counted). */
  transform?: (message: BridgeMessage) => BridgeMessage | undefined;
  /** Reconnect delays. */
  backoff?: BackoffOptions;
  /** Told of every connection loss and failed reconnect (for logs). */
  onError?: (err: Error) => void;
}

export type BridgeState = 'idle' | 'connecting' | 'running' | 'reconnecting' | 'stopped';

/** What the broker app shows for a bridge (management API, metrics). */
export interface BridgeStatus {
  name: string;
  state: BridgeState;
  /** Both sides connected and messages flowing. */
  connected: boolean;
  source: string;
  sink: string;
  /** Messages the sink confirmed. */
  moved: number;
  /** Of those, how many the sink dropped as duplicates (Conveyor's duplicate detection). */
  duplicates: number;
  /** Messages the transform dropped (e.g. a reply nobody waits for). */
  dropped: number;
  /** Sends the sink refused or that failed with a connection; each went back to the source. */
  failed: number;
  /** Received and not yet confirmed. */
  inFlight: number;
  /** Messages waiting: the source's backlog (when it can tell) plus those in flight. */
  lag: number | undefined;
  reconnects: number;
  lastError: string | undefined;
  /** When lastError happened (ms since the epoch). */
  lastErrorAt: number | undefined;
}

const LAG_SAMPLE_MS = 1_000;
const DRAIN_MS = 5_000;

/**
 * Moves messages from a source to a sink, at least once: a message is acked at the source only
 * after the sink confirmed it. When either side goes away both are closed (unsettled messages
 * return to the source broker) and reopened with exponential backoff and jitter.
 */
export class Bridge {
  readonly name: string;
  readonly #options: BridgeOptions;
  readonly #window: number;
  #state: BridgeState = 'idle';
  #moved = 0;
  #duplicates = 0;
  #dropped = 0;
  #failed = 0;
  #reconnects = 0;
  #backlog: number | undefined;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #session = 0;
  #lost: ((err: Error) => void) | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lagTimer: NodeJS.Timeout | undefined;

  constructor(options: BridgeOptions) {
    this.name = options.name;
    this.#options = options;
    this.#window = options.window ?? 256;
  }

  status(): BridgeStatus {
    const inFlight = this.#inFlight.size;
    return {
      name: this.name,
      state: this.#state,
      connected: this.#state === 'running',
      source: this.#options.source.description,
      sink: this.#options.sink.description,
      moved: this.#moved,
      duplicates: this.#duplicates,
      dropped: this.#dropped,
      failed: this.#failed,
      inFlight,
      lag: this.#backlog === undefined ? undefined : this.#backlog + inFlight,
      reconnects: this.#reconnects,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
    };
  }

  /** Connects both sides; rejects with a one-line BridgeError when the first connection fails. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`bridge '${this.name}' was already started`);
    this.#state = 'connecting';
    let lost: Promise<Error>;
    try {
      ({ lost } = await this.#connect());
    } catch (err) {
      this.#state = 'stopped';
      throw err;
    }
    this.#loop = this.#run(lost);
    this.#lagTimer = setInterval(() => void this.#sampleLag(), LAG_SAMPLE_MS);
    this.#lagTimer.unref();
    void this.#sampleLag();
  }

  /** Opens sink then source and starts delivery; resolves with a promise of the next loss. */
  async #connect(): Promise<{ lost: Promise<Error> }> {
    const session = ++this.#session;
    const lost = new Promise<Error>((resolve) => {
      this.#lost = (err) => {
        if (session !== this.#session || this.#state === 'stopped') return;
        this.#session++;
        resolve(err);
      };
    });
    const onLost = (err: Error): void => this.#lost?.(err);
    const { source, sink } = this.#options;
    try {
      await sink.open(onLost);
      await source.open(onLost);
      await source.start((message) => this.#onMessage(message, session), this.#window);
    } catch (err) {
      await this.#closeBoth();
      throw err;
    }
    if (!this.#isStopped()) this.#state = 'running';
    return { lost };
  }

  async #run(firstLoss: Promise<Error>): Promise<void> {
    let lost: Promise<Error> | undefined = firstLoss;
    let attempt = 0;
    for (;;) {
      if (lost !== undefined) {
        const err = await Promise.race([lost, this.#stopped()]);
        if (err === undefined || this.#isStopped()) return;
        this.#noteError(err);
        this.#state = 'reconnecting';
        await this.#closeBoth();
        attempt = 0;
        lost = undefined;
      }
      if (this.#isStopped()) return;
      await this.#sleep(backoffDelay(attempt++, this.#options.backoff));
      if (this.#isStopped()) return;
      try {
        ({ lost } = await this.#connect());
        if (this.#isStopped()) return; // stop() came while connecting: it closes both sides
        this.#reconnects++;
      } catch (err) {
        this.#noteError(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  #onMessage(received: SourceMessage, session: number): void {
    const { source, sink } = this.#options;
    if (this.#isStopped() || session !== this.#session) {
      void source.nack(received).catch(() => undefined);
      return;
    }
    const rewrite = this.#options.rewrite;
    let message: BridgeMessage | undefined =
      rewrite && rewrite.length > 0
        ? { ...received.message, subject: rewriteSubject(received.message.subject, rewrite) }
        : received.message;
    if (this.#options.transform) message = this.#options.transform(message);
    if (message === undefined) {
      this.#dropped++;
      void source.ack(received).catch((err: unknown) => this.#fail(err, session));
      return;
    }
    const work = sink.send(message).then(
      async (outcome) => {
        this.#moved++;
        if (outcome === 'duplicate') this.#duplicates++;
        await source.ack(received);
      },
      async (err: unknown) => {
        this.#failed++;
        await source.nack(received).catch(() => undefined);
        throw err;
      },
    );
    const tracked = work
      .catch((err: unknown) => this.#fail(err, session))
      .finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** A send or settle failed: reconnect both sides (the source redelivers what was not acked). */
  #fail(err: unknown, session: number): void {
    if (session !== this.#session) return;
    this.#lost?.(err instanceof Error ? err : new Error(String(err)));
  }

  #isStopped(): boolean {
    return this.#state === 'stopped';
  }

  #noteError(err: Error): void {
    this.#lastError = describeError(err);
    this.#lastErrorAt = Date.now();
    this.#options.onError?.(err);
  }

  async #sampleLag(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#backlog = await this.#options.source.backlog().catch(() => undefined);
  }

  async #closeBoth(): Promise<void> {
    const { source, sink } = this.#options;
    await Promise.all([source.close().catch(() => source.abort()), sink.close().catch(() => sink.abort())]);
  }

  #stopped(): Promise<undefined> {
    return new Promise((resolve) => {
      const previous = this.#wake;
      this.#wake = () => {
        previous?.();
        resolve(undefined);
      };
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      const previous = this.#wake;
      this.#wake = () => {
        previous?.();
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Stops taking messages, lets those in flight finish (up to 5 s), then closes both sides. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    clearInterval(this.#lagTimer);
    this.#wake?.();
    const drained = Promise.allSettled([...this.#inFlight]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS)))]);
    clearTimeout(timer);
    this.#session++;
    await this.#loop;
    await this.#closeBoth();
  }

  /** Drops both connections at once, settling nothing: what a crash does (for tests and forced exits). */
  abort(): void {
    this.#state = 'stopped';
    this.#session++;
    clearInterval(this.#lagTimer);
    this.#wake?.();
    this.#options.source.abort();
    this.#options.sink.abort();
  }
}
