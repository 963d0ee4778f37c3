import { InvalidArgumentError } from '../errors.js';
import type { CreditWindow, Delivery, DeliveryHandler } from './delivery.js';

export type ConsumerCancelReason = 'cancelled' | 'queue-deleted' | 'timeout' | 'owner-gone' | 'broker-closed';

export interface ConsumeOptions {
  /** Unacked deliveries this consumer may hold; 0 = unlimited. Default 0. */
  prefetch?: number;
  /** A window shared with other consumers, applied on top of `prefetch`. */
  window?: CreditWindow;
  /** No other consumer may attach to the queue while this one is there. */
  exclusive?: boolean;
  /** Unique per queue; generated when absent. */
  tag?: string;
  /** Connection or session that owns this consumer (exclusive queues, `releaseOwner`). */
  owner?: string;
  /** Deliveries count as acked as soon as they are handed out (AMQP no-ack, MQTT QoS 0). */
  autoAck?: boolean;
  /** A holder id that outlives this consumer (an MQTT persistent session); default: unique. */
  holder?: string;
  /** Told when the broker ends the consumer (queue deleted, consumer timeout, owner gone, close). */
  onCancel?: (reason: ConsumerCancelReason) => void;
}

export interface CancelOptions {
  /** Return what it holds to the queue (default true). False keeps it held by the holder id for a later consumer. */
  release?: boolean;
}

const NOTHING_HELD: ReadonlyMap<string, number> = new Map();

/** The engine-side state of one push consumer. Users see it through `ConsumerHandle`. */
export class ConsumerState {
  /** Made on the first hold: an auto-ack consumer (MQTT QoS 0, say) never holds anything. */
  #held: Map<string, number> | undefined;
  active = true;
  /** Paused by its owner (e.g. its socket's write buffer is full): takes nothing until resumed. */
  paused = false;

  constructor(
    readonly tag: string,
    readonly queue: string,
    readonly holder: string,
    readonly handler: DeliveryHandler,
    readonly options: ConsumeOptions,
  ) {}

  /** Held delivery id → time it was handed out, in hand-out order (oldest first). */
  get held(): ReadonlyMap<string, number> {
    return this.#held ?? NOTHING_HELD;
  }

  /** Credit taken out for a store take under way (so concurrent takes through a shared window cannot overrun it). */
  #reserved = 0;

  /** How many more deliveries it may take now. */
  credit(): number {
    if (!this.active || this.paused) return 0;
    const prefetch = this.options.prefetch ?? 0;
    const own = prefetch === 0 ? Number.POSITIVE_INFINITY : prefetch - this.held.size - this.#reserved;
    const shared = this.options.window ? this.options.window.available() : Number.POSITIVE_INFINITY;
    return Math.max(0, Math.min(own, shared));
  }

  /** Sets credit aside before an asynchronous take; `unreserve` gives it back once the take is done. */
  reserve(n: number): void {
    this.#reserved += n;
    if (this.options.window) this.options.window.used += n;
  }

  unreserve(n: number): void {
    this.#reserved -= n;
    if (this.options.window) this.options.window.used -= n;
  }

  hold(delivery: Delivery, now: number): void {
    if (this.options.autoAck) return;
    (this.#held ??= new Map()).set(delivery.id, now);
    if (this.options.window) this.options.window.used++;
  }

  /** Forget ids that were settled; returns how many it held. */
  settle(ids: readonly string[]): number {
    let n = 0;
    const held = this.#held;
    if (held !== undefined) for (const id of ids) if (held.delete(id)) n++;
    if (this.options.window) this.options.window.used = Math.max(0, this.options.window.used - n);
    return n;
  }
}

/** What `consume` returns. */
export interface ConsumerHandle {
  readonly tag: string;
  readonly queue: string;
  readonly holder: string;
  /** Deliveries handed out and not yet settled. */
  readonly inFlight: number;
  cancel(options?: CancelOptions): Promise<void>;
  /** Stops deliveries to this consumer (flow control) until `resume`. What it holds stays held. */
  pause(): void;
  resume(): void;
  /** Changes the prefetch window (AMQP basic.qos on a live consumer); takes effect at once. */
  setPrefetch(prefetch: number): void;
  /** Dispatches again at once: a shared window this consumer uses was widened. */
  wake(): void;
}

/**
 * The handle of a consumer on `queue` (anything that can dispatch again). A class, not an object
 * of closures: a broker holds one per MQTT session, and methods on the prototype cost nothing each.
 */
class Consumer implements ConsumerHandle {
  readonly tag: string;
  readonly queue: string;
  readonly holder: string;
  readonly #state: ConsumerState;
  readonly #target: { pump(): void };
  readonly #cancel: (release: boolean) => Promise<void>;

  constructor(state: ConsumerState, target: { pump(): void }, cancel: (release: boolean) => Promise<void>) {
    this.tag = state.tag;
    this.queue = state.queue;
    this.holder = state.holder;
    this.#state = state;
    this.#target = target;
    this.#cancel = cancel;
  }

  get inFlight(): number {
    return this.#state.held.size;
  }

  pause(): void {
    this.#state.paused = true;
  }

  resume(): void {
    this.#state.paused = false;
    this.#target.pump();
  }

  setPrefetch(prefetch: number): void {
    if (!Number.isInteger(prefetch) || prefetch < 0)
      throw new InvalidArgumentError(`prefetch must be a non-negative integer, got ${prefetch}`);
    this.#state.options.prefetch = prefetch;
    this.#target.pump();
  }

  wake(): void {
    this.#target.pump();
  }

  cancel(options: CancelOptions = {}): Promise<void> {
    return this.#cancel(options.release ?? true);
  }
}

export function consumerHandle(
  state: ConsumerState,
  queue: { pump(): void },
  cancel: (release: boolean) => Promise<void>,
): ConsumerHandle {
  return new Consumer(state, queue, cancel);
}
