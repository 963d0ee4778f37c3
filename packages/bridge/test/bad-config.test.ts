import { describe, expect, it } from 'vitest';
import { Broker } from '@conveyor/core';
import { BridgeError, createBridges, parseBridgeConfigs, startBridges } from '@conveyor/bridge';
import { freePort, RABBITMQ_URL, rabbitMissing, unique } from './support.js';

async function startError(raw: unknown, broker?: Broker): Promise<BridgeError> {
  try {
    const bridges = createBridges(parseBridgeConfigs(raw), broker ? { broker } : {});
    await startBridges(bridges);
    for (const b of bridges) await b.stop();
  } catch (err) {
    expect(err).toBeInstanceOf(BridgeError);
    expect((err as Error).message).not.toContain('\n');
    return err as BridgeError;
  }
  throw new Error('expected the bridge to refuse to start');
}

describe('bad bridge config fails at start with one clear line', () => {
  it('unknown scheme', async () => {
    const err = await startError([
      { name: 'x', from: { url: 'kafka://host:9092', queue: 'q' }, to: { url: 'conveyor:', queue: 'q' } },
    ]);
    expect(err.code).toBe('UNKNOWN_SCHEME');
    expect(err.message).toBe(
      "bridge 'x' from.url: unknown scheme 'kafka:' (use amqp://, amqps://, mqtt://, mqtts://, ws://, wss:// or conveyor:)",
    );
  });

  it('malformed entries', async () => {
    expect((await startError({ name: 'x' })).message).toBe('bridges must be a list');
    expect(
      (await startError([{ name: 'x', from: { url: 'amqp://h' }, to: { url: 'conveyor:', queue: 'q' } }]))
        .message,
    ).toBe("bridge 'x' from: needs a queue or an exchange");
    expect(
      (await startError([{ name: 'x', from: { url: 'mqtt://h' }, to: { url: 'conveyor:', queue: 'q' } }]))
        .message,
    ).toBe("bridge 'x' from: an mqtt source needs a topic (filter)");
    const noBroker = await startError([
      { name: 'x', from: { url: 'mqtt://h', topic: 't' }, to: { url: 'conveyor:', queue: 'q' } },
    ]);
    expect(noBroker.code).toBe('INVALID_CONFIG');
    expect(noBroker.message).toContain('needs the embedded broker');
  });

  it('unreachable host', async () => {
    const port = await freePort(); // nothing listens there
    const broker = await Broker.open();
    await broker.vhost().declareQueue('q');
    const amqp = await startError(
      [
        {
          name: 'a',
          from: { url: `amqp://guest:secret@127.0.0.1:${port}`, queue: 'q' },
          to: { url: 'conveyor:', queue: 'q' },
        },
      ],
      broker,
    );
    expect(amqp.code).toBe('UNREACHABLE');
    expect(amqp.message).toMatch(
      new RegExp(
        `^amqp source amqp://guest:\\*\\*\\*@127\\.0\\.0\\.1:${port}/? queue 'q': cannot connect to .*ECONNREFUSED`,
      ),
    );
    expect(amqp.message).not.toContain('secret');
    const mqtt = await startError(
      [
        {
          name: 'm',
          from: { url: `mqtt://127.0.0.1:${port}`, topic: 't/#' },
          to: { url: 'conveyor:', queue: 'q' },
        },
      ],
      broker,
    );
    expect(mqtt.code).toBe('UNREACHABLE');
    expect(mqtt.message).toContain('ECONNREFUSED');
    await broker.close();
  });

  it('missing Conveyor queue', async () => {
    const broker = await Broker.open();
    const err = await startError(
      [{ name: 'c', from: { url: 'conveyor:', queue: 'nope' }, to: { url: 'conveyor:', queue: 'nope2' } }],
      broker,
    );
    expect(err.code).toBe('MISSING_QUEUE');
    expect(err.message).toBe("conveyor sink conveyor vhost '/' queue 'nope2': no queue 'nope2'");
    await broker.close();
  });

  it.skipIf(rabbitMissing !== undefined)('missing RabbitMQ queue', async () => {
    const broker = await Broker.open();
    await broker.vhost().declareQueue('q');
    const missing = unique('missing');
    const err = await startError(
      [{ name: 'r', from: { url: RABBITMQ_URL, queue: missing }, to: { url: 'conveyor:', queue: 'q' } }],
      broker,
    );
    expect(err.code).toBe('MISSING_QUEUE');
    expect(err.message).toContain(`queue '${missing}' does not exist on the server`);
    await broker.close();
  });
});
