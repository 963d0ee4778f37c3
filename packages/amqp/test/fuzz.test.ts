/**
 * Seeded fuzzing after a correct handshake and channel.open: random frames and valid frames mutated.
 * 5,000 cases drive the session layer in process (fast), a few hundred go over real TCP; the server must
 * answer each with a close, close the socket, or keep serving, never crash, never report an internal
 * error (541), and keep serving other clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator, Broker } from '@conveyor/core';
import {
  AmqpConnection,
  createMethod,
  encodeFrame,
  encodeMethodFrame,
  FrameParser,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  type AmqpFrame,
  type ConnectionSettings,
  type Transport,
} from '../src/index.js';
import { closeClients, connect, until } from './helpers/amqp-clients.js';
import { rawConnect } from './helpers/raw-client.js';
import { startConveyor, type ConveyorTarget } from './helpers/targets.js';

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAME_MAX = 8192;
const handshake = Buffer.concat([
  PROTOCOL_HEADER,
  encodeMethodFrame(
    0,
    createMethod('connection.start-ok', {
      clientProperties: {},
      mechanism: 'PLAIN',
      response: Buffer.from('\u0000guest\u0000guest'),
      locale: 'en_US',
    }),
  ),
  encodeMethodFrame(
    0,
    createMethod('connection.tune-ok', { channelMax: 16, frameMax: FRAME_MAX, heartbeat: 0 }),
  ),
  encodeMethodFrame(0, createMethod('connection.open', { virtualHost: '/' })),
  encodeMethodFrame(1, createMethod('channel.open', {})),
]);

const valid: Buffer[] = [
  encodeMethodFrame(1, createMethod('basic.qos', { prefetchCount: 3 })),
  encodeMethodFrame(
    1,
    createMethod('queue.declare', { queue: 'fz', arguments: { 'x-message-ttl': 1000, 'x-max-length': 5 } }),
  ),
  encodeMethodFrame(1, createMethod('queue.declare', { queue: '', exclusive: true })),
  encodeMethodFrame(1, createMethod('exchange.declare', { exchange: 'fzx', type: 'topic' })),
  encodeMethodFrame(1, createMethod('queue.bind', { queue: 'fz', exchange: 'fzx', routingKey: 'a.#' })),
  Buffer.concat([
    encodeMethodFrame(
      1,
      createMethod('basic.publish', { exchange: 'fzx', routingKey: 'a.b', mandatory: true }),
    ),
    encodeFrame({
      type: 'header',
      channel: 1,
      bodySize: 5,
      properties: { headers: { k: 1 }, expiration: '100', replyTo: 'amq.rabbitmq.reply-to' },
    }),
    encodeFrame({ type: 'body', channel: 1, payload: Buffer.from('hello') }),
  ]),
  encodeMethodFrame(1, createMethod('basic.consume', { queue: 'fz', consumerTag: 'c' })),
  encodeMethodFrame(1, createMethod('basic.consume', { queue: 'amq.rabbitmq.reply-to', noAck: true })),
  encodeMethodFrame(1, createMethod('basic.get', { queue: 'fz' })),
  encodeMethodFrame(1, createMethod('basic.ack', { deliveryTag: 1, multiple: true })),
  encodeMethodFrame(1, createMethod('basic.nack', { deliveryTag: 0, multiple: true, requeue: false })),
  encodeMethodFrame(1, createMethod('basic.reject', { deliveryTag: 2, requeue: true })),
  encodeMethodFrame(1, createMethod('basic.cancel', { consumerTag: 'c' })),
  encodeMethodFrame(1, createMethod('basic.recover', { requeue: true })),
  encodeMethodFrame(1, createMethod('confirm.select', {})),
  encodeMethodFrame(1, createMethod('tx.select', {})),
  encodeMethodFrame(1, createMethod('tx.commit', {})),
  encodeMethodFrame(1, createMethod('tx.rollback', {})),
  encodeMethodFrame(1, createMethod('queue.purge', { queue: 'fz' })),
  encodeMethodFrame(1, createMethod('queue.delete', { queue: 'fz', ifUnused: true })),
  encodeMethodFrame(1, createMethod('exchange.delete', { exchange: 'fzx' })),
  encodeMethodFrame(
    1,
    createMethod('exchange.bind', { destination: 'fzx', source: 'amq.topic', routingKey: '#' }),
  ),
  encodeMethodFrame(1, createMethod('channel.flow', { active: true })),
  encodeMethodFrame(
    1,
    createMethod('channel.close', { replyCode: 200, replyText: '', classId: 0, methodId: 0 }),
  ),
  encodeMethodFrame(2, createMethod('channel.open', {})),
  encodeMethodFrame(
    0,
    createMethod('connection.close', { replyCode: 200, replyText: '', classId: 0, methodId: 0 }),
  ),
  HEARTBEAT_FRAME,
];

function caseBytes(rand: () => number): Buffer {
  const int = (n: number): number => Math.floor(rand() * n);
  const parts: Buffer[] = [];
  for (let i = 0, n = 1 + int(3); i < n; i++) {
    if (rand() < 0.3) {
      const payload = Buffer.alloc(int(48));
      for (let j = 0; j < payload.length; j++) payload[j] = int(256);
      const frame = Buffer.alloc(payload.length + 8);
      frame[0] = [1, 2, 3, 8, int(256)][int(5)]!;
      frame.writeUInt16BE([0, 1, 2, int(65536)][int(4)]!, 1);
      frame.writeUInt32BE(payload.length, 3);
      payload.copy(frame, 7);
      frame[frame.length - 1] = rand() < 0.9 ? 0xce : int(256);
      parts.push(frame);
      continue;
    }
    let frame = Buffer.from(valid[int(valid.length)]!);
    for (let m = 0, count = int(4); m < count; m++) {
      switch (int(5)) {
        case 0:
          frame[int(frame.length)] = int(256);
          break;
        case 1:
          frame = frame.subarray(0, int(frame.length));
          break;
        case 2:
          if (frame.length > 7) frame.writeUInt32BE(int(frame.length * 2), 3);
          break;
        case 3:
          if (frame.length > 11) {
            const at = 7 + int(frame.length - 8);
            frame[at] = frame[at]! ^ (1 << int(8));
          }
          break;
        default:
          if (frame.length > 3) frame.writeUInt16BE(int(4), 1);
      }
    }
    parts.push(frame);
  }
  return Buffer.concat(parts);
}

class FakeTransport implements Transport {
  readonly remoteAddress = '127.0.0.1';
  readonly out: Buffer[] = [];
  ended = false;
  write(bytes: Buffer): void {
    if (!this.ended) this.out.push(Buffer.from(bytes));
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.ended = true;
  }
  pauseReading(): void {}
  resumeReading(): void {}
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('fuzzing after a correct handshake', () => {
  let broker: Broker;
  let target: ConveyorTarget;
  beforeAll(async () => {
    broker = await Broker.open();
    target = await startConveyor({ frameMax: FRAME_MAX });
  });
  afterAll(async () => {
    await closeClients();
    await broker.close();
    await target.close();
  });

  it('5,000 seeded cases in process: always a close, a closed socket or a live connection; never an internal error', async () => {
    const rand = mulberry32(0xc0ffee);
    const internal: unknown[] = [];
    let live = 0;
    const settings: ConnectionSettings = {
      broker,
      authenticator: new Authenticator([{ username: 'guest', password: 'guest' }]),
      frameMax: FRAME_MAX,
      channelMax: 16,
      heartbeatSeconds: 0,
      maxMessageBytes: 4096,
      maxPendingPublishes: 4096,
      handshakeTimeoutMs: 10_000,
      closeTimeoutMs: 10_000,
      onClosed: () => live--,
      onError: (err) => internal.push(err),
    };
    const outcomes = { connectionClose: 0, channelClose: 0, socketClosed: 0, alive: 0 };
    for (let i = 0; i < 5000; i++) {
      const transport = new FakeTransport();
      const connection = new AmqpConnection(transport, settings);
      live++;
      connection.receive(handshake);
      await tick();
      expect(connection.state).toBe('open');
      const before = transport.out.length;
      expect(() => connection.receive(caseBytes(rand))).not.toThrow();
      await tick();
      await tick();
      const replies: AmqpFrame[] = [];
      const parser = new FrameParser({ expectProtocolHeader: false, frameMax: 0 });
      for (const ev of parser.push(Buffer.concat(transport.out.slice(before))))
        if ('channel' in ev) replies.push(ev);
      const codes = replies.flatMap((f) =>
        f.type === 'method' && (f.method.name === 'connection.close' || f.method.name === 'channel.close')
          ? [f.method.args.replyCode]
          : [],
      );
      expect(
        codes.filter((c) => c === 541),
        `case ${i}`,
      ).toEqual([]);
      for (const code of codes)
        expect([200, 311, 312, 320, 403, 404, 405, 406, 501, 502, 503, 504, 505, 530, 540]).toContain(code);
      if (replies.some((f) => f.type === 'method' && f.method.name === 'connection.close'))
        outcomes.connectionClose++;
      else if (transport.ended) outcomes.socketClosed++;
      else if (codes.length > 0) outcomes.channelClose++;
      else outcomes.alive++;
      connection.transportClosed();
    }
    await until(() => live === 0);
    expect(internal).toEqual([]);
    // The generator reaches every kind of outcome.
    expect(outcomes.connectionClose).toBeGreaterThan(500);
    expect(outcomes.channelClose).toBeGreaterThan(50);
    expect(outcomes.alive).toBeGreaterThan(50);
  });

  it('300 seeded cases over TCP, while another client keeps working; a fresh amqplib client works afterwards', async () => {
    const bystander = await connect(target.url);
    const bch = await bystander.createChannel();
    const { queue } = await bch.assertQueue('', { exclusive: true });
    const rand = mulberry32(42);
    const cases = Array.from({ length: 300 }, () => caseBytes(rand));
    for (let i = 0; i < cases.length; i += 20) {
      await Promise.all(
        cases.slice(i, i + 20).map(async (bytes) => {
          const client = await rawConnect(target.port);
          client.send(Buffer.concat([handshake, bytes]));
          await Promise.race([client.closed, new Promise((r) => setTimeout(r, 50))]);
          client.destroy();
        }),
      );
    }
    bch.sendToQueue(queue, Buffer.from('still here'));
    const got = await bch.get(queue);
    expect(got && got.content.toString()).toBe('still here');
    const fresh = await connect(target.url);
    const ch = await fresh.createChannel();
    expect((await ch.assertQueue('', { exclusive: true })).queue).toMatch(/^amq\.gen-/);
    await until(() => target.server.connectionCount === 2);
  });
});
