import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge, ConveyorSink, ConveyorSource, MqttSink, MqttSource } from '@conveyor/bridge';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { EmbeddedConveyor, forgetMqttSession, MQTT_URL, mqttMissing, unique, waitFor } from './support.js';

describe.skipIf(mqttMissing !== undefined)('bridge ↔ Mosquitto', () => {
  let conveyor: EmbeddedConveyor;
  const clients: MqttClient[] = [];
  const client = async (protocolVersion: 4 | 5 = 5): Promise<MqttClient> => {
    const c = await connectAsync(MQTT_URL, { protocolVersion, clientId: unique('test'), reconnectPeriod: 0 });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    conveyor = await EmbeddedConveyor.open();
  });
  const sessions: string[] = [];
  const sessionId = (): string => {
    const id = unique('bridge-src');
    sessions.push(id);
    return id;
  };
  afterAll(async () => {
    for (const c of clients) await c.endAsync().catch(() => undefined);
    for (const id of sessions) await forgetMqttSession(MQTT_URL, id);
    await conveyor?.dispose();
  });

  it('MQTT 5 topic filter → Conveyor: topic a/b becomes routing key a.b, user properties become headers', async () => {
    const root = unique('bridge');
    const vhost = conveyor.current.vhost();
    await vhost.declareExchange('mqtt-in', 'topic');
    const queue = await vhost.subscribe('#', { name: unique('sensors'), exchange: 'mqtt-in' });
    const source = new MqttSource({ url: MQTT_URL, topic: `${root}/#`, clientId: sessionId() });
    const bridge = new Bridge({
      name: 'mqtt-in',
      source,
      sink: new ConveyorSink({ broker: conveyor.ref, exchange: 'mqtt-in' }),
    });
    await bridge.start();
    const publisher = await client(5);
    await publisher.publishAsync(`${root}/kitchen/temp`, '21.5', {
      qos: 1,
      properties: {
        userProperties: { unit: 'C', 'conveyor-message-id': 'reading-1' },
        contentType: 'text/plain',
        responseTopic: `${root}/answers`,
        correlationData: Buffer.from('corr-9'),
        messageExpiryInterval: 60,
      },
    });
    await waitFor(async () => (await vhost.count(queue)).ready === 1, 'the reading in Conveyor');
    const [delivery] = await vhost.receive(queue);
    expect(delivery!.message.routingKey).toBe(`${root}.kitchen.temp`);
    expect(Buffer.from(delivery!.message.body).toString()).toBe('21.5');
    expect(delivery!.message.properties).toMatchObject({
      messageId: 'reading-1',
      contentType: 'text/plain',
      replyTo: `${root}/answers`,
      correlationId: 'corr-9',
      expiration: 60_000,
      headers: { unit: 'C' },
    });
    await bridge.stop();
  });

  it('MQTT 3.1.1 source: messages without ids get stable derived ids, distinct per message', async () => {
    const root = unique('bridge');
    const vhost = conveyor.current.vhost();
    const queue = unique('plain');
    await vhost.declareQueue(queue, { dedupeWindowMs: 60_000 });
    const bridge = new Bridge({
      name: 'mqtt311',
      source: new MqttSource({
        url: MQTT_URL,
        topic: `${root}/#`,
        clientId: sessionId(),
        protocolVersion: 4,
      }),
      sink: new ConveyorSink({ broker: conveyor.ref, queue }),
    });
    await bridge.start();
    const publisher = await client(4);
    for (let i = 0; i < 20; i++) await publisher.publishAsync(`${root}/x`, 'same payload', { qos: 1 });
    await waitFor(
      async () => (await vhost.count(queue)).ready === 20,
      '20 messages (same payload, no false duplicates)',
    );
    const deliveries = await vhost.receive(queue, { max: 20 });
    const ids = new Set(deliveries.map((d) => d.message.properties.messageId));
    expect(ids.size).toBe(20);
    for (const id of ids) expect(id).toMatch(/^mqtt-/);
    await bridge.stop();
  });

  it('Conveyor → MQTT 5: routing key a.b becomes topic a/b, properties carried, acked after PUBACK', async () => {
    const root = unique('bridge');
    const vhost = conveyor.current.vhost();
    await vhost.declareExchange('to-mqtt', 'topic');
    const subscriber = await client(5);
    const received: IPublishPacket[] = [];
    subscriber.on('message', (_topic, _payload, packet) => received.push(packet));
    await subscriber.subscribeAsync(`${root}/#`, { qos: 1 });
    const own = unique('bridge-own');
    const bridge = new Bridge({
      name: 'mqtt-out',
      source: new ConveyorSource({
        broker: conveyor.ref,
        exchange: 'to-mqtt',
        routingKey: `${root}.#`,
        ownQueue: own,
      }),
      sink: new MqttSink({ url: MQTT_URL }),
      rewrite: [{ from: [root, 'legacy'], to: [root, 'renamed'] }],
    });
    await bridge.start();
    for (let i = 0; i < 30; i++) {
      await vhost.publish('to-mqtt', i === 0 ? `${root}.legacy.x` : `${root}.kitchen.temp`, {
        body: `m${i}`,
        properties: {
          messageId: `id-${i}`,
          headers: { seq: i, kind: 'test' },
          contentType: 'text/plain',
          correlationId: `c${i}`,
          replyTo: 'r/x',
          persistent: true,
        },
      });
    }
    await waitFor(() => received.length === 30, '30 messages at the subscriber');
    expect(received.map((p) => p.payload.toString())).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    expect(received[0]!.topic).toBe(`${root}/renamed/x`);
    expect(received[5]!.topic).toBe(`${root}/kitchen/temp`);
    expect(received[5]!.qos).toBe(1);
    expect(received[5]!.properties).toMatchObject({
      userProperties: { seq: '5', kind: 'test', 'conveyor-message-id': 'id-5' },
      contentType: 'text/plain',
      responseTopic: 'r/x',
    });
    expect(Buffer.from(received[5]!.properties!.correlationData!).toString()).toBe('c5');
    await waitFor(() => bridge.status().inFlight === 0, 'acks');
    const left = await vhost.count(own);
    expect(left.ready + left.inFlight).toBe(0);
    expect(bridge.status().moved).toBe(30);
    await bridge.stop();
  });
});
