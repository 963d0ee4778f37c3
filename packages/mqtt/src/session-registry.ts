import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type VirtualHost } from '@conveyor/core';
import {
  type MqttSessionRecord,
  type MqttSessionStore,
  type MqttSubscriptionRecord,
} from './store/session-store.js';
import { type RetainedStore } from './store/retained-store.js';
import { MqttSession, sessionQueue, type Subscription } from './session.js';
import { ShareGroups } from './share-groups.js';
import { TakeoverChannel } from './takeover-channel.js';
import { TOPIC_EXCHANGE, filterToBindingKey, parseFilter } from './topics.js';
import { type ErrorReport, reported } from './background.js';
import type { Qos0Direct } from './qos0-direct.js';

/** 0xFFFFFFFF seconds: the session never expires. */
export const NEVER_EXPIRES = 0xffffffff;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Every MQTT session of one virtual host: opening (clean start or resume), subscriptions onto
 * engine queues, shared-subscription membership, expiry, and their persistent records.
 *
 * Over a shared store (several nodes) a session lives on one node at a time and its record names
 * that node: a client connecting elsewhere takes it over (the old node forgets it and lets go of
 * what it held), a persistent session is loaded from its record on any node, and the sessions of
 * a node that left are expired by the others.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, MqttSession>();
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>();
  /** Shared queue → member client ids. */
  readonly #shared = new Map<string, Set<string>>();
  /** Shared store: expiry of sessions whose node left, taken on by this node. */
  readonly #adopted = new Map<string, NodeJS.Timeout>();
  #adopting: Promise<void> = Promise.resolve();
  readonly #takeover: TakeoverChannel | undefined;
  readonly #groups: ShareGroups | undefined;
  /** Shared store: a client connected on some node (this one included). */
  onClientConnected: (clientId: string) => void = () => undefined;

  constructor(
    readonly vhost: VirtualHost,
    readonly store: MqttSessionStore,
    readonly retained: RetainedStore,
    /** Failures of work nobody waits on (expiry, takeover, clean-up). */
    private readonly report: ErrorReport,
    /** Where connected sessions' QoS 0 copies go past their queues. */
    private readonly direct?: Qos0Direct,
  ) {
    if (vhost.store.cluster === undefined) return;
    this.#takeover = new TakeoverChannel(vhost.store, vhost.vhost, report, (clientId, fromHere) =>
      this.#onTakeoverNote(clientId, fromHere),
    );
    this.#groups = new ShareGroups(vhost.store, vhost.vhost, store);
  }

  get #nodeId(): string | undefined {
    return this.#takeover ? this.vhost.store.cluster?.nodeId : undefined;
  }

  get(clientId: string): MqttSession | undefined {
    return this.#sessions.get(clientId);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * After a restart: persistent sessions come back detached, their expiry timers running. Over a
   * shared store sessions are loaded when their client connects; only the expiry of sessions whose
   * node is gone is taken on here.
   */
  async restore(now = Date.now()): Promise<void> {
    if (this.#takeover) return this.adoptDeparted(now);
    for (const record of await this.store.loadAll()) {
      const session = this.#create(record.clientId, record.expiryIntervalSec);
      for (const sub of record.subscriptions) await reported(this.subscribe(session, sub), this.report);
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
    const incarnation = randomBytes(6).toString('base64url');
    const holder = `mqtt:${clientId}:${incarnation}`;
    const tag = this.#takeover && expiryIntervalSec === 0 ? incarnation : undefined;
    const session = new MqttSession(this.vhost, clientId, holder, expiryIntervalSec, this.report, tag);
    this.#sessions.set(clientId, session);
    this.direct?.add(session);
    return session;
  }

  /** CONNECT: a fresh session, or the existing one when `cleanStart` is false. The caller attaches it. */
  async open(
    clientId: string,
    cleanStart: boolean,
    expiryIntervalSec: number,
  ): Promise<{ session: MqttSession; present: boolean }> {
    const record = this.#takeover ? await this.#claim(clientId) : undefined;
    const existing = this.#sessions.get(clientId);
    if (existing) {
      existing.link?.takeover();
      existing.cancelWill();
      await existing.detach();
      this.#cancelExpiry(clientId);
      if (!cleanStart) {
        existing.expiryIntervalSec = expiryIntervalSec;
        existing.connectedAt = Date.now();
        if (this.#takeover) await this.#put(existing);
        return { session: existing, present: true };
      }
      await this.end(existing);
    } else if (record && record.expiryIntervalSec > 0) {
      if (!cleanStart) return { session: await this.#resume(record, expiryIntervalSec), present: true };
      await this.#endRecorded(record);
    }
    const session = this.#create(clientId, expiryIntervalSec);
    // Shared store: every session has a record (persistent or not), naming the node it lives on.
    if (session.persistent || this.#takeover) await this.#put(session);
    return { session, present: false };
  }

  /**
   * Shared store: tells the other nodes this client connected here and waits (bounded) for the
   * node its record names to let go of a persistent session (a crashed node never answers: the
   * wait runs out). A session that ended with its connection has nothing to hand over: its
   * queues were its own (tagged), so no wait. Returns the record as it is then.
   */
  async #claim(clientId: string): Promise<MqttSessionRecord | undefined> {
    const record = await this.store.load(clientId);
    const node = record !== undefined && record.expiryIntervalSec > 0 ? record.node : undefined;
    const holder =
      node !== undefined && node !== this.#nodeId && (await this.vhost.store.cluster?.liveNodes())?.has(node)
        ? node
        : undefined;
    await this.#takeover?.claim(clientId, holder);
    return holder === undefined ? record : this.store.load(clientId);
  }

  /** Shared store: a persistent session another node had, resumed here from its record. */
  async #resume(record: MqttSessionRecord, expiryIntervalSec: number): Promise<MqttSession> {
    const session = this.#create(record.clientId, expiryIntervalSec);
    for (const sub of record.subscriptions) await reported(this.subscribe(session, sub), this.report);
    await this.#put(session);
    return session;
  }

  /** Shared store: ends a persistent session that is not here (another node's, or a departed one's). */
  async #endRecorded(record: MqttSessionRecord): Promise<void> {
    for (const qos of [0, 1] as const) {
      const queue = sessionQueue(record.clientId, qos);
      if (this.vhost.hasQueue(queue)) await reported(this.vhost.deleteQueue(queue), this.report);
    }
    await this.store.delete(record.clientId);
    for (const sub of record.subscriptions) {
      const parsed = parseFilter(sub.filter);
      if (parsed?.group === undefined) continue;
      const queue = sharedQueue(parsed.group, parsed.filter);
      if ((await this.#groups?.leave(queue, record.clientId, true)) === true && this.vhost.hasQueue(queue))
        await reported(this.vhost.deleteQueue(queue), this.report);
    }
  }

  /** Writes the session's record; over a shared store with its node and connection times. */
  async #put(session: MqttSession, disconnectedAt?: number): Promise<void> {
    const node = this.#nodeId;
    await this.store.put({
      ...session.record(),
      ...(node === undefined ? {} : { node, connectedAt: session.connectedAt }),
      ...(disconnectedAt === undefined ? {} : { disconnectedAt }),
    });
  }

  /**
   * Shared store: the client connected on a node. Elsewhere than here, this node gives up its
   * session: the connection is taken over (as a local takeover), the session forgotten here (not
   * ended: its queues and record are the new node's now) and what it held goes back to its queues.
   */
  async #onTakeoverNote(clientId: string, fromHere: boolean): Promise<void> {
    this.onClientConnected(clientId);
    const adopted = this.#adopted.get(clientId);
    if (adopted) clearTimeout(adopted);
    this.#adopted.delete(clientId);
    if (fromHere) return;
    const session = this.#sessions.get(clientId);
    if (!session) return;
    this.#forget(session);
    this.#cancelExpiry(clientId);
    session.link?.takeover();
    session.cancelWill();
    // Not persistent: nobody can resume it, so it ends here (its exclusive queues go with it).
    if (!session.persistent) return this.#end(session, false);
    await session.detach();
    await reported(this.vhost.releaseHolder(session.holder), this.report);
  }

  /**
   * Shared store: sessions whose node is gone (closed or dead) expire on this node instead;
   * non-persistent ones are over. Several nodes may do this at once: whichever wrote the record
   * last keeps the timer, the others find the record no longer names them.
   */
  adoptDeparted(now?: number): Promise<void> {
    // One pass at a time: node departures come in bursts.
    const pass = this.#adopting.then(() => this.#adoptDeparted(now ?? Date.now()));
    // Its failure is the caller's to report (`pass` is returned); the next pass runs regardless.
    this.#adopting = pass.then(
      () => undefined,
      () => undefined,
    );
    return pass;
  }

  async #adoptDeparted(now: number): Promise<void> {
    const self = this.#nodeId;
    const live = await this.vhost.store.cluster?.liveNodes();
    if (self === undefined || !live) return;
    for (const record of await this.store.loadAll()) {
      const { node, clientId } = record;
      if (node === undefined || node === self || live.has(node) || this.#sessions.has(clientId)) continue;
      if (this.#adopted.has(clientId)) continue;
      if (record.expiryIntervalSec === 0) {
        // Its queues were transient and went with its node.
        if ((await this.store.load(clientId))?.node === node) await this.store.delete(clientId, false);
        continue;
      }
      const disconnectedAt = record.disconnectedAt ?? now;
      await this.store.put({ ...record, node: self, disconnectedAt });
      if (record.expiryIntervalSec === NEVER_EXPIRES) continue;
      const ms = Math.max(0, disconnectedAt + record.expiryIntervalSec * 1000 - now);
      const timer = setTimeout(
        () => {
          this.#adopted.delete(clientId);
          void reported(this.#expireAdopted(clientId, disconnectedAt), this.report);
        },
        Math.min(ms, MAX_TIMER_MS),
      );
      timer.unref();
      this.#adopted.set(clientId, timer);
    }
  }

  async #expireAdopted(clientId: string, disconnectedAt: number): Promise<void> {
    if (this.#sessions.has(clientId)) return;
    const record = await this.store.load(clientId);
    // Resumed or taken on by another node meanwhile: not ours to end.
    if (!record || record.node !== this.#nodeId || record.disconnectedAt !== disconnectedAt) return;
    await this.#endRecorded(record);
  }

  /** The connection is gone: a persistent session waits for its client (until it expires), any other ends. */
  async disconnected(session: MqttSession): Promise<void> {
    if (this.#sessions.get(session.clientId) !== session) return;
    await session.detach();
    if (!session.persistent) return this.end(session);
    if (this.#takeover) await this.#put(session, Date.now());
    else await this.store.put({ ...session.record(), disconnectedAt: Date.now() });
    if (session.expiryIntervalSec !== NEVER_EXPIRES)
      this.#scheduleExpiry(session, session.expiryIntervalSec * 1000);
  }

  #scheduleExpiry(session: MqttSession, ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.#cancelExpiry(session.clientId);
    const timer = setTimeout(
      () => {
        this.#expiryTimers.delete(session.clientId);
        if (!session.link) void reported(this.#expire(session), this.report);
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

  async #expire(session: MqttSession): Promise<void> {
    if (this.#takeover && (await this.store.load(session.clientId))?.node !== this.#nodeId) {
      // Another node has the session now: only this node's copy goes.
      this.#forget(session);
      return;
    }
    await this.end(session);
  }

  /** Ends a session: its subscriptions, queues and record go. */
  end(session: MqttSession): Promise<void> {
    return this.#end(session, true);
  }

  #forget(session: MqttSession): void {
    if (this.#sessions.get(session.clientId) === session) this.#sessions.delete(session.clientId);
    this.direct?.remove(session);
  }

  async #end(session: MqttSession, deleteRecord: boolean): Promise<void> {
    this.#forget(session);
    this.#cancelExpiry(session.clientId);
    session.fireWillNow();
    for (const raw of [...session.subscriptions.keys()])
      await reported(this.unsubscribe(session, raw), this.report);
    await session.end();
    for (const q of [session.ownQueue(0), session.ownQueue(1)]) {
      if (this.vhost.hasQueue(q))
        await reported(this.vhost.deleteQueue(q, { owner: session.holder }), this.report);
    }
    if (deleteRecord) await this.store.delete(session.clientId, session.persistent);
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
    // Shared store: a member before the queue is there, so no other node's last member deletes it.
    if (parsed.group !== undefined) await this.#groups?.join(queue, session.clientId, session.persistent);
    await this.#declare(session, queue, parsed.group !== undefined);
    await this.vhost.bindQueue(queue, TOPIC_EXCHANGE, filterToBindingKey(parsed.filter), {}, session.holder);
    const sub: Subscription = { ...record, parsed, queue };
    if (this.#sessions.get(session.clientId) !== session) {
      // The session ended while this was being set up (the socket went): take it away again, or a
      // shared queue would keep a member that is gone and collect messages for ever.
      await reported(this.#unbind(session, sub), this.report);
      if (parsed.group === undefined && this.vhost.hasQueue(queue))
        await reported(this.vhost.deleteQueue(queue, { owner: session.holder }), this.report);
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
    if (session.persistent) await this.#put(session);
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
    if (session.persistent) await this.#put(session);
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
      // Shared store: members on other nodes keep it.
      const last = this.#groups
        ? await this.#groups.leave(sub.queue, session.clientId, session.persistent)
        : true;
      if (last && this.vhost.hasQueue(sub.queue)) await this.vhost.deleteQueue(sub.queue);
    } else await this.#groups?.leave(sub.queue, session.clientId, session.persistent);
  }

  /** Server close: sessions stop consuming (persistent ones keep their records). */
  async closeAll(): Promise<void> {
    this.#takeover?.close();
    for (const timer of [...this.#expiryTimers.values(), ...this.#adopted.values()]) clearTimeout(timer);
    this.#expiryTimers.clear();
    this.#adopted.clear();
    for (const session of this.#sessions.values()) await reported(session.detach(), this.report);
  }
}

export function sharedQueue(group: string, filter: string): string {
  return `mqtt-shared-${group}-${filter}`;
}

export type { MqttSessionRecord };
