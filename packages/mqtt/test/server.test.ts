import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import mqtt from 'mqtt';
import { collect, connect, sleep, startConveyor, uid } from './helpers.js';
import { RawClient } from './raw-client.js';

/** Conveyor-only behaviour: what mqtt.js hides (packet ids, DUP, flow control) is checked with a raw client. */
describe('MqttServer', () => {
  let target: Awaited<ReturnType<typeof startConveyor>>;
  beforeAll(async () => {
    target = await startConveyor({
      maxPacketBytes: 4096,
      keepAliveMaxSeconds: 60,
      // With users configured, anonymous clients are refused unless a user is named for them.
      anonymousUser: 'guest',
      users: [
        { username: 'guest', password: 'guest', loopbackOnly: true },
        { username: 'alice', password: 'secret' },
        { username: 'remote', password: 'pw', loopbackOnly: false },
      ],
    });
  });
  afterAll(() => target.close());

  test('[MQTT-3.3.4-9] Receive Maximum: no more unacknowledged QoS 1 publishes than the client allows', async () => {
    const sub = await RawClient.open(target.port);
    await sub.connect(uid(), { properties: { receiveMaximum: 2 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/x', qos: 1 }] });
    await sub.next('suback');
    const pub = await connect(target.url, { protocolVersion: 5 });
    for (let i = 0; i < 5; i++) await pub.publishAsync('rm/x', `${i}`, { qos: 1 });
    await sleep(150);
    const first = sub.packets.filter((p) => p.cmd === 'publish');
    expect(first).toHaveLength(2);
    sub.send({ cmd: 'puback', messageId: first[0]!.messageId! });
    await sleep(100);
    expect(sub.packets.filter((p) => p.cmd === 'publish')).toHaveLength(3);
    pub.end();
    sub.close();
  });

  test("[MQTT-3.3.2.3.4] outgoing topic aliases up to the client's Topic Alias Maximum; none for a client that allows none", async () => {
    const sub = await RawClient.open(target.port);
    await sub.connect(uid(), { properties: { topicAliasMaximum: 1 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ta/#', qos: 0 }] });
    await sub.next('suback');
    const plain = await connect(target.url, { protocolVersion: 5 });
    await plain.subscribeAsync('ta/#', { qos: 0 });
    const plainGot = collect(plain);
    // mqtt.js with a Topic Alias Maximum resolves our aliases back to the names.
    const aliasing = await connect(target.url, { protocolVersion: 5, properties: { topicAliasMaximum: 5 } });
    await aliasing.subscribeAsync('ta/#', { qos: 0 });
    const aliasingGot = collect(aliasing);
    const pub = await connect(target.url, { protocolVersion: 5 });
    for (const topic of ['ta/a', 'ta/a', 'ta/b', 'ta/a', 'ta/b'])
      await pub.publishAsync(topic, topic, { qos: 0 });
    await sleep(150);
    const sent = sub.packets
      .filter((p) => p.cmd === 'publish')
      .map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()]);
    expect(sent).toEqual([
      ['ta/a', 1, 'ta/a'], // first time: name and alias
      ['', 1, 'ta/a'], // then the alias alone
      ['ta/b', undefined, 'ta/b'], // the only alias is taken
      ['', 1, 'ta/a'],
      ['ta/b', undefined, 'ta/b'],
    ]);
    // mqtt.js announces no Topic Alias Maximum: names only, and the topics arrive as sent.
    expect(plainGot.all.map((m) => [m.topic, m.packet.properties?.topicAlias])).toEqual(
      ['ta/a', 'ta/a', 'ta/b', 'ta/a', 'ta/b'].map((t) => [t, undefined]),
    );
    expect(aliasingGot.all.map((m) => m.topic)).toEqual(['ta/a', 'ta/a', 'ta/b', 'ta/a', 'ta/b']);
    expect(aliasingGot.all.map((m) => m.packet.properties?.topicAlias)).toEqual([1, 1, 2, 1, 2]);
    pub.end();
    plain.end();
    aliasing.end();
    sub.close();
  });

  test('[MQTT-4.4.0-1] a persistent session resends unacknowledged publishes with their packet ids and DUP; after PUBREC only PUBREL', async () => {
    const clientId = uid();
    const opts = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await RawClient.open(target.port);
    await first.connect(clientId, opts);
    first.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'rs/1', qos: 1 },
        { topic: 'rs/2', qos: 2 },
      ],
    });
    await first.next('suback');
    const pub = await connect(target.url, { protocolVersion: 5 });
    await pub.publishAsync('rs/1', 'one', { qos: 1 });
    await pub.publishAsync('rs/2', 'two', { qos: 2 });
    const p1 = await first.next('publish');
    const p2 = await first.next('publish');
    const qos2 = [p1, p2].find((p) => p.qos === 2)!;
    const qos1 = [p1, p2].find((p) => p.qos === 1)!;
    first.send({ cmd: 'pubrec', messageId: qos2.messageId! });
    await first.next('pubrel');
    first.close();
    await sleep(100);

    const second = await RawClient.open(target.port);
    const connack = await second.connect(clientId, opts);
    expect(connack.sessionPresent).toBe(true);
    const again = await second.next('publish');
    expect(again).toMatchObject({ messageId: qos1.messageId, dup: true, topic: 'rs/1' });
    const rel = await second.next('pubrel');
    expect(rel.messageId).toBe(qos2.messageId);
    expect(second.packets.filter((p) => p.cmd === 'publish')).toHaveLength(0);
    second.send({ cmd: 'puback', messageId: qos1.messageId! });
    second.send({ cmd: 'pubcomp', messageId: qos2.messageId! });
    await sleep(50);
    second.send({ cmd: 'disconnect', properties: { sessionExpiryInterval: 0 } });
    await second.untilClosed();
    pub.end();
  });

  test('[MQTT-4.3.3] QoS 2 inbound: a resent PUBLISH before PUBREL is stored once', async () => {
    const sub = await connect(target.url, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('q2/once', { qos: 2 });
    const raw = await RawClient.open(target.port);
    await raw.connect(uid());
    const publish = {
      cmd: 'publish' as const,
      topic: 'q2/once',
      payload: Buffer.from('x'),
      qos: 2 as const,
      messageId: 7,
      dup: false,
      retain: false,
    };
    raw.send(publish);
    await raw.next('pubrec');
    raw.send({ ...publish, dup: true });
    await raw.next('pubrec');
    raw.send({ cmd: 'pubrel', messageId: 7 });
    expect((await raw.next('pubcomp')).reasonCode).toBe(0);
    await sleep(100);
    expect(got.all).toHaveLength(1);
    raw.send({ cmd: 'pubrel', messageId: 7 });
    expect((await raw.next('pubcomp')).reasonCode).toBe(0x92);
    raw.close();
    sub.end();
  });

  test('[MQTT-3.3.4-8] our Receive Maximum: a 5.0 client with more unreleased QoS 2 publishes is disconnected with 0x93', async () => {
    const small = await startConveyor({ receiveMaximum: 2 });
    const raw = await RawClient.open(small.port);
    expect((await raw.connect(uid())).properties?.receiveMaximum).toBe(2);
    const publish = (messageId: number) =>
      raw.send({
        cmd: 'publish',
        topic: 'rx/q2',
        payload: Buffer.from('x'),
        qos: 2,
        messageId,
        dup: false,
        retain: false,
      });
    publish(1);
    publish(2);
    await raw.next('pubrec');
    await raw.next('pubrec');
    raw.send({ cmd: 'pubrel', messageId: 1 });
    await raw.next('pubcomp');
    publish(3);
    await raw.next('pubrec');
    publish(4);
    expect((await raw.next('disconnect')).reasonCode).toBe(0x93);
    await small.close();
  });

  test('[MQTT-2.2.1] a PUBREC without a packet id (found by the fuzzer) is malformed: DISCONNECT 0x81, never a truncated PUBREL', async () => {
    const raw = await RawClient.open(target.port);
    await raw.connect(uid());
    raw.sendBytes(Buffer.from([0x50, 0x00]));
    expect((await raw.next('disconnect')).reasonCode).toBe(0x81);
    await raw.untilClosed();
    expect(raw.packets.filter((p) => p.cmd === 'pubrel')).toEqual([]);
  });

  test('[MQTT-3.2.2-15] an oversized packet ends the connection with DISCONNECT 0x95', async () => {
    const raw = await RawClient.open(target.port);
    const connack = await raw.connect(uid());
    expect(connack.properties?.maximumPacketSize).toBe(4096);
    raw.send({
      cmd: 'publish',
      topic: 'big',
      payload: Buffer.alloc(5000),
      qos: 0,
      dup: false,
      retain: false,
    });
    expect((await raw.next('disconnect')).reasonCode).toBe(0x95);
    await raw.untilClosed();
  });

  test('[MQTT-3.1.2-24] keep-alive ×1.5 without packets closes the connection; server keep-alive caps long ones', async () => {
    const raw = await RawClient.open(target.port);
    await raw.connect(uid(), { keepalive: 1 });
    await raw.untilClosed(2500);
    const capped = await RawClient.open(target.port);
    expect((await capped.connect(uid(), { keepalive: 0 })).properties?.serverKeepAlive).toBe(60);
    capped.close();
  });

  test('[MQTT-3.1.4-2] a second CONNECT, or a packet before CONNECT, closes the connection', async () => {
    const early = await RawClient.open(target.port);
    early.send({ cmd: 'pingreq' });
    await early.untilClosed();
    const twice = await RawClient.open(target.port);
    await twice.connect(uid());
    twice.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'x',
      clean: true,
      keepalive: 0,
    });
    expect((await twice.next('disconnect')).reasonCode).toBe(0x82);
  });

  test('bad input: invalid filter → SUBACK 0x8F; wildcard topic → DISCONNECT 0x90; garbage → DISCONNECT 0x81', async () => {
    const a = await RawClient.open(target.port);
    await a.connect(uid());
    a.send({
      cmd: 'subscribe',
      messageId: 9,
      subscriptions: [
        { topic: 'a/#/b', qos: 1 },
        { topic: 'ok/+', qos: 1 },
      ],
    });
    expect((await a.next('suback')).granted).toEqual([0x8f, 1]);
    a.send({ cmd: 'publish', topic: 'a/+', payload: Buffer.from('x'), qos: 0, dup: false, retain: false });
    expect((await a.next('disconnect')).reasonCode).toBe(0x90);
    await a.untilClosed();
    const b = await RawClient.open(target.port);
    await b.connect(uid());
    b.sendBytes(Buffer.from([0x30, 0x02, 0xff, 0xff])); // PUBLISH whose topic length runs past the packet
    expect((await b.next('disconnect')).reasonCode).toBe(0x81);
    await b.untilClosed();
    // The server still serves others.
    (await connect(target.url, { protocolVersion: 5 })).end();
  });

  test('authentication: users, wrong password (0x86 / 3.1.1 code 4) and anonymous guest from loopback', async () => {
    await expect(
      connect(target.url, { protocolVersion: 5, username: 'alice', password: 'nope' }),
    ).rejects.toThrow();
    const v4 = await RawClient.open(target.port, 4);
    expect((await v4.connect(uid(), { username: 'alice', password: Buffer.from('nope') })).returnCode).toBe(
      4,
    );
    const v5 = await RawClient.open(target.port, 5);
    expect((await v5.connect(uid(), { username: 'alice', password: Buffer.from('nope') })).reasonCode).toBe(
      0x86,
    );
    (await connect(target.url, { protocolVersion: 5, username: 'alice', password: 'secret' })).end();
    (await connect(target.url, { protocolVersion: 4 })).end();
  });

  test('3.1.1: an empty client id with clean session false is refused (code 2); with clean session it is assigned', async () => {
    const refused = await RawClient.open(target.port, 4);
    // mqtt-packet will not even encode this CONNECT: bytes by hand (clean session 0, empty id).
    refused.sendBytes(Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 30, 0, 0]));
    expect((await refused.next('connack')).returnCode).toBe(2);
    const ok = await RawClient.open(target.port, 4);
    expect((await ok.connect('', { clean: true })).returnCode).toBe(0);
    ok.close();
  });

  test('WebSocket listener on /ws with subprotocol mqtt', async () => {
    const { port } = await target.server.listenWebSocket(0);
    const c = await mqtt.connectAsync(`ws://127.0.0.1:${port}/ws`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    const got = collect(c);
    await c.subscribeAsync('ws/t', { qos: 1 });
    await c.publishAsync('ws/t', 'over ws', { qos: 1 });
    expect((await got.next(1))[0]!.payload).toBe('over ws');
    expect(target.server.connectionCount).toBeGreaterThan(0);
    await c.endAsync();
  });

  test('the broker memory alarm stops reading publishers until it clears', async () => {
    const sub = await connect(target.url, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('mem/t', { qos: 0 });
    const pub = await connect(target.url, { protocolVersion: 5 });
    target.broker.emit('blocked', 1);
    pub.publish('mem/t', 'held', { qos: 0 });
    await sleep(150);
    expect(got.all).toHaveLength(0);
    target.broker.emit('unblocked', 0);
    expect((await got.next(1))[0]!.payload).toBe('held');
    sub.end();
    pub.end();
  });
});
