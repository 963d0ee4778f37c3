import type { Redis } from 'ioredis';

/**
 * Cross-node wake-ups: the scripts PUBLISH on `<global>wake:<queue>` when they add messages to a
 * queue (ready or delayed) or return held ones to it. One subscriber connection per store, opened
 * on first use, one channel per watched queue.
 */
export class WakeSubscriber {
  #connection: Redis | undefined;
  readonly #listeners = new Map<string, Set<() => void>>();

  constructor(
    private readonly source: Redis,
    private readonly channelPrefix: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  subscribe(queue: string, onWake: () => void): () => void {
    const channel = this.channelPrefix + queue;
    let set = this.#listeners.get(channel);
    if (set === undefined) {
      this.#listeners.set(channel, (set = new Set()));
      this.#subscriber().subscribe(channel).catch(this.onError);
    }
    set.add(onWake);
    return () => {
      const current = this.#listeners.get(channel);
      if (current === undefined || !current.delete(onWake) || current.size > 0) return;
      this.#listeners.delete(channel);
      this.#connection?.unsubscribe(channel).catch(this.onError);
    };
  }

  close(): void {
    this.#listeners.clear();
    this.#connection?.disconnect();
    this.#connection = undefined;
  }

  #subscriber(): Redis {
    if (this.#connection) return this.#connection;
    const connection = this.source.duplicate();
    connection.on('message', (channel: string) => {
      for (const listener of this.#listeners.get(channel) ?? []) {
        try {
          listener();
        } catch (err) {
          this.onError(err);
        }
      }
    });
    connection.on('error', this.onError);
    this.#connection = connection;
    return connection;
  }
}
