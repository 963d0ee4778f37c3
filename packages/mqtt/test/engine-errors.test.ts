// Every engine error, thrown or rejected under every packet handler: the client gets a protocol
// answer (an ack with a reason code, a SUBACK failure, a CONNACK refusal, or a closed connection),
// the process has no unhandled rejection, and other clients go on as before.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { VirtualHost } from '@conveyor/core';
import { everyEngineError, failMethods } from '@conveyor/core/testing';
import { disconnectReason as mqttCode, endsConnection, mqttReasonCode } from '../src/reason-codes.js';
import { connect, collect, startConveyor, uid } from './helpers.js';
import { RawClient } from './raw-client.js';

/** The engine calls the MQTT server makes, failing as each really fails (a promise rejects, consume throws). */
const ENGINE_CALLS = {
  publish: 'reject',
  declareQueue: 'reject',
  bindQueue: 'reject',
  unbindQueue: 'reject',
  deleteQueue: 'reject',
  ack: 'reject',
  nack: 'reject',
  releaseHolder: 'reject',
  releaseOwner: 'reject',
  consume: 'throw',
} as const satisfies Partial<Record<keyof VirtualHost, 'throw' | 'reject'>>;

let target: Awaited<ReturnType<typeof startConveyor>>;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  target = await startConveyor({ onError: () => undefined });
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await target.close();
});
afterEach(() => expect(unhandled).toEqual([]));

/** Resolves with the packet, or 'closed' once the server closed the connection instead. */
async function answer(client: RawClient, cmd: 'puback' | 'pubrec' | 'suback' | 'unsuback' | 'pingresp') {
  return Promise.race([client.next(cmd, 2000), client.untilClosed(2000).then(() => 'closed' as const)]);
}

/** After the failures: a new client still subscribes, publishes at QoS 1 and receives. */
async function othersUnaffected(): Promise<void> {
  const topic = `ok/${uid()}`;
  const client = await connect(target.url, { protocolVersion: 5 });
  await client.subscribeAsync(topic, { qos: 1 });
  const got = collect(client);
  await client.publishAsync(topic, 'still here', { qos: 1 });
  expect((await got.next(1))[0]!.payload).toBe('still here');
  await client.endAsync();
}

describe.each(everyEngineError())('engine error $code', ({ code, make }) => {
  test.each([5, 4] as const)('under every handler, MQTT %i', async (version) => {
    const vhost = target.broker.vhost('/');
    // A persistent session holding one unacknowledged delivery, made before the engine fails.
    const holder = await RawClient.open(target.port, version);
    const clientId = uid();
    const topic = `f/${clientId}`;
    await holder.connect(clientId, {
      clean: false,
      ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}),
    });
    holder.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await holder.next('suback');
    const publisher = await connect(target.url, { protocolVersion: 5 });
    await publisher.publishAsync(topic, 'held', { qos: 1 });
    const held = await holder.next('publish');
    const failing = failMethods(vhost, ENGINE_CALLS, make);
    try {
      // CONNECT of a persistent session: a CONNACK either way, never a hang.
      const late = await RawClient.open(target.port, version);
      const connack = await late.connect(uid(), {
        clean: false,
        ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}),
      });
      expect(connack.cmd).toBe('connack');
      late.close();

      holder.send({ cmd: 'puback', messageId: held.messageId! });
      holder.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: `${topic}/more`, qos: 1 }] });
      const suback = await answer(holder, 'suback');
      expect(suback).not.toBe('closed');
      if (suback !== 'closed' && suback.cmd === 'suback')
        expect(suback.granted).toEqual([version === 5 ? mqttReasonCode(make(), 'suback') : 0x80]);
      holder.send({ cmd: 'publish', topic, payload: Buffer.from('q0'), qos: 0, retain: false, dup: false });
      holder.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: [`${topic}/none`] });
      expect(await answer(holder, 'unsuback')).not.toBe('closed');
      holder.send({
        cmd: 'publish',
        topic,
        payload: Buffer.from('q1'),
        qos: 1,
        messageId: 4,
        retain: false,
        dup: false,
      });
      const puback = await answer(holder, 'puback');
      if (version === 5 && endsConnection(make())) {
        // Too large for the server / the server closing: DISCONNECT with that reason [MQTT-3.14.2.1].
        expect(puback).toBe('closed');
        expect(holder.packets.find((p) => p.cmd === 'disconnect')).toMatchObject({
          reasonCode: mqttCode(make()),
        });
      } else if (version === 5) {
        // [MQTT-3.4.2.1] a 5.0 PUBACK carries the reason.
        expect(puback).not.toBe('closed');
        if (puback !== 'closed' && puback.cmd === 'puback')
          expect(puback.reasonCode).toBe(mqttReasonCode(make(), 'puback'));
        holder.send({
          cmd: 'publish',
          topic,
          payload: Buffer.from('q2'),
          qos: 2,
          messageId: 5,
          retain: false,
          dup: false,
        });
        const pubrec = await answer(holder, 'pubrec');
        expect(pubrec).not.toBe('closed');
        if (pubrec !== 'closed' && pubrec.cmd === 'pubrec')
          expect(pubrec.reasonCode).toBe(mqttReasonCode(make(), 'pubrec'));
        holder.send({ cmd: 'pingreq' });
        expect(await answer(holder, 'pingresp')).not.toBe('closed');
        holder.send({ cmd: 'disconnect' });
      } else {
        // 3.1.1 has no negative PUBACK: the connection closes [MQTT-3.3.5-2].
        expect(puback).toBe('closed');
      }
      await holder.untilClosed();
    } finally {
      failing.restore();
      holder.close();
      await publisher.endAsync();
    }
    await othersUnaffected();
    expect(code).toBeDefined();
  });
});
