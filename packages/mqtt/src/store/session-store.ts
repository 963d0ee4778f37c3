import type { MessageStore } from '@conveyor/core';

/** One subscription of an MQTT session, as stored. */
export interface MqttSubscriptionRecord {
  /** The filter as the client sent it (with `$share/group/` when shared). */
  filter: string;
  qos: 0 | 1 | 2;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
  subscriptionId?: number;
}

/** What outlives an MQTT persistent session's connections (and a broker restart). */
export interface MqttSessionRecord {
  clientId: string;
  /** Seconds after disconnect; 0xFFFFFFFF = never expires. */
  expiryIntervalSec: number;
  subscriptions: MqttSubscriptionRecord[];
  /** Set while no connection is attached (ms since the epoch). */
  disconnectedAt?: number;
  /** Shared store: the node the session lives on (which keeps its expiry timer). */
  node?: string;
  /** Shared store: when its latest connection was opened (ms since the epoch). */
  connectedAt?: number;
}

const enc = encodeURIComponent;

/** Persistent MQTT sessions of one virtual host, kept in the store's metadata. */
export class MqttSessionStore {
  readonly #prefix: string;

  constructor(
    private readonly store: MessageStore,
    vhost = '/',
  ) {
    this.#prefix = `mqtt-session/${enc(vhost)}/`;
  }

  async load(clientId: string): Promise<MqttSessionRecord | undefined> {
    return (await this.store.getMeta(this.#key(clientId))) as MqttSessionRecord | undefined;
  }

  async loadAll(): Promise<MqttSessionRecord[]> {
    return (await this.store.loadMeta(this.#prefix)).map((e) => e.value as MqttSessionRecord);
  }

  /** A session that ends with its connection (expiry 0) is recorded over a shared store only: transient. */
  async put(record: MqttSessionRecord): Promise<void> {
    await this.store.putMeta(this.#key(record.clientId), record, {
      durable: record.expiryIntervalSec !== 0,
    });
  }

  async delete(clientId: string, durable = true): Promise<void> {
    await this.store.deleteMeta(this.#key(clientId), { durable });
  }

  #key(clientId: string): string {
    return this.#prefix + enc(clientId);
  }
}
