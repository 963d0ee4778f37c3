import { EventEmitter } from 'node:events';
import { totalmem } from 'node:os';
import { BrokerClosedError, VhostNotFoundError } from '../errors.js';
import type { MessageStore } from '../store/message-store.js';
import { MemoryStore } from '../store/memory-store.js';
import type { EngineObserver } from './engine-observer.js';
import { MemoryMonitor } from './memory-monitor.js';
import { metaKeys, parseTopologyKey } from './meta-keys.js';
import { VirtualHost } from './virtual-host.js';

export interface BrokerOptions {
  /** Where queues live. Default: a fresh in-memory store. */
  store?: MessageStore;
  /** Largest body accepted. Default 128 MiB (RabbitMQ's default). */
  maxMessageBytes?: number;
  /** Message bytes held above which publishers must wait. Default 40% of the machine's memory. */
  memoryHighWatermarkBytes?: number;
  /** Lease of a pull receive when neither the call nor the queue sets one. Default 30 s. */
  defaultLeaseMs?: number;
  /**
   * Shared store: ready messages in one queue past which publishers on every node wait for their
   * confirms until it drains below again (never an error, never a drop). Default 100,000.
   */
  queueDepthSoftLimit?: number;
  /** Background failures (timers, store writes nobody awaits). Default: printed to stderr. */
  onError?: (err: unknown) => void;
  /** Metrics hooks (publish, deliver, ack with latency, dead-letter). */
  observer?: EngineObserver;
  /**
   * The engine's clock, ms since the epoch: TTLs, leases, delays and timers read it. Default
   * `Date.now`. Tests pass their own to move time without sleeping.
   */
  clock?: () => number;
}

type BrokerEvents = {
  /** Publishers must wait: the memory watermark was crossed. */
  blocked: [bytes: number];
  unblocked: [bytes: number];
};

const DEFAULT_VHOST = '/';

/**
 * The engine: virtual hosts with their routing model and queues over one message store.
 * Protocol servers, the NestJS transport and embedded users all talk to this.
 */
export class Broker extends EventEmitter<BrokerEvents> {
  readonly store: MessageStore;
  readonly memory: MemoryMonitor;
  readonly #vhosts = new Map<string, VirtualHost>();
  readonly #options: Required<Omit<BrokerOptions, 'store' | 'memoryHighWatermarkBytes'>>;
  #closed = false;
  #unwatch: (() => void) | undefined;
  #topologyWorker: Promise<void> | undefined;
  #fullSyncWanted = false;
  /** Until recovery has read the topology, changes only queue up. */
  #recovered = false;
  readonly #changedKeys = new Set<string>();

  /**
   * Shared store: brings this node up to the store's topology, one changed key at a time, or all
   * of it (`key` undefined: at a node's departure, after lost notes). One worker applies the
   * queued keys in order; the promise resolves once the worker has drained what was queued,
   * this request included.
   */
  #catchUp(key?: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (key === undefined) this.#fullSyncWanted = true;
    else this.#changedKeys.add(key);
    if (!this.#recovered) return Promise.resolve();
    this.#topologyWorker ??= this.#applyTopology();
    return this.#topologyWorker;
  }

  async #applyTopology(): Promise<void> {
    try {
      while (!this.#closed && (this.#fullSyncWanted || this.#changedKeys.size > 0)) {
        if (this.#fullSyncWanted) {
          this.#fullSyncWanted = false;
          this.#changedKeys.clear();
          await this.#guarded(async () => {
            await this.#addVhostsFromStore();
            for (const vhost of this.#vhosts.values()) if (!this.#closed) await vhost.syncTopology();
          });
          continue;
        }
        const keys = [...this.#changedKeys];
        this.#changedKeys.clear();
        for (const key of keys) {
          if (this.#closed || this.#fullSyncWanted) break;
          await this.#guarded(() => this.#applyKey(key));
        }
      }
    } finally {
      this.#topologyWorker = undefined;
    }
  }

  async #applyKey(key: string): Promise<void> {
    const what = parseTopologyKey(key);
    if (!what) return;
    if (!this.#vhosts.has(what.vhost)) await this.#addVhostsFromStore();
    await this.#vhosts.get(what.vhost)?.applyMetaKey(key);
  }

