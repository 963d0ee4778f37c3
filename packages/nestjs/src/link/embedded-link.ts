import {
  Broker,
  deadLetterToQueue,
  InvalidArgumentError,
  type MessageStore,
  Requester,
  type Delivery,
  type QueueOptions,
  type VirtualHost,
} from '@conveyor/core';
import type {
  ConsumeSetup,
  InboundMessage,
  MessageLink,
  OutboundMessage,
  PeekedInfo,
  QueueCount,
  QueueSetup,
  ReceiveSetup,
  RequestSetup,
  Subscription,
} from './link.js';

/** The engine inside the app when it names none, or names a store: one per store per process. */
const engines = new Map<MessageStore | string | undefined, { broker: Promise<Broker>; users: number }>();

/** One engine per process and store, so a server and a client in the app meet. */
async function acquireBroker(store: MessageStore | string | undefined): Promise<Broker> {
  let engine = engines.get(store);
  if (!engine) {
    engine = { broker: openEngine(store), users: 0 };
    engines.set(store, engine);
    engine.broker.catch(() => engines.delete(store));
  }
  engine.users++;
  return engine.broker;
}

async function openEngine(store: MessageStore | string | undefined): Promise<Broker> {
  if (typeof store !== 'string') return Broker.open(store === undefined ? {} : { store });
  if (!/^rediss?(\+cluster)?:\/\//.test(store))
    throw new InvalidArgumentError(
      `store ${store}: only redis://, rediss:// and redis+cluster://h1:p1,h2:p2 shared stores are supported`,
    );
  // The same URL form as `conveyor start --store` (`?prefix=`, `?holderTtlMs=`).
  const { RedisStore } = await import('@conveyor/store-redis');
  return Broker.open({ store: new RedisStore({ url: store }) });
}

async function releaseBroker(store: MessageStore | string | undefined): Promise<void> {
  const engine = engines.get(store);
  if (!engine) return;
  engine.users--;
  if (engine.users > 0) return;
  engines.delete(store);
  await (await engine.broker).close();
}

/** The engine inside the app: every operation, nothing on the network. */
export class EmbeddedLink implements MessageLink {
  readonly mode = 'embedded' as const;
  #requester: Promise<Requester> | undefined;
  #closed = false;

  private constructor(
    private readonly broker: Broker,
    private readonly vhost: VirtualHost,
    /** The engine is the process's one for this store (released on close), not the app's own. */
    private readonly acquired: { store: MessageStore | string | undefined } | undefined,
  ) {}

  /** On the app's `broker`, else on the process's engine for `store` (default: in memory). */
  static async open(broker?: Broker, vhost = '/', store?: MessageStore | string): Promise<EmbeddedLink> {
    if (broker) return new EmbeddedLink(broker, broker.vhost(vhost), undefined);
    const engine = await acquireBroker(store);
    return new EmbeddedLink(engine, engine.vhost(vhost), { store });
  }

  get connected(): boolean {
    return !this.#closed && !this.broker.closed;
  }

  async setupQueue(queue: string, setup: QueueSetup): Promise<void> {
    if (setup.keepExisting && this.vhost.hasQueue(queue)) return;
    if (setup.deadLetterQueue !== undefined)
      await this.vhost.declareQueue(setup.deadLetterQueue, { durable: setup.durable ?? true });
    await this.vhost.declareQueue(queue, queueOptions(setup));
  }

  async setupSubscription(topic: string, queue: string, setup: QueueSetup): Promise<string> {
    if (setup.deadLetterQueue !== undefined)
      await this.vhost.declareQueue(setup.deadLetterQueue, { durable: setup.durable ?? true });
    return this.vhost.subscribe(topic, { name: queue, queue: queueOptions(setup) });
  }

  async consume(
    queue: string,
    setup: ConsumeSetup,
    handler: (m: InboundMessage) => void,
  ): Promise<Subscription> {
    if (setup.leaseMs !== undefined) return this.#pull(queue, setup.leaseMs, setup.prefetch, handler);
    const handle = this.vhost.consume(queue, (d) => handler(this.#inbound(d)), { prefetch: setup.prefetch });
    return { stop: () => handle.cancel({ release: false }) };
  }

  /** Pull with leases: at most `prefetch` held at once, waiting up to a second per receive. */
  #pull(
    queue: string,
    leaseMs: number,
    prefetch: number,
    handler: (m: InboundMessage) => void,
  ): Subscription {
    let active = true;
    let held = 0;
    let wake: (() => void) | undefined;
    const loop = async (): Promise<void> => {
      while (active && this.connected) {
        if (held >= prefetch) {
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        const batch = await this.vhost.receive(queue, { max: prefetch - held, waitMs: 1_000, leaseMs });
        for (const d of batch) {
          if (!active) {
            await this.vhost.nack(d);
            continue;
          }
          held++;
          const inbound = this.#inbound(d, () => {
            held--;
            wake?.();
          });
          handler(inbound);
        }
      }
    };
    const running = loop().catch(() => undefined);
    return {
      stop: async () => {
        active = false;
        wake?.();
        await running;
      },
    };
  }

  #inbound(d: Delivery, settled?: () => void): InboundMessage {
    const vhost = this.vhost;
    const done = <T>(p: Promise<T>): Promise<T> => p.finally(() => settled?.());
    return {
      queue: d.queue,
      id: d.id,
      body: Buffer.from(d.message.body),
      properties: d.message.properties,
      headers: d.message.properties.headers ?? {},
      deliveryCount: d.deliveryCount,
      ack: () => done(vhost.ack(d)),
      nack: (options = {}) =>
        done(vhost.nack(d, options.delayMs === undefined ? {} : { delayMs: options.delayMs })),
      deadLetter: (reason) => done(vhost.deadLetter(d, reason)),
      renewLease: (leaseMs) => vhost.renew(d, leaseMs),
    };
  }

  async sendToQueue(queue: string, message: OutboundMessage): Promise<void> {
    await this.vhost.send(queue, message);
  }

  async publishTopic(topic: string, message: OutboundMessage): Promise<void> {
    await this.vhost.publish('amq.topic', topic, message);
  }

  async request(queue: string, message: OutboundMessage, setup: RequestSetup): Promise<InboundMessage> {
    this.#requester ??= Requester.create(this.vhost);
    const requester = await this.#requester;
    const reply = await requester.request(queue, message, {
      timeoutMs: setup.timeoutMs,
      retries: setup.retries,
      ...(setup.correlationId === undefined ? {} : { correlationId: setup.correlationId }),
    });
    return this.#inbound(reply);
  }

  async reply(replyTo: string, message: OutboundMessage): Promise<void> {
    await this.vhost.publish('', replyTo, message);
  }

  async count(queue: string): Promise<QueueCount> {
    const stats = await this.vhost.count(queue);
    return {
      ready: stats.ready,
      inFlight: stats.inFlight,
      delayed: stats.delayed,
      consumers: stats.consumers,
    };
  }

  async peek(queue: string, max: number): Promise<PeekedInfo[]> {
    const peeked = await this.vhost.peek(queue, max);
    return peeked.map((p) => ({
      id: p.id,
      body: Buffer.from(p.message.body),
      properties: p.message.properties,
      deliveryCount: p.deliveryCount,
      state: p.state,
    }));
  }

  async take(queue: string, id: string, leaseMs?: number): Promise<InboundMessage> {
    return this.#inbound(await this.vhost.take(queue, id, leaseMs === undefined ? {} : { leaseMs }));
  }

  async receive(queue: string, setup: ReceiveSetup): Promise<InboundMessage[]> {
    const deliveries = await this.vhost.receive(queue, {
      max: setup.max,
      waitMs: setup.waitMs,
      ...(setup.leaseMs === undefined ? {} : { leaseMs: setup.leaseMs }),
    });
    return deliveries.map((d) => this.#inbound(d));
  }

  onError(): void {
    // The engine runs in this process: nothing to lose a connection to.
  }

  unwrap(): Broker {
    return this.broker;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const requester = this.#requester;
    this.#requester = undefined;
    if (requester && !this.broker.closed) await (await requester).close().catch(() => undefined);
    if (this.acquired) await releaseBroker(this.acquired.store);
  }
}

function queueOptions(setup: QueueSetup): QueueOptions {
  return {
    durable: setup.durable ?? true,
    exclusive: false,
    autoDelete: setup.autoDelete ?? false,
    ...(setup.deadLetterQueue === undefined ? {} : { deadLetter: deadLetterToQueue(setup.deadLetterQueue) }),
    ...(setup.maxDeliveries === undefined ? {} : { maxDeliveries: setup.maxDeliveries }),
  };
}
