import { randomBytes } from 'node:crypto';
import {
  InvalidArgumentError,
  type MqttSessionRecord,
  type MqttSessionStore,
  type MqttSubscriptionRecord,
  type RetainedStore,
  type VirtualHost,
} from '@conveyor/core';
import { MqttSession, type Subscription } from './session.js';
import { TOPIC_EXCHANGE, filterToBindingKey, parseFilter } from './topics.js';

/** 0xFFFFFFFF seconds: the session never expires. */
export const NEVER_EXPIRES = 0xffffffff;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Every MQTT session of one virtual host: opening (clean start or resume), subscriptions onto
 * engine queues, shared-subscription membership, expiry, and their persistent records.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, MqttSession>();
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>();
  /** Shared queue → member client ids. */
  readonly #shared = new Map<string, Set<string>>();

  constructor(
    readonly vhost: VirtualHost,
    readonly store: MqttSessionStore,
    readonly retained: RetainedStore,
  ) {}

  get(clientId: string): MqttSession | undefined {
    return this.#sessions.get(clientId);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** After a restart: persistent sessions come back detached, their expiry timers running. */
  async restore(now = Date.now()): Promise<void> {
    for (const record of await this.store.loadAll()) {
      const session = this.#create(record.clientId, record.expiryIntervalSec);
      for (const sub of record.subscriptions) await this.subscribe(session, sub).catch(() => undefined);
      const since = record.disconnectedAt ?? now;
      const left =
        record.expiryIntervalSec === NEVER_EXPIRES
          ? Number.POSITIVE_INFINITY
          : since + record.expiryIntervalSec * 1000 - now;
      if (left <= 0) await this.end(session);
      else this.#scheduleExpiry(session, left);
    }
  }

  #create(clientId: string, expiryIntervalSec: number): MqttSession {
    const holder = `mqtt:${clientId}:${randomBytes(6).toString('base64url')}`;
    const session = new MqttSession(this.vhost, clientId, holder, expiryIntervalSec);
    this.#sessions.set(clientId, session);
    return session;
  }

  /** CONNECT: a fresh session, or the existing one when `cleanStart` is false. The caller attaches it. */
  async open(
    clientId: string,
    cleanStart: boolean,
    expiryIntervalSec: number,
  ): Promise<{ session: MqttSession; present: boolean }> {
    const existing = this.#sessions.get(clientId);
    if (existing) {
      existing.link?.takeover();
      existing.cancelWill();
      await existing.detach();
      this.#cancelExpiry(clientId);
      if (!cleanStart) {
        existing.expiryIntervalSec = expiryIntervalSec;
        return { session: existing, present: true };
      }
      await this.end(existing);
    }
    const session = this.#create(clientId, expiryIntervalSec);
    if (session.persistent) await this.store.put(session.record());
    return { session, present: false };
  }

  /** The connection is gone: a persistent session waits for its client (until it expires), any other ends. */
  async disconnected(session: MqttSession): Promise<void> {
    if (this.#sessions.get(session.clientId) !== session) return;
    await session.detach();
    if (!session.persistent) return this.end(session);
    await this.store.put({ ...session.record(), disconnectedAt: Date.now() });
    if (session.expiryIntervalSec !== NEVER_EXPIRES)
      this.#scheduleExpiry(session, session.expiryIntervalSec * 1000);
  }

  #scheduleExpiry(session: MqttSession, ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.#cancelExpiry(session.clientId);
    const timer = setTimeout(
      () => {
        this.#expiryTimers.delete(session.clientId);
        if (!session.link) this.end(session).catch(() => undefined);
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    timer.unref();
    this.#expiryTimers.set(session.clientId, timer);
  }

  #cancelExpiry(clientId: string): void {
    const timer = this.#expiryTimers.get(clientId);
    if (timer) clearTimeout(timer);
    this.#expiryTimers.delete(clientId);
  }

  /** Ends a session: its subscriptions, queues and record go. */
  async end(session: MqttSession): Promise<void> {
    if (this.#sessions.get(session.clientId) === session) this.#sessions.delete(session.clientId);
    this.#cancelExpiry(session.clientId);
    session.fireWillNow();
    for (const raw of [...session.subscriptions.keys()])
      await this.unsubscribe(session, raw).catch(() => undefined);
    await session.end();
    for (const q of [session.ownQueue(0), session.ownQueue(1)]) {
      if (this.vhost.hasQueue(q))
        await this.vhost.deleteQueue(q, { owner: session.holder }).catch(() => undefined);
    }
    await this.store.delete(session.clientId);
  }

  // ---------------------------------------------------------------- subscriptions

  /** Adds or replaces a subscription; returns the previous one (retain handling 1 needs to know). */
  async subscribe(
    session: MqttSession,
    record: MqttSubscriptionRecord,
  ): Promise<{ sub: Subscription; existed: boolean }> {
    const parsed = parseFilter(record.filter);
    if (!parsed) throw new InvalidArgumentError(`invalid filter ${record.filter}`);
    const queue =
      parsed.group === undefined ? session.ownQueue(record.qos) : sharedQueue(parsed.group, parsed.filter);
    const previous = session.subscriptions.get(record.filter);
    if (previous && previous.queue !== queue) await this.#unbind(session, previous);
    await this.#declare(session, queue, parsed.group !== undefined);
    await this.vhost.bindQueue(queue, TOPIC_EXCHANGE, filterToBindingKey(parsed.filter), {}, session.holder);
    const sub: Subscription = { ...record, parsed, queue };
    if (this.#sessions.get(session.clientId) !== session) {
      // The session ended while this was being set up (the socket went): take it away again, or a
      // shared queue would keep a member that is gone and collect messages for ever.
      await this.#unbind(session, sub).catch(() => undefined);
      if (parsed.group === undefined && this.vhost.hasQueue(queue))
        await this.vhost.deleteQueue(queue, { owner: session.holder }).catch(() => undefined);
      return { sub, existed: previous !== undefined };
    }
    session.subscriptions.set(record.filter, sub);
    if (parsed.group !== undefined) {
      let members = this.#shared.get(queue);
      if (!members) this.#shared.set(queue, (members = new Set()));
      members.add(session.clientId);
      // Autoack (QoS 0) or not is fixed per consumer: a changed QoS needs a new one.
      if (previous && (previous.qos === 0) !== (record.qos === 0)) await session.stopConsumer(queue);
    }
    session.startConsumer(queue);
    if (session.persistent) await this.store.put(session.record());
    return { sub, existed: previous !== undefined };
  }

  async #declare(session: MqttSession, queue: string, shared: boolean): Promise<void> {
    if (this.vhost.hasQueue(queue)) return;
    const options = shared || session.persistent ? { durable: true } : { durable: false, exclusive: true };
    await this.vhost.declareQueue(queue, options, { owner: session.holder });
  }

  /** Returns false when there was no such subscription. */
  async unsubscribe(session: MqttSession, raw: string): Promise<boolean> {
    const sub = session.subscriptions.get(raw);
    if (!sub) return false;
    session.subscriptions.delete(raw);
    await this.#unbind(session, sub);
    if (session.persistent) await this.store.put(session.record());
    return true;
  }

  async #unbind(session: MqttSession, sub: Subscription): Promise<void> {
    if (sub.parsed.group === undefined) {
      if (this.vhost.hasQueue(sub.queue))
        await this.vhost.unbindQueue(
          sub.queue,
          TOPIC_EXCHANGE,
          filterToBindingKey(sub.parsed.filter),
          {},
          session.holder,
        );
      return;
    }
    // A shared queue stays while the group has members; its last member takes it away.
    await session.stopConsumer(sub.queue);
    const members = this.#shared.get(sub.queue);
    members?.delete(session.clientId);
    if (!members || members.size === 0) {
      this.#shared.delete(sub.queue);
      if (this.vhost.hasQueue(sub.queue)) await this.vhost.deleteQueue(sub.queue);
    }
  }

  /** Server close: sessions stop consuming (persistent ones keep their records). */
  async closeAll(): Promise<void> {
    for (const timer of this.#expiryTimers.values()) clearTimeout(timer);
    this.#expiryTimers.clear();
    for (const session of this.#sessions.values()) await session.detach().catch(() => undefined);
  }
}

export function sharedQueue(group: string, filter: string): string {
  return `mqtt-shared-${group}-${filter}`;
}

export type { MqttSessionRecord };
