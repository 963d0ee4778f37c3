// The server's settings as a user sets them: announced in an MQTT 5 CONNACK and enforced, and a
// value the protocol cannot carry refused when the server is made.
import { InvalidArgumentError } from '@conveyor/core';
import { afterEach, describe, expect, test } from 'vitest';
import { MqttServer } from '../src/index.js';
import { connect, startConveyor, uid } from './helpers.js';
import { RawClient } from './raw-client.js';

let target: Awaited<ReturnType<typeof startConveyor>> | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe('retainAvailable: false', () => {
  test('MQTT 5: CONNACK says Retain Available 0 (§3.2.2.3.5); a retained PUBLISH is DISCONNECT 0x9A (§3.3.1.3)', async () => {
    target = await startConveyor({ retainAvailable: false });
    const client = await RawClient.open(target.port, 5);
    const connack = await client.connect(uid());
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.retainAvailable).toBe(false);
    // A plain publish still goes through.
    client.send({
      cmd: 'publish',
      topic: 'r/x',
      payload: Buffer.from('a'),
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    });
    expect((await client.next('puback')).messageId).toBe(1);
    client.send({
      cmd: 'publish',
      topic: 'r/x',
      payload: Buffer.from('b'),
      qos: 0,
      retain: true,
      dup: false,
    });
    expect((await client.next('disconnect')).reasonCode).toBe(0x9a);
    await client.untilClosed();
    // Nothing was retained: a new subscriber gets nothing on subscribe.
    const sub = await connect(target.url, { protocolVersion: 5 });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('r/x', { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([]);
    await sub.endAsync();
  });

  test('MQTT 3.1.1: a retained PUBLISH closes the connection (no DISCONNECT in 3.1.1)', async () => {
    target = await startConveyor({ retainAvailable: false });
    const client = await RawClient.open(target.port, 4);
    expect((await client.connect(uid())).returnCode).toBe(0);
    client.send({
      cmd: 'publish',
      topic: 'r/y',
      payload: Buffer.from('b'),
      qos: 0,
      retain: true,
      dup: false,
    });
    await client.untilClosed();
    expect(client.packets.filter((p) => p.cmd === 'disconnect')).toEqual([]);
  });

  test('a will with retain is refused: MQTT 5 CONNACK 0x9A, MQTT 3.1.1 closed without CONNACK', async () => {
    target = await startConveyor({ retainAvailable: false });
    const will = { topic: 'w/t', payload: Buffer.from('gone'), qos: 0 as const, retain: true };
    const v5 = await RawClient.open(target.port, 5);
    expect((await v5.connect(uid(), { will })).reasonCode).toBe(0x9a);
    await v5.untilClosed();
    const v4 = await RawClient.open(target.port, 4);
    v4.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: uid(),
      clean: true,
      keepalive: 30,
      will,
    });
    await v4.untilClosed();
    expect(v4.packets).toEqual([]);
  });

  test('by default retained messages are kept and announced as available', async () => {
    target = await startConveyor();
    const client = await RawClient.open(target.port, 5);
    expect((await client.connect(uid())).properties?.retainAvailable).toBe(true);
    client.close();
  });
});

test('every setting is in the MQTT 5 CONNACK', async () => {
  target = await startConveyor({
    receiveMaximum: 77,
    topicAliasMaximum: 5,
    maxPacketBytes: 9_000,
    keepAliveMaxSeconds: 40,
  });
  const client = await RawClient.open(target.port, 5);
  const connack = await client.connect(uid(), { keepalive: 0 });
  expect(connack.properties).toMatchObject({
    receiveMaximum: 77,
    topicAliasMaximum: 5,
    maximumPacketSize: 9_000,
    serverKeepAlive: 40,
    retainAvailable: true,
  });
  client.close();
});

test('a value the protocol cannot carry is refused with the setting named', async () => {
  target = await startConveyor();
  const { broker } = target;
  for (const [options, name] of [
    [{ receiveMaximum: 0 }, 'receiveMaximum'],
    [{ receiveMaximum: 65_536 }, 'receiveMaximum'],
    [{ keepAliveMaxSeconds: 70_000 }, 'keepAliveMaxSeconds'],
    [{ topicAliasMaximum: -1 }, 'topicAliasMaximum'],
    [{ maxPacketBytes: 2 ** 29 }, 'maxPacketBytes'],
    [{ receiveMaximum: 1.5 }, 'receiveMaximum'],
  ] as const) {
    expect(() => new MqttServer(broker, options)).toThrow(InvalidArgumentError);
    expect(() => new MqttServer(broker, options)).toThrow(name);
  }
});
