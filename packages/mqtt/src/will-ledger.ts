import { randomBytes } from 'node:crypto';
import type { MessageStore } from '@conveyor/core';
import { type MqttSessionStore } from './store/session-store.js';
import type { QoS } from 'mqtt-packet';
import type { PublishProperties } from './message-mapping.js';
import type { Will } from './will.js';
import { type ErrorReport, reported } from './background.js';

/** A connection's will as the shared store keeps it, with the node whose death publishes it. */
interface WillRecord {
  node: string;
  clientId: string;
  topic: string;
  /** base64 */
  payload: string;
  qos: QoS;
  retain: boolean;
  properties?: PublishProperties;
  /** Seconds to wait before publishing (0 when the session does not outlive the connection). */
  delaySec: number;
  /** When its connection opened the session (ms since the epoch). */
  since: number;
}

const enc = encodeURIComponent;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Shared store: the will of every connection on this node is also in the store's metadata
 * (`mqtt-will/<vhost>/<client id>/<connection>`), so that it is not lost with the node. It goes
 * when the connection ends normally, its will was published here, or it was taken over. When a
 * node leaves (and at start), the others look for wills whose node is not live: each is taken
 * (`takeMeta`, one winner) and published after its delay, unless its client connected again.
 */
export class WillLedger {
  readonly #prefix: string;
  /** Departed nodes' wills waiting out their delay, by client id. */
  readonly #delayed = new Map<string, Set<NodeJS.Timeout>>();
  readonly #writes = new Set<Promise<unknown>>();
  #closed = false;

  constructor(
    private readonly store: MessageStore,
    vhost: string,
    private readonly sessions: MqttSessionStore,
    private readonly publish: (clientId: string, will: Will) => Promise<unknown>,
    /** Failures of removals and publishes nobody waits on. */
    private readonly report: ErrorReport,
  ) {
    this.#prefix = `mqtt-will/${enc(vhost)}/`;
  }

  /** Records a connection's will; returns its key (for `remove`). */
  async put(clientId: string, will: Will, delaySec: number, since: number): Promise<string> {
    const key = `${this.#prefix}${enc(clientId)}/${randomBytes(9).toString('base64url')}`;
    const record: WillRecord = {
      node: this.store.cluster?.nodeId ?? '',
      clientId,
      topic: will.topic,
      payload: will.payload.toString('base64'),
      qos: will.qos,
      retain: will.retain,
      ...(will.properties ? { properties: will.properties } : {}),
      delaySec,
      since,
    };
    await this.#track(this.store.putMeta(key, record));
    return key;
  }

  /** The will is done with here (published, dropped, or the connection ended normally). */
  remove(key: string): void {
    void reported(this.#track(this.store.deleteMeta(key)), this.report);
  }

  /** Resolves when the puts and removals made so far are done (before the store closes). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#writes]);
  }

  /** The client connected again: its departed connections' delayed wills are dropped. */
  clientConnected(clientId: string): void {
    const timers = this.#delayed.get(clientId);
    if (!timers) return;
    for (const timer of timers) clearTimeout(timer);
    this.#delayed.delete(clientId);
  }

  /** Publishes the wills of connections whose node is no longer live (one node takes each). */
  async recover(): Promise<void> {
    const live = await this.store.cluster?.liveNodes();
    if (!live || this.#closed) return;
    for (const { key, value } of await this.store.loadMeta(this.#prefix)) {
      const node = (value as WillRecord).node;
      if (node === this.store.cluster?.nodeId || live.has(node)) continue;
      const record = (await this.store.takeMeta(key)) as WillRecord | undefined;
      if (record) this.#schedule(record);
    }
  }

  #schedule(record: WillRecord): void {
    const will: Will = {
      topic: record.topic,
      payload: Buffer.from(record.payload, 'base64'),
      qos: record.qos,
      retain: record.retain,
      delaySec: record.delaySec,
      ...(record.properties ? { properties: record.properties } : {}),
    };
    if (record.delaySec <= 0) {
      void reported(this.publish(record.clientId, will), this.report);
      return;
    }
    const { clientId } = record;
    let timers = this.#delayed.get(clientId);
    if (!timers) this.#delayed.set(clientId, (timers = new Set()));
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (timers.size === 0 && this.#delayed.get(clientId) === timers) this.#delayed.delete(clientId);
        void reported(this.#publishUnlessBack(clientId, will, record.since), this.report);
      },
      Math.min(record.delaySec * 1000, MAX_TIMER_MS),
    );
    timer.unref();
    timers.add(timer);
  }

  /** A later connection of the client (its note may have been lost, or came before): no will. */
  async #publishUnlessBack(clientId: string, will: Will, since: number): Promise<void> {
    const session = await this.sessions.load(clientId);
    if (session?.connectedAt !== undefined && session.connectedAt > since) return;
    await this.publish(clientId, will);
  }

  close(): void {
    this.#closed = true;
    for (const timers of this.#delayed.values()) for (const timer of timers) clearTimeout(timer);
    this.#delayed.clear();
  }

  #track<T>(write: Promise<T>): Promise<T> {
    this.#writes.add(write);
    const done = (): void => void this.#writes.delete(write);
    write.then(done, done);
    return write;
  }
}
