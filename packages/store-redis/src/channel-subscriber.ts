import type { Redis } from 'ioredis';

/**
 * Every pub/sub channel a store listens on (queue wake-ups, metadata changes, node departures,
 * signals) over ONE subscriber connection, opened on first use: Redis delivers a connection's
 * messages in publish order, so a node sees a topology change before a message sent after it.
 */
export class ChannelSubscriber {
  #connection: Redis | undefined;
  #closed = false;
  readonly #listeners = new Map<string, Set<(payload: string) => void>>();

  constructor(
    private readonly source: Redis,
    private readonly onError: (err: unknown) => void,
  ) {}

  subscribe(channel: string, listener: (payload: string) => void): () => void {
    let set = this.#listeners.get(channel);
    if (set === undefined) {
      this.#listeners.set(channel, (set = new Set()));
      this.#subscriber()
        .subscribe(channel)
        .catch((err: unknown) => this.#report(err));
    }
    set.add(listener);
    return () => {
      const current = this.#listeners.get(channel);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.#listeners.delete(channel);
      this.#connection?.unsubscribe(channel).catch((err: unknown) => this.#report(err));
    };
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#connection?.disconnect();
    this.#connection = undefined;
  }

  #subscriber(): Redis {
    if (this.#connection) return this.#connection;
    // No ready check: its INFO is refused once the connection is in subscriber mode (on reconnect).
    const connection = this.source.duplicate({ enableReadyCheck: false });
    connection.on('message', (channel: string, payload: string) => {
      for (const listener of this.#listeners.get(channel) ?? []) {
        try {
          listener(payload);
        } catch (err) {
          this.onError(err);
        }
      }
    });
    connection.on('error', (err: unknown) => this.#report(err));
    this.#connection = connection;
    return connection;
  }

  /** Errors after close are the close itself (a subscribe still under way), not news. */
  #report(err: unknown): void {
    if (!this.#closed) this.onError(err);
  }
}
