// Every engine error, under every method that calls the engine: the client hears a channel or
// connection close with the reply code the error maps to, the process has no unhandled rejection,
// and other connections go on as before.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Channel, ChannelModel } from 'amqplib';
import { StoreError, type VirtualHost } from '@conveyor/core';
import { everyEngineError, failMethods } from '@conveyor/core/testing';
import { toReply } from '../src/session/protocol-error.js';
import { closeClients, connect } from './helpers/amqp-clients.js';
import { startConveyor, type ConveyorTarget } from './helpers/targets.js';

/** Engine calls of the AMQP server, failing as each really fails (a promise rejects, consume throws). */
const ENGINE_CALLS = {
  publish: 'reject',
  declareQueue: 'reject',
  deleteQueue: 'reject',
  purgeQueue: 'reject',
  bindQueue: 'reject',
  unbindQueue: 'reject',
  declareExchange: 'reject',
  deleteExchange: 'reject',
  bindExchange: 'reject',
  unbindExchange: 'reject',
  receive: 'reject',
  count: 'reject',
  ack: 'reject',
  nack: 'reject',
  consume: 'throw',
} as const satisfies Partial<Record<keyof VirtualHost, 'throw' | 'reject'>>;

/** One client call per method; each runs on a fresh channel while the engine fails. */
const METHODS: Record<string, (ch: Channel) => Promise<unknown> | void> = {
  'queue.declare': (ch) => ch.assertQueue('q-new'),
  'queue.delete': (ch) => ch.deleteQueue('q-held'),
  'queue.purge': (ch) => ch.purgeQueue('q-held'),
  'queue.bind': (ch) => ch.bindQueue('q-held', 'amq.topic', 'k'),
  'queue.unbind': (ch) => ch.unbindQueue('q-held', 'amq.topic', 'k'),
  'exchange.declare': (ch) => ch.assertExchange('x-new', 'topic'),
  'exchange.delete': (ch) => ch.deleteExchange('x-held'),
  'exchange.bind': (ch) => ch.bindExchange('x-held', 'amq.topic', 'k'),
  'exchange.unbind': (ch) => ch.unbindExchange('x-held', 'amq.topic', 'k'),
  'basic.publish': (ch) => void ch.publish('', 'q-held', Buffer.from('x')),
  'basic.get': (ch) => ch.get('q-held'),
  'basic.consume': (ch) => ch.consume('q-held', () => undefined),
};

let t: ConveyorTarget;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  t = await startConveyor();
  const conn = await connect(t.url);
  const ch = await conn.createChannel();
  await ch.assertQueue('q-held');
  await ch.assertExchange('x-held', 'topic');
  await ch.close();
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await closeClients();
  // Internal errors are reported to onError; engine errors are the client's answer, not ours.
  t.errors.length = 0;
  await t.close();
});
afterEach(() => expect(unhandled).toEqual([]));

/** The reply code of the channel's (or its connection's) close, once it came. */
function closedWith(conn: ChannelModel, ch: Channel): Promise<number | undefined> {
  return new Promise((resolve) => {
    const code = (err: unknown): number | undefined => (err as { code?: number } | undefined)?.code;
    ch.once('error', (err: unknown) => resolve(code(err)));
    // A connection-level close closes the channel first, without an error of its own.
    ch.once('close', () => setTimeout(() => resolve(undefined), 200));
    conn.once('error', (err: unknown) => resolve(code(err)));
    // amqplib reports 320 CONNECTION_FORCED on 'close' only (not as an error).
    conn.once('close', (err: unknown) => resolve(code(err)));
  });
}

/** After the failures: a new connection still declares, publishes with a confirm, and gets. */
async function othersUnaffected(): Promise<void> {
  const conn = await connect(t.url);
  const ch = await conn.createConfirmChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await new Promise<void>((resolve, reject) =>
    ch.sendToQueue(queue, Buffer.from('ok'), {}, (err) => (err ? reject(err) : resolve())),
  );
  expect((await ch.get(queue, { noAck: true })) || undefined).toMatchObject({ content: Buffer.from('ok') });
  await conn.close();
}

describe.each(everyEngineError())('engine error $code', ({ make }) => {
  const expected = toReply(make()).replyCode;
  test.each(Object.keys(METHODS))('%s: the close carries its reply code', async (method) => {
    const conn = await connect(t.url);
    const ch = await conn.createChannel();
    const closed = closedWith(conn, ch);
    const failing = failMethods(t.broker.vhost('/'), ENGINE_CALLS, make);
    try {
      await Promise.resolve(METHODS[method]!(ch)).catch(() => undefined);
      expect(await closed).toBe(expected);
    } finally {
      failing.restore();
    }
    await othersUnaffected();
  });

  test('basic.ack and basic.nack of a held delivery: the close carries its reply code', async () => {
    for (const settle of ['ack', 'nack'] as const) {
      const conn = await connect(t.url);
      const ch = await conn.createChannel();
      ch.sendToQueue('q-held', Buffer.from('held'));
      const msg = await new Promise<Parameters<Parameters<Channel['consume']>[1]>[0]>((resolve) => {
        void ch.consume('q-held', resolve);
      });
      const closed = closedWith(conn, ch);
      const failing = failMethods(t.broker.vhost('/'), ENGINE_CALLS, make);
      try {
        if (settle === 'ack') ch.ack(msg!);
        else ch.nack(msg!, false, true);
        expect(await closed).toBe(expected);
      } finally {
        failing.restore();
      }
      await conn.close().catch(() => undefined);
    }
    await othersUnaffected();
  });
});

// RabbitMQ nacks a confirm-mode publish on a queue's internal error; a store that fails (Redis
// away, too few replicas for WAIT) is one. The publisher resends on the same channel.
describe('a store failure under a confirm-mode publish', () => {
  test('is a basic.nack: the channel stays open, the next publish is acked, and the failure is reported once per run', async () => {
    const conn = await connect(t.url);
    const ch = await conn.createConfirmChannel();
    let closed = false;
    ch.on('close', () => (closed = true));
    const send = (body: string) =>
      new Promise<'ack' | 'nack'>((resolve) =>
        ch.sendToQueue('q-held', Buffer.from(body), {}, (err) => resolve(err ? 'nack' : 'ack')),
      );
    const reported = t.errors.length;
    const failing = failMethods(
      t.broker.vhost('/'),
      { publish: 'reject' },
      () => new StoreError('redis away'),
    );
    try {
      expect(await Promise.all([send('a'), send('b'), send('c')])).toEqual(['nack', 'nack', 'nack']);
    } finally {
      failing.restore();
    }
    expect(t.errors.slice(reported).map(String)).toEqual(['StoreError: redis away']);
    expect(await send('d')).toBe('ack');
    expect(closed).toBe(false);
    // A second run of failures is reported again.
    const again = failMethods(t.broker.vhost('/'), { publish: 'reject' }, () => new StoreError('redis away'));
    try {
      expect(await send('e')).toBe('nack');
    } finally {
      again.restore();
    }
    expect(t.errors.length - reported).toBe(2);
    t.errors.length = reported;
    await ch.purgeQueue('q-held');
    await conn.close();
  });
});
