import type { RedisClient } from './redis-connection.js';
import { reportOutages, type RedisConnectionEvent } from './outage-reports.js';

/**
 * Every pub/sub channel a store listens on (queue wake-ups, metadata changes, node departures,
 * signals) over ONE subscriber client, opened on first use: on one Redis it is one connection,
 * which delivers its messages in publish order, so a node sees a topology change before a message
 * sent after it. In a Redis Cluster every channel is `sharded`: subscribed with `SSUBSCRIBE` on
 * the shard that owns its slot (one connection per shard), where the scripts or the store
 * `SPUBLISH` it.
 */
export class ChannelSubscriber {
  #connection: RedisClient | undefined;
  #closed = false;
  readonly #listeners = new Map<string, Set<(payload: string) => void>>();
  /** Per channel, its SUBSCRIBE (settled once Redis confirmed it). */
  readonly #subscribed = new Map<string, Promise<unknown>>();
  readonly #reconnectListeners = new Set<() => void>();

  constructor(
    private readonly open: () => RedisClient,
    private readonly onError: (err: unknown) => void,
    private readonly onConnection: (event: RedisConnectionEvent) => void,
  ) {}

  /**
   * `onReady` runs once Redis confirmed the channel's subscription (at once if it had already),
   * and again each time the connection is back after a loss: what was published meanwhile is gone.
   */
  subscribe(
    channel: string,
    listener: (payload: string) => void,
    sharded = false,
    onReady?: () => void,
  ): () => void {
    const started = this.#add(channel, listener, sharded);
    const ready = () => {
      if (onReady && this.#listeners.get(channel)?.has(listener)) onReady();
    };
    this.#subscribed.get(channel)?.then(
      ready,
      // Reported once, by the caller whose listener started the SUBSCRIBE.
      (err: unknown) => {
        if (started) this.#report(err);
      },
    );
    const remove = this.#remover(channel, listener, sharded);
    if (!onReady) return remove;
    const stopReadyAgain = this.onReconnect(ready);
    return () => {
      stopReadyAgain();
      remove();
    };
  }

  /** Like `subscribe`, resolving once Redis confirmed the subscription: no note after that is missed. */
  async subscribeNow(
    channel: string,
    listener: (payload: string) => void,
    sharded = false,
  ): Promise<() => void> {
    await this.#add(channel, listener, sharded);
    return this.#remover(channel, listener, sharded);
  }

  /** Adds the listener; returns the SUBSCRIBE under way when the channel is new. */
  #add(channel: string, listener: (payload: string) => void, sharded: boolean): Promise<unknown> | undefined {
    let set = this.#listeners.get(channel);
    let subscribing: Promise<unknown> | undefined;
    if (set === undefined) {
      this.#listeners.set(channel, (set = new Set()));
      const subscriber = this.#subscriber();
      subscribing = sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel);
      this.#subscribed.set(channel, subscribing);
    }
    set.add(listener);
    return subscribing;
  }

  #remover(channel: string, listener: (payload: string) => void, sharded: boolean): () => void {
    return () => {
      const current = this.#listeners.get(channel);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.#listeners.delete(channel);
      this.#subscribed.delete(channel);
      const connection = this.#connection;
      if (connection === undefined) return;
      (sharded ? connection.sunsubscribe(channel) : connection.unsubscribe(channel)).catch((err: unknown) =>
        this.#report(err),
      );
    };
  }

  /** Calls `listener` each time the connection is back after a loss (its subscriptions renewed). */
  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => void this.#reconnectListeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#subscribed.clear();
    this.#connection?.disconnect();
    this.#connection = undefined;
  }

  #subscriber(): RedisClient {
    if (this.#connection) return this.#connection;
    const connection = this.open();
    const deliver = (channel: string, payload: string) => {
      for (const listener of this.#listeners.get(channel) ?? []) {
        try {
          listener(payload);
        } catch (err) {
          this.onError(err);
        }
      }
    };
    connection.on('message', deliver);
    connection.on('smessage', deliver);
    reportOutages(connection, 'subscriptions', {
      onConnection: this.onConnection,
      onError: (err) => this.#report(err),
      silent: () => this.#closed,
    });
    const reconnected = () => {
      for (const listener of this.#reconnectListeners) {
        try {
          listener();
        } catch (err) {
          this.onError(err);
        }
      }
    };
    let connected = false;
    connection.on('ready', () => {
      if (connected) reconnected();
      connected = true;
    });
    // A Cluster's shard subscriber replaced (its connection lost, or its slots moved): the notes
    // sent to that shard meanwhile are gone. The group reports ready once the new ones resubscribed.
    let shardLost = false;
    connection.on('-subscriber', () => {
      shardLost = true;
    });
    connection.on('subscribersReady', () => {
      if (!shardLost) return;
      shardLost = false;
      reconnected();
    });
    this.#connection = connection;
    return connection;
  }

  /** Errors after close are the close itself (a subscribe still under way), not news. */
  #report(err: unknown): void {
    if (!this.#closed) this.onError(err);
  }
}