  async #guarded(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      if (!(err instanceof BrokerClosedError)) this.#options.onError(err);
    }
  }

  private constructor(options: BrokerOptions) {
    super();
    this.store = options.store ?? new MemoryStore();
    this.memory = new MemoryMonitor({
      highWatermarkBytes: options.memoryHighWatermarkBytes ?? Math.floor(totalmem() * 0.4),
      messagesInProcess: this.store.cluster === undefined,
    });
    this.#options = {
      maxMessageBytes: options.maxMessageBytes ?? 128 * 1024 * 1024,
      defaultLeaseMs: options.defaultLeaseMs ?? 30_000,
      queueDepthSoftLimit: options.queueDepthSoftLimit ?? 100_000,
      onError: options.onError ?? ((err: unknown) => console.error('[conveyor]', err)),
      observer: options.observer ?? {},
      clock: options.clock ?? Date.now,
    };
    this.memory.on('blocked', (bytes) => this.emit('blocked', bytes));
    this.memory.on('unblocked', (bytes) => this.emit('unblocked', bytes));
  }

  /** Opens the store, recovers durable topology and messages, and returns a running broker. */
  static async open(options: BrokerOptions = {}): Promise<Broker> {
    const broker = new Broker(options);
    await broker.store.open();
    // Watching before recovery reads the topology, so no change made after that read is missed;
    // what comes in meanwhile waits for recovery to end.
    const unwatchMeta = broker.store.cluster?.watchMeta((key) => {
      if (key === '') void broker.#catchUp();
      else if (parseTopologyKey(key)) void broker.#catchUp(key);
    });
    // A node that left may have owned exclusive and transient topology: it goes.
    const unwatchNodes = broker.store.cluster?.watchNodes(() => void broker.#catchUp());
    broker.#unwatch = () => {
      unwatchMeta?.();
      unwatchNodes?.();
    };
    try {
      await broker.#recover();
    } catch (err) {
      broker.#unwatch();
      throw err;
    }
    broker.#recovered = true;
    for (const vhost of broker.#vhosts.values()) vhost.resumeDelayedRouting();
    if (broker.#fullSyncWanted || broker.#changedKeys.size > 0)
      broker.#topologyWorker ??= broker.#applyTopology();
    return broker;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Publishers must wait (memory watermark). */
  get blocked(): boolean {
    return this.memory.blocked;
  }

  /** A virtual host; `/` always exists. */
  vhost(name: string = DEFAULT_VHOST): VirtualHost {
    const vhost = this.#vhosts.get(name);
    if (!vhost) throw new VhostNotFoundError(name);
    return vhost;
  }

  vhosts(): string[] {
    return [...this.#vhosts.keys()];
  }

  async addVhost(name: string): Promise<VirtualHost> {
    this.#assertOpen();
    const existing = this.#vhosts.get(name);
    if (existing) return existing;
    const vhost = this.#createVhost(name);
    await this.store.putMeta(metaKeys.vhost(name), { name });
    return vhost;
  }

  #createVhost(name: string): VirtualHost {
    const vhost = new VirtualHost(name, {
      store: this.store,
      memory: this.memory,
      maxMessageBytes: this.#options.maxMessageBytes,
      defaultLeaseMs: this.#options.defaultLeaseMs,
      queueDepthSoftLimit: this.#options.queueDepthSoftLimit,
      onError: this.#options.onError,
      assertOpen: () => this.#assertOpen(),
      observer: this.#options.observer,
      clock: this.#options.clock,
      catchUp: (key) => this.#catchUp(key),
    });
    this.#vhosts.set(name, vhost);
    return vhost;
  }

  /** Virtual hosts in the store's metadata that this broker does not have yet (added by another node). */
  async #addVhostsFromStore(): Promise<void> {
    for (const entry of await this.store.loadMeta(metaKeys.vhostPrefix)) {
      const { name } = entry.value as { name: string };
      if (!this.#vhosts.has(name)) this.#createVhost(name);
    }
  }

  async #recover(): Promise<void> {
    this.#createVhost(DEFAULT_VHOST);
    await this.#addVhostsFromStore();
    const declared = new Set<string>();
    for (const vhost of this.#vhosts.values()) {
      await vhost.syncTopology();
      for (const key of vhost.persistedQueueKeys()) declared.add(key);
    }
    // Queues that were not durable do not come back, nor do their (transient) messages; in a
    // shared store they may be another node's, so they stay.
    if (this.store.cluster === undefined) {
      for (const key of await this.store.listQueues())
        if (!declared.has(key)) await this.store.deleteQueue(key);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new BrokerClosedError();
  }

  /** Stops every queue, tells consumers, and closes the store (flushing pending writes). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch?.();
    await this.#topologyWorker;
    for (const vhost of this.#vhosts.values()) vhost.shutdown();
    await this.store.close();
  }
}
