// MQTT over several Conveyor nodes sharing one Redis store (issue #9): takeover, sessions, wills and
// retained messages across nodes. Every node is a Broker + MqttServer in this process over its own
// RedisStore on one prefix; a crash is `store.abandon()` (liveness stops, nothing is released).
import { randomBytes } from 'node:crypto';
import { Broker } from '@conveyor/core';
import { MqttServer } from '@conveyor/mqtt';
import { RedisStore } from '@conveyor/store-redis';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, REDIS_URL, redisUnavailable } from '../../packages/store-redis/test/redis-fixture.js';

const skipReason = await redisUnavailable();
if (skipReason) console.warn(`[scale-out/mqtt-nodes] skipped: ${skipReason}`);

interface Node {
  name: string;
  broker: Broker;
  store: RedisStore;
  server: MqttServer;
  url: string;
  /** Closes normally. */
  stop(): Promise<void>;
  /** As a crash: liveness stops, nothing is released or removed, the sockets drop. */
  crash(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

function collect(client: MqttClient): Received[] {
  const all: Received[] = [];
  client.on('message', (topic, payload, packet) => all.push({ topic, payload: payload.toString(), packet }));
  return all;
}

describe.skipIf(skipReason !== undefined)(`MQTT across Redis nodes ${skipReason ?? ''}`, () => {
  const prefix = `conveyor-test:mqtt-nodes-${randomBytes(4).toString('hex')}:`;
  const nodes: Node[] = [];
  const clients: MqttClient[] = [];
  let tag = '';

  async function startNode(name: string, holderTtlMs = 300): Promise<Node> {
    const store = new RedisStore({ url: REDIS_URL, prefix, holderTtlMs });
    let crashed = false;
    // A crashed node's timers still run against its closed store: that noise is expected.
    const onError = (err: unknown) => {
      if (!crashed) console.error(`[node ${name}]`, err);
    };
    const broker = await Broker.open({ store, onError });
    const server = new MqttServer(broker, { onError });
    const { port } = await server.listen(0);
    const node: Node = {
      name,
      broker,
      store,
      server,
      url: `mqtt://127.0.0.1:${port}`,
      async stop() {
        if (crashed) return;
        crashed = true;
        await server.close();
        await broker.close();
      },
      async crash() {
        crashed = true;
        await store.abandon();
        await server.close().catch(() => undefined);
        await broker.close().catch(() => undefined);
      },
    };
    nodes.push(node);
    return node;
  }

  async function connect(node: Node, options: IClientOptions): Promise<MqttClient> {
    const client = await mqtt.connectAsync(node.url, {
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...options,
    });
    clients.push(client);
    return client;
  }

  function closed(client: MqttClient): Promise<void> {
    return new Promise((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));
  }

  const beforeEachTest = () => (tag = randomBytes(4).toString('hex'));

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    for (const n of nodes.splice(0)) await n.stop().catch(() => undefined);
  });

  afterAll(async () => {
    await deletePrefix(prefix);
  });

  // Over a shared store a clean session, its queues and their bindings are recorded for the other
  // nodes, but they end with their node: with `wait` set, none of those writes waits for a replica.
  it('a clean session’s records are transient (they need not reach a replica); a persistent session’s record and group membership are durable', async () => {
    beforeEachTest();
    const a = await startNode('a');
    const writes: [string, string, boolean | undefined][] = [];
    const { putMeta, deleteMeta } = a.store;
    a.store.putMeta = (key, value, options) => {
      writes.push(['put', key, options?.durable]);
      return putMeta.call(a.store, key, value, options);
    };
    a.store.deleteMeta = (key, options) => {
      writes.push(['delete', key, options?.durable]);
      return deleteMeta.call(a.store, key, options);
    };
    const clean = await connect(a, { clientId: `clean-${tag}`, clean: true });
    await clean.subscribeAsync(`t/${tag}/#`, { qos: 1 });
    await clean.unsubscribeAsync(`t/${tag}/#`);
    await clean.subscribeAsync(`u/${tag}`, { qos: 1 });
    await clean.subscribeAsync(`$share/g${tag}/s/${tag}`, { qos: 1 }); // a group membership too
    await clean.endAsync();
    const ofClean = () => writes.filter(([, key]) => key.includes(`clean-${tag}`));
    await eventually(
      () => ofClean().some(([op, key]) => op === 'delete' && key.startsWith('mqtt-session/')),
      'the clean session’s record to go',
    );
    // Its session record, its queue's record, its bindings' and its membership, each written and removed.
    expect(ofClean().filter(([op]) => op === 'put').length).toBeGreaterThanOrEqual(4);
    expect(ofClean().filter(([op]) => op === 'delete').length).toBeGreaterThanOrEqual(4);
    expect(ofClean().filter(([, key]) => key.startsWith('mqtt-share/')).length).toBe(2);
    expect(ofClean().filter(([, , durable]) => durable !== false)).toEqual([]);

    const kept = await connect(a, { clientId: `kept-${tag}`, clean: false });
    await kept.subscribeAsync(`t/${tag}`, { qos: 1 });
    await kept.subscribeAsync(`$share/g${tag}/s/${tag}`, { qos: 1 });
    const ofKept = writes.filter(
      ([op, key]) => op === 'put' && /^mqtt-(session|share)\//.test(key) && key.includes(`kept-${tag}`),
    );
    expect(ofKept.filter(([, key]) => key.startsWith('mqtt-share/')).length).toBe(1);
    expect(ofKept.length).toBeGreaterThan(1);
    expect(ofKept.filter(([, , durable]) => durable !== true)).toEqual([]);
  });

  it('MQTT 5 takeover: the same client id on node B disconnects node A’s connection with 0x8E and publishes its will once', async () => {
    beforeEachTest();
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    const watcher = await connect(c, { clientId: `watch-${tag}`, protocolVersion: 5 });
    await watcher.subscribeAsync(`will/${tag}`, { qos: 1 });
    const wills = collect(watcher);
    const clientId = `dev-${tag}`;
    const first = await connect(a, {
      clientId,
      protocolVersion: 5,
      will: { topic: `will/${tag}`, payload: Buffer.from('first gone'), qos: 1, retain: false },
    });
    const reason = new Promise<number | undefined>((resolve) =>
      first.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const second = await connect(b, { clientId, protocolVersion: 5 });
    expect(await reason).toBe(0x8e);
    await closed(first);
    expect(second.connected).toBe(true);
    await eventually(() => a.server.connectionCount === 0, 'node A to drop the old connection');
    await eventually(() => wills.length >= 1, 'the will of the taken-over connection');
    await sleep(700); // a crash sweep would find nothing: the will was published and removed on A
    expect(wills.map((w) => w.payload)).toEqual(['first gone']);
  });

  it('QoS 0 across nodes: a subscriber on node A gets node B’s publishes through its queue and node A’s own straight from the publish, each in order', async () => {
    beforeEachTest();
    const [a, b] = [await startNode('a'), await startNode('b')];
    const sub = await connect(a, { clientId: `sub-${tag}`, protocolVersion: 5 });
    await sub.subscribeAsync(`q0/${tag}/#`, { qos: 0 });
    const got = collect(sub);
    const onA = await connect(a, { clientId: `pa-${tag}`, protocolVersion: 5 });
    const onB = await connect(b, { clientId: `pb-${tag}`, protocolVersion: 5 });
    // Node B learns A's binding from the shared topology.
    await eventually(async () => {
      await onB.publishAsync(`q0/${tag}/probe`, 'probe', { qos: 1 });
      return got.some((m) => m.payload === 'probe');
    }, 'node B routing to node A’s subscriber');
    const N = 300;
    for (let i = 0; i < N; i++) {
      onA.publish(`q0/${tag}/a`, `a${i}`, { qos: 0 });
      onB.publish(`q0/${tag}/b`, `b${i}`, { qos: 0 });
    }
    const fromA = () => got.filter((m) => m.topic.endsWith('/a')).map((m) => m.payload);
    const fromB = () => got.filter((m) => m.topic.endsWith('/b')).map((m) => m.payload);
    await eventually(() => fromA().length === N && fromB().length === N, 'every QoS 0 message', 10_000);
    expect(fromA()).toEqual(Array.from({ length: N }, (_, i) => `a${i}`));
    expect(fromB()).toEqual(Array.from({ length: N }, (_, i) => `b${i}`));
    expect(a.server.qos0Dropped).toBe(0);
  });

  it('MQTT 3.1.1 takeover: the same client id on node B closes node A’s connection; B’s session gets the messages', async () => {
    beforeEachTest();
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    const clientId = `dev-${tag}`;
    const first = await connect(a, { clientId, protocolVersion: 4 });
    await first.subscribeAsync(`t/${tag}`, { qos: 1 });
    const firstGot = collect(first);
    const second = await connect(b, { clientId, protocolVersion: 4 });
    await closed(first);
    await second.subscribeAsync(`t/${tag}`, { qos: 1 });
    const got = collect(second);
    const publisher = await connect(c, { clientId: `pub-${tag}`, protocolVersion: 4 });
    await publisher.publishAsync(`t/${tag}`, 'hello', { qos: 1 });
    await eventually(() => got.length === 1, 'the publish on node B');
    expect(got[0]!.payload).toBe('hello');
    expect(firstGot).toEqual([]);
    await eventually(() => a.server.connectionCount === 0, 'node A to drop the old connection');
  });

  it('a persistent session resumes on node B with what was queued while away and what node A had in flight (DUP)', async () => {
    beforeEachTest();
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    const clientId = `sess-${tag}`;
    const options: IClientOptions = {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    };
    // On node A the client takes one message and never acknowledges it.
    const unacked: string[] = [];
    const away = await connect(a, {
      ...options,
      customHandleAcks: (_topic, message) => void unacked.push(message.toString()),
    });
    await away.subscribeAsync(`s/${tag}`, { qos: 1 });
    const publisher = await connect(c, { clientId: `pub-${tag}`, protocolVersion: 5 });
    await publisher.publishAsync(`s/${tag}`, 'in flight', { qos: 1 });
    await eventually(() => unacked.length === 1, 'the first delivery on node A');
    await away.endAsync(true);
    await eventually(() => a.server.connectionCount === 0, 'node A to see the client go');
    await publisher.publishAsync(`s/${tag}`, 'while away', { qos: 1 });

    const back = mqtt.connect(b.url, { ...options, reconnectPeriod: 0, manualConnect: true });
    clients.push(back);
    const got = collect(back);
    const connack = new Promise<boolean>((resolve) => back.once('connect', (p) => resolve(p.sessionPresent)));
    back.connect();
    expect(await connack).toBe(true);
    await eventually(() => got.length >= 2, 'both messages on node B');
    const byPayload = new Map(got.map((r) => [r.payload, r.packet]));
    expect([...byPayload.keys()].sort()).toEqual(['in flight', 'while away']);
    expect(byPayload.get('in flight')!.dup).toBe(true);
    expect(byPayload.get('while away')!.dup).toBe(false);
    await sleep(300);
    expect(got).toHaveLength(2);
  });

  it('takeover of a connected persistent session: what node A had in flight comes to node B, DUP', async () => {
    beforeEachTest();
    const [a, b] = [await startNode('a'), await startNode('b')];
    const clientId = `sess-${tag}`;
    const options: IClientOptions = {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    };
    const unacked: string[] = [];
    const first = await connect(a, {
      ...options,
      customHandleAcks: (_topic, message) => void unacked.push(message.toString()),
    });
    await first.subscribeAsync(`s/${tag}`, { qos: 1 });
    const publisher = await connect(b, { clientId: `pub-${tag}`, protocolVersion: 5 });
    await publisher.publishAsync(`s/${tag}`, 'held by A', { qos: 1 });
    await eventually(() => unacked.length === 1, 'the delivery on node A');

    const second = mqtt.connect(b.url, { ...options, reconnectPeriod: 0, manualConnect: true });
    clients.push(second);
    const got = collect(second);
    const connack = new Promise<boolean>((resolve) =>
      second.once('connect', (p) => resolve(p.sessionPresent)),
    );
    second.connect();
    expect(await connack).toBe(true);
    await closed(first);
    await eventually(() => got.length >= 1, 'the redelivery on node B');
    expect(got.map((r) => [r.payload, r.packet.dup])).toEqual([['held by A', true]]);
  });

  it('a persistent session of a crashed node resumes on node B; what the dead node held comes back, DUP', async () => {
    beforeEachTest();
    const [doomed, b] = [await startNode('doomed'), await startNode('b')];
    const clientId = `sess-${tag}`;
    const options: IClientOptions = {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    };
    const unacked: string[] = [];
    const first = await connect(doomed, {
      ...options,
      customHandleAcks: (_topic, message) => void unacked.push(message.toString()),
    });
    await first.subscribeAsync(`s/${tag}`, { qos: 1 });
    const publisher = await connect(b, { clientId: `pub-${tag}`, protocolVersion: 5 });
    await publisher.publishAsync(`s/${tag}`, 'held by the dead', { qos: 1 });
    await eventually(() => unacked.length === 1, 'the delivery on the doomed node');
    await doomed.crash();
    // At once: the dead node may still look live, and never answers the takeover note.
    const back = mqtt.connect(b.url, { ...options, reconnectPeriod: 0, manualConnect: true });
    clients.push(back);
    const got = collect(back);
    const connack = new Promise<boolean>((resolve) => back.once('connect', (p) => resolve(p.sessionPresent)));
    back.connect();
    expect(await connack).toBe(true);
    await eventually(() => got.length >= 1, 'the redelivery on node B', 8_000);
    expect(got.map((r) => [r.payload, r.packet.dup])).toEqual([['held by the dead', true]]);
  });

  it('clean start on node B ends the persistent session made on node A (queues and record)', async () => {
    beforeEachTest();
    const [a, b] = [await startNode('a'), await startNode('b')];
    const clientId = `sess-${tag}`;
    const queue = `mqtt-subscription-${clientId}qos1`;
    const first = await connect(a, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await first.subscribeAsync(`s/${tag}`, { qos: 1 });
    await eventually(() => b.broker.vhost('/').hasQueue(queue), 'node B to see the session queue');
    await first.endAsync();

    const fresh = mqtt.connect(b.url, {
      clientId,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
      manualConnect: true,
    });
    clients.push(fresh);
    const got = collect(fresh);
    const connack = new Promise<boolean>((resolve) =>
      fresh.once('connect', (p) => resolve(p.sessionPresent)),
    );
    fresh.connect();
    expect(await connack).toBe(false);
    for (const node of [a, b])
      await eventually(() => !node.broker.vhost('/').hasQueue(queue), `the queue to go on node ${node.name}`);
    // Only the new, clean session's record is left (it names node B).
    const records = await b.store.loadMeta(`mqtt-session/%2F/${clientId}`);
    expect(records.map((r) => r.value)).toMatchObject([
      { clientId, expiryIntervalSec: 0, node: b.store.nodeId },
    ]);
    const publisher = await connect(a, { clientId: `pub-${tag}`, protocolVersion: 5 });
    await publisher.publishAsync(`s/${tag}`, 'nobody subscribed', { qos: 1 });
    await sleep(300);
    expect(got).toEqual([]);
  });

  it('a clean-session device whose node crashed reconnects to node B and subscribes at once (no wait for the dead node to lapse)', async () => {
    beforeEachTest();
    // A long liveness TTL: node A counts as alive for the whole test after it crashes.
    const a = await startNode('a', 20_000);
    const [b, c] = [await startNode('b'), await startNode('c')];
    const clientId = `device-${tag}`;
    const first = await connect(a, { clientId, protocolVersion: 4, clean: true });
    await first.subscribeAsync(`cmd/${tag}`, { qos: 1 });
    await a.crash();
    await closed(first);
    const started = Date.now();
    const again = await connect(b, { clientId, protocolVersion: 4, clean: true });
    const granted = await again.subscribeAsync(`cmd/${tag}`, { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    expect(Date.now() - started).toBeLessThan(1_500);
    const got = collect(again);
    const publisher = await connect(c, { clientId: `pub-${tag}`, protocolVersion: 4 });
    await publisher.publishAsync(`cmd/${tag}`, 'reboot', { qos: 1 });
    await eventually(() => got.length === 1, 'the command on node B');
    expect(got[0]!.payload).toBe('reboot');
  });

  it('a will is published exactly once when its node dies, with two nodes surviving', async () => {
    beforeEachTest();
    const [a, b, doomed] = [await startNode('a'), await startNode('b'), await startNode('doomed')];
    const watchers = [
      await connect(a, { clientId: `wa-${tag}` }),
      await connect(b, { clientId: `wb-${tag}` }),
    ];
    const seen = watchers.map((w) => collect(w));
    for (const w of watchers) await w.subscribeAsync(`will/${tag}`, { qos: 1 });
    for (const version of [4, 5] as const) {
      await connect(doomed, {
        clientId: `dying-${version}-${tag}`,
        protocolVersion: version,
        will: { topic: `will/${tag}`, payload: Buffer.from(`gone ${version}`), qos: 1, retain: false },
      });
    }
    await doomed.crash();
    for (const got of seen) await eventually(() => got.length >= 2, 'both wills on every watcher', 8_000);
    await sleep(800); // a second publication would arrive by now
    for (const got of seen) expect(got.map((r) => r.payload).sort()).toEqual(['gone 4', 'gone 5']);
    expect((await a.store.loadMeta('mqtt-will/')).filter((e) => e.key.includes(tag))).toEqual([]);
  });

  it('a will with a delay is published after its delay when its node dies, unless the client came back', async () => {
    beforeEachTest();
    const [a, b, doomed] = [await startNode('a'), await startNode('b'), await startNode('doomed')];
    const watcher = await connect(a, { clientId: `w-${tag}`, protocolVersion: 5 });
    await watcher.subscribeAsync(`will/${tag}/#`, { qos: 1 });
    const got = collect(watcher);
    const withDelay = (name: string): IClientOptions => ({
      clientId: `${name}-${tag}`,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: {
        topic: `will/${tag}/${name}`,
        payload: Buffer.from(name),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 2 },
      },
    });
    await connect(doomed, withDelay('stays-away'));
    await connect(doomed, withDelay('comes-back'));
    const crashedAt = Date.now();
    await doomed.crash();
    // The second client reconnects on node B within the delay: its will is not published.
    await connect(b, { ...withDelay('comes-back'), will: undefined });
    await eventually(() => got.length >= 1, 'the delayed will', 8_000);
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(2_000);
    await sleep(1_500);
    expect(got.map((r) => r.payload)).toEqual(['stays-away']);
  });

  it('sessions left on a dead node expire on the surviving nodes', async () => {
    beforeEachTest();
    const [a, doomed] = [await startNode('a'), await startNode('doomed')];
    const clientId = `exp-${tag}`;
    const queue = `mqtt-subscription-${clientId}qos1`;
    const client = await connect(doomed, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    await client.subscribeAsync(`x/${tag}`, { qos: 1 });
    await eventually(() => a.broker.vhost('/').hasQueue(queue), 'node A to see the session queue');
    await doomed.crash();
    await eventually(
      async () =>
        !a.broker.vhost('/').hasQueue(queue) &&
        (await a.store.loadMeta(`mqtt-session/%2F/${clientId}`)).length === 0,
      'the session to expire on node A',
      8_000,
    );
  });

  it('$share members on two nodes compete; the last member on one node leaving keeps the queue for the other', async () => {
    beforeEachTest();
    const [a, b] = [await startNode('a'), await startNode('b')];
    const filter = `$share/g${tag}/jobs/${tag}`;
    const queue = `mqtt-shared-g${tag}-jobs/${tag}`;
    const onA = await connect(a, { clientId: `ma-${tag}`, protocolVersion: 5 });
    const onB = await connect(b, { clientId: `mb-${tag}`, protocolVersion: 5 });
    const [gotA, gotB] = [collect(onA), collect(onB)];
    await onA.subscribeAsync(filter, { qos: 1 });
    await onB.subscribeAsync(filter, { qos: 1 });
    const publisher = await connect(a, { clientId: `pub-${tag}`, protocolVersion: 5 });
    for (let i = 0; i < 20; i++) await publisher.publishAsync(`jobs/${tag}`, `job ${i}`, { qos: 1 });
    await eventually(() => gotA.length + gotB.length === 20, 'every job once');
    expect([...gotA, ...gotB].map((r) => r.payload).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `job ${i}`).sort(),
    );

    await onA.unsubscribeAsync(filter);
    await sleep(100);
    expect(b.broker.vhost('/').hasQueue(queue)).toBe(true);
    await publisher.publishAsync(`jobs/${tag}`, 'after A left', { qos: 1 });
    await eventually(() => gotB.some((r) => r.payload === 'after A left'), 'the job on node B');

    await onB.unsubscribeAsync(filter);
    for (const node of [a, b])
      await eventually(
        () => !node.broker.vhost('/').hasQueue(queue),
        `the group queue to go on node ${node.name}`,
      );
  });

  it('a retained message set on node A reaches a new subscriber on node B; clearing it on A clears it on B', async () => {
    beforeEachTest();
    const [a, b] = [await startNode('a'), await startNode('b')];
    const publisher = await connect(a, { clientId: `pub-${tag}`, protocolVersion: 5 });
    await publisher.publishAsync(`r/${tag}`, 'kept', { qos: 1, retain: true });
    await sleep(100); // the change note reaches node B
    const first = await connect(b, { clientId: `s1-${tag}`, protocolVersion: 5 });
    const got = collect(first);
    await first.subscribeAsync(`r/${tag}`, { qos: 1 });
    await eventually(() => got.length === 1, 'the retained message on node B');
    expect([got[0]!.payload, got[0]!.packet.retain]).toEqual(['kept', true]);

    await publisher.publishAsync(`r/${tag}`, '', { qos: 1, retain: true });
    await sleep(100);
    const second = await connect(b, { clientId: `s2-${tag}`, protocolVersion: 5 });
    const none = collect(second);
    await second.subscribeAsync(`r/${tag}`, { qos: 1 });
    await sleep(300);
    expect(none).toEqual([]);
  });
});

describe('MQTT over a node-local store keeps nothing for other nodes', () => {
  it('memory store: takeover, resume and wills stay local; no will or clean-session records', async () => {
    const broker = await Broker.open();
    const server = new MqttServer(broker);
    const { port } = await server.listen(0);
    const url = `mqtt://127.0.0.1:${port}`;
    const tag = randomBytes(4).toString('hex');
    const opened: MqttClient[] = [];
    const open = async (options: IClientOptions) => {
      const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
      opened.push(c);
      return c;
    };
    try {
      expect(broker.store.cluster).toBeUndefined();
      const watcher = await open({ clientId: `w-${tag}`, protocolVersion: 5 });
      await watcher.subscribeAsync(`will/${tag}`, { qos: 1 });
      const wills = collect(watcher);
      const options: IClientOptions = {
        clientId: `dev-${tag}`,
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      };
      const first = await open({
        ...options,
        will: { topic: `will/${tag}`, payload: Buffer.from('bye'), qos: 1, retain: false },
      });
      await first.subscribeAsync(`s/${tag}`, { qos: 1 });
      const clean = await open({ clientId: `clean-${tag}`, protocolVersion: 5 });
      expect(await broker.store.loadMeta('mqtt-will/')).toEqual([]);
      const records = await broker.store.loadMeta('mqtt-session/');
      expect(records.map((r) => (r.value as { clientId: string }).clientId)).toEqual([`dev-${tag}`]);
      expect(records[0]!.value).not.toHaveProperty('node');

      const reason = new Promise<number | undefined>((resolve) =>
        first.once('disconnect', (p) => resolve(p.reasonCode)),
      );
      const second = mqtt.connect(url, { ...options, reconnectPeriod: 0, manualConnect: true });
      opened.push(second);
      const present = new Promise<boolean>((resolve) =>
        second.once('connect', (p) => resolve(p.sessionPresent)),
      );
      second.connect();
      expect(await present).toBe(true);
      expect(await reason).toBe(0x8e);
      await eventually(() => wills.length === 1, 'the will of the taken-over connection');
      const got = collect(second);
      await clean.publishAsync(`s/${tag}`, 'resumed', { qos: 1 });
      await eventually(() => got.length === 1, 'the message to the resumed session');
      expect(got[0]!.packet.dup).toBe(false);
    } finally {
      for (const c of opened) await c.endAsync(true).catch(() => undefined);
      await server.close();
      await broker.close();
    }
  });
});
