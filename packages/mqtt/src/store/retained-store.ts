import type { MessageStore } from '@conveyor/core';
import { mqttTopicMatches } from '../topic-filter.js';

/** A retained message as MQTT needs it back: the payload, its QoS and its MQTT 5 properties. */
export interface RetainedMessage {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  /** MQTT 5 publish properties as the door keeps them (user properties, content type, …). */
  properties?: Record<string, unknown>;
  /** When it was retained (ms since the epoch). */
  storedAt: number;
  /** Gone after this time (MQTT 5 message expiry). */
  expiresAt?: number;
}

interface RetainedRecord extends Omit<RetainedMessage, 'payload'> {
  payload: string;
}

const enc = encodeURIComponent;

/**
 * Retained messages of one virtual host: one per topic, kept in the store's metadata so they
 * survive a restart, and served from memory. Over a shared store the memory copy follows what
 * other nodes retain or clear (metadata change notes; at most once, like the notes themselves).
 */
export class RetainedStore {
  readonly #byTopic = new Map<string, RetainedMessage>();
  /** Reloads started per key: only the latest one's answer is applied. */
  readonly #reloads = new Map<string, number>();
  #unwatch: (() => void) | undefined;

  private constructor(
    private readonly store: MessageStore,
    private readonly prefix: string,
  ) {}

  static async open(store: MessageStore, vhost = '/'): Promise<RetainedStore> {
    const retained = new RetainedStore(store, `mqtt-retained/${enc(vhost)}/`);
    // Watch before loading: a change made while the load runs is reloaded after it.
    if (store.cluster) {
      retained.#unwatch = store.cluster.watchMeta((key) => {
        if (key.startsWith(retained.prefix)) retained.#reload(key);
      });
    }
    for (const { value } of await store.loadMeta(retained.prefix)) retained.#apply(value as RetainedRecord);
    return retained;
  }

  /** Stops following other nodes' changes. */
  close(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #apply(record: RetainedRecord): void {
    this.#byTopic.set(record.topic, { ...record, payload: Buffer.from(record.payload, 'base64') });
  }

  /** Another node (or this one) changed `key`: read it again. */
  #reload(key: string): void {
    const seq = (this.#reloads.get(key) ?? 0) + 1;
    this.#reloads.set(key, seq);
    this.store
      .getMeta(key)
      .then((value) => {
        if (this.#reloads.get(key) !== seq) return; // a later reload answers for this key
        this.#reloads.delete(key);
        const record = value as RetainedRecord | undefined;
        if (record) this.#apply(record);
        else this.#byTopic.delete(decodeURIComponent(key.slice(this.prefix.length)));
      })
      .catch(() => {
        if (this.#reloads.get(key) === seq) this.#reloads.delete(key);
      });
  }

  get size(): number {
    return this.#byTopic.size;
  }

  /** Retains `message` for its topic; an empty payload clears the topic instead [MQTT-3.3.1-10]. */
  async set(message: RetainedMessage): Promise<void> {
    if (message.payload.byteLength === 0) return this.delete(message.topic);
    this.#byTopic.set(message.topic, message);
    const record: RetainedRecord = { ...message, payload: Buffer.from(message.payload).toString('base64') };
    await this.store.putMeta(this.prefix + enc(message.topic), record);
  }

  async delete(topic: string): Promise<void> {
    // Shared store: another node may have retained it without this one hearing of it yet.
    if (!this.#byTopic.delete(topic) && this.store.cluster === undefined) return;
    await this.store.deleteMeta(this.prefix + enc(topic));
  }

  get(topic: string, now = Date.now()): RetainedMessage | undefined {
    const message = this.#byTopic.get(topic);
    return message && !expired(message, now) ? message : undefined;
  }

  /** Unexpired retained messages whose topic matches an MQTT filter. */
  match(filter: string, now = Date.now()): RetainedMessage[] {
    const result: RetainedMessage[] = [];
    for (const message of this.#byTopic.values()) {
      if (expired(message, now)) {
        this.delete(message.topic).catch(() => undefined);
        continue;
      }
      if (mqttTopicMatches(filter, message.topic)) result.push(message);
    }
    return result;
  }
}

function expired(message: RetainedMessage, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}
