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

/** The engine-side state of one push consumer. Users see it through `ConsumerHandle`. */
export class ConsumerState {
  /** Held delivery id → time it was handed out, in hand-out order (oldest first). */
  readonly held = new Map<string, number>();
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
    this.held.set(delivery.id, now);
    if (this.options.window) this.options.window.used++;
  }

  /** Forget ids that were settled; returns how many it held. */
  settle(ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) if (this.held.delete(id)) n++;
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

/** The handle of a consumer on `queue` (anything that can dispatch again). */
export function consumerHandle(
  state: ConsumerState,
  queue: { pump(): void },
  cancel: (release: boolean) => Promise<void>,
): ConsumerHandle {
  return {
    tag: state.tag,
    queue: state.queue,
    holder: state.holder,
    get inFlight() {
      return state.held.size;
    },
    pause: () => {
      state.paused = true;
    },
    resume: () => {
      state.paused = false;
      queue.pump();
    },
    setPrefetch: (prefetch: number) => {
      if (!Number.isInteger(prefetch) || prefetch < 0)
        throw new InvalidArgumentError(`prefetch must be a non-negative integer, got ${prefetch}`);
      state.options.prefetch = prefetch;
      queue.pump();
    },
    wake: () => queue.pump(),
    cancel: (options: CancelOptions = {}) => cancel(options.release ?? true),
  };
}
