/**
 * The second half of the AMQP feature suite (features.shared.ts): consumers, prefetch, settling,
 * confirms, transactions and connection-level behaviour, run unchanged against Conveyor and the
 * real RabbitMQ.
 */
import { expect } from 'vitest';
import {
  channel,
  channelClosed,
  confirmChannel,
  connect,
  expectCode,
  sleep,
  take,
  unique,
  until,
} from './helpers/amqp-clients.js';
import { createMethod } from '../src/index.js';
import { closeCode, isMethod, rawChannel, rawHandshake } from './helpers/raw-client.js';

export interface FeatureSuite {
  /** The broker's URL (known once the suite's beforeAll ran). */
  url(): string;
  /** `it`, skipped with the reason logged when the broker is unreachable. */
  test(name: string, fn: () => Promise<void>): void;
}

export function amqpFeatureSuiteMore(suite: FeatureSuite): void {
  suite.test('basic.qos prefetch per consumer: at most N unacked', async () => {
    const ch = await channel(await connect(suite.url()));
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (let i = 0; i < 5; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
    await ch.prefetch(2);
    const got: string[] = [];
    await ch.consume(queue, (m) => m && got.push(m.content.toString()));
    await sleep(150);
    expect(got).toEqual(['0', '1']);
  });

  suite.test('basic.qos global=true is shared by the channel consumers', async () => {
    const ch = await channel(await connect(suite.url()));
    const a = (await ch.assertQueue('', { exclusive: true })).queue;
    const b = (await ch.assertQueue('', { exclusive: true })).queue;
    for (let i = 0; i < 3; i++) {
      ch.sendToQueue(a, Buffer.from('a'));
      ch.sendToQueue(b, Buffer.from('b'));
    }
    await ch.prefetch(3, true);
    let count = 0;
    await ch.consume(a, () => count++);
    await ch.consume(b, () => count++);
    await sleep(150);
    expect(count).toBe(3);
  });

  suite.test(
    'basic.qos global=false: each consumer created afterwards; a consumer keeps the limit it started with',
    async () => {
      const ch = await channel(await connect(suite.url()));
      const a = (await ch.assertQueue('', { exclusive: true })).queue;
      const b = (await ch.assertQueue('', { exclusive: true })).queue;
      for (let i = 0; i < 20; i++) {
        ch.sendToQueue(a, Buffer.from('a'));
        ch.sendToQueue(b, Buffer.from('b'));
      }
      const got = { a: 0, b: 0 };
      await ch.prefetch(1);
      await ch.consume(a, () => got.a++);
      await ch.prefetch(10);
      await ch.consume(b, () => got.b++);
      await sleep(200);
      expect(got).toEqual({ a: 1, b: 10 });
    },
  );

  suite.test(
    'basic.qos global=true raised: the channel consumers get the new limit at once, no ack needed',
    async () => {
      const ch = await channel(await connect(suite.url()));
      const { queue } = await ch.assertQueue('', { exclusive: true });
      for (let i = 0; i < 20; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
      await ch.prefetch(2, true);
      let count = 0;
      await ch.consume(queue, () => count++);
      await until(() => count === 2);
      await ch.prefetch(5, true);
      await until(() => count === 5);
      await ch.prefetch(8, true);
      await until(() => count === 8);
      await sleep(100);
      expect(count).toBe(8);
    },
  );

  suite.test('competing consumers share a queue round-robin', async () => {
    const conn = await connect(suite.url());
    const ch1 = await channel(conn);
    const ch2 = await channel(conn);
    const { queue } = await ch1.assertQueue('', { exclusive: true });
    const seen: number[] = [];
    await ch1.consume(queue, (m) => m && (seen.push(1), ch1.ack(m)));
    await ch2.consume(queue, (m) => m && (seen.push(2), ch2.ack(m)));
    for (let i = 0; i < 10; i++) ch1.sendToQueue(queue, Buffer.from(String(i)));
    await until(() => seen.length === 10);
    expect(seen.filter((s) => s === 1).length).toBeGreaterThan(0);
    expect(seen.filter((s) => s === 2).length).toBeGreaterThan(0);
  });

  suite.test('basic.get / get-empty, message_count, and ack of a got message', async () => {
    const ch = await channel(await connect(suite.url()));
    const { queue } = await ch.assertQueue('', { exclusive: true });
    expect(await ch.get(queue)).toBe(false);
    ch.sendToQueue(queue, Buffer.from('x'));
    ch.sendToQueue(queue, Buffer.from('y'));
    await until(async () => (await ch.checkQueue(queue)).messageCount === 2);
    const got = await ch.get(queue);
    expect(got && got.content.toString()).toBe('x');
    expect(got && got.fields.messageCount).toBe(1);
    if (got) ch.ack(got);
    const noAck = await ch.get(queue, { noAck: true });
    expect(noAck && noAck.content.toString()).toBe('y');
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
  });

  suite.test('unacked deliveries go back to the queue when the channel closes', async () => {
    const conn = await connect(suite.url());
    const ch = await channel(conn);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('keep'));
    await take(ch, queue, 1, { ack: false });
    const got = await ch.get(queue);
    expect(got).toBe(false);
    await ch.close();
    const ch2 = await channel(conn);
    const [again] = await take(ch2, queue, 1);
    expect(again!.fields.redelivered).toBe(true);
  });

  suite.test('basic.recover redelivers unacked messages', async () => {
    const ch = await channel(await connect(suite.url()));
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('r'));
    const seen: boolean[] = [];
    await ch.consume(queue, (m) => m && seen.push(m.fields.redelivered));
    await until(() => seen.length === 1);
    await ch.recover();
    await until(() => seen.length === 2);
    expect(seen).toEqual([false, true]);
  });

  suite.test('ack of an unknown delivery tag closes the channel with 406', async () => {
    const ch = await channel(await connect(suite.url()));
    const closed = channelClosed(ch);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('x'));
    const [m] = await take(ch, queue, 1);
    ch.ack(m!); // second ack of the same tag
    expect(await closed).toBe(406);
  });

  suite.test('queue.purge and queue.delete with if-empty / if-unused', async () => {
    const ch = await channel(await connect(suite.url()));
    const q = unique('del');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('1'));
    ch.sendToQueue(q, Buffer.from('2'));
    await until(async () => (await ch.checkQueue(q)).messageCount === 2);
    await expectCode(ch.deleteQueue(q, { ifEmpty: true }), 406);
    const ch3 = await channel(await connect(suite.url()));
    expect((await ch3.purgeQueue(q)).messageCount).toBe(2);
    await ch3.consume(q, () => undefined);
    const ch4 = await channel(await connect(suite.url()));
    await expectCode(ch4.deleteQueue(q, { ifUnused: true }), 406);
    const ch5 = await channel(await connect(suite.url()));
    expect((await ch5.deleteQueue(q)).messageCount).toBe(0);
    expect((await ch5.deleteQueue(q)).messageCount).toBe(0); // deleting a missing queue is fine
  });

  suite.test(
    'deleting a consumed queue sends basic.cancel to the consumer (consumer_cancel_notify)',
    async () => {
      const conn = await connect(suite.url());
      const ch = await channel(conn);
      const q = unique('cancel');
      await ch.assertQueue(q, { durable: false });
      const cancelled = new Promise<null>(
        (resolve) => void ch.consume(q, (m) => m === null && resolve(null)),
      );
      await (await channel(conn)).deleteQueue(q);
      expect(await cancelled).toBeNull();
    },
  );

  suite.test('tx: publishes and acks take effect on commit, not on rollback', async () => {
    const ch = await channel(await connect(suite.url()));
    const { queue } = await ch.assertQueue('', { exclusive: true });
    // amqplib has no public tx API: drive it through its raw RPC.
    const call = (name: string, expect: string): Promise<unknown> =>
      new Promise((resolve, reject) =>
        (
          ch as unknown as {
            _rpc: (m: number, f: object, e: number, cb: (err: unknown, ok: unknown) => void) => void;
          }
        )._rpc(TX[name]!, {}, TX[expect]!, (err, ok) => (err ? reject(err) : resolve(ok))),
      );
    await call('select', 'selectOk');
    ch.sendToQueue(queue, Buffer.from('rolled back'));
    await call('rollback', 'rollbackOk');
    ch.sendToQueue(queue, Buffer.from('committed'));
    await sleep(50);
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    await call('commit', 'commitOk');
    expect((await ch.checkQueue(queue)).messageCount).toBe(1);
  });

  suite.test(
    'direct reply-to: a request carries amq.rabbitmq.reply-to and the reply comes back to the requester',
    async () => {
      const conn = await connect(suite.url());
      const client = await channel(conn);
      const server = await channel(await connect(suite.url()));
      const { queue } = await server.assertQueue('', { exclusive: true });
      await server.consume(queue, (m) => {
        if (!m) return;
        server.sendToQueue(m.properties.replyTo as string, Buffer.from(`re: ${m.content.toString()}`), {
          correlationId: m.properties.correlationId,
        });
        server.ack(m);
      });
      const reply = new Promise<{ body: string; correlationId: string }>((resolve) => {
        void client.consume(
          'amq.rabbitmq.reply-to',
          (m) =>
            m && resolve({ body: m.content.toString(), correlationId: m.properties.correlationId as string }),
          { noAck: true },
        );
      });
      await sleep(20);
      client.sendToQueue(queue, Buffer.from('ping'), {
        replyTo: 'amq.rabbitmq.reply-to',
        correlationId: 'c-1',
      });
      expect(await reply).toEqual({ body: 're: ping', correlationId: 'c-1' });
    },
  );

  suite.test('an exclusive consumer locks the queue for other consumers (403 ACCESS_REFUSED)', async () => {
    const conn = await connect(suite.url());
    const ch = await channel(conn);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.consume(queue, () => undefined, { exclusive: true });
    const ch2 = await channel(conn);
    await expectCode(
      ch2.consume(queue, () => undefined),
      403,
    );
  });

  suite.test(
    'consuming from or binding a missing queue/exchange → 404; exchange.delete if-unused → 406',
    async () => {
      const conn = await connect(suite.url());
      await expectCode(
        (await channel(conn)).consume(unique('none'), () => undefined),
        404,
      );
      const ch = await channel(conn);
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await expectCode(ch.bindQueue(queue, unique('nox'), 'rk'), 404);
      const ch2 = await channel(conn);
      const x = unique('used');
      await ch2.assertExchange(x, 'fanout', { durable: false });
      const q2 = (await ch2.assertQueue('', { exclusive: true })).queue;
      await ch2.bindQueue(q2, x, '');
      await expectCode(ch2.deleteExchange(x, { ifUnused: true }), 406);
      const ch3 = await channel(conn);
      await ch3.deleteExchange(x);
    },
  );

  suite.test('after basic.cancel, deliveries already received can still be acked', async () => {
    const ch = await channel(await connect(suite.url()));
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('a'));
    ch.sendToQueue(queue, Buffer.from('b'));
    const got = await take(ch, queue, 2, { ack: false }); // take() cancels its consumer
    ch.ack(got[1]!, true);
    await sleep(50);
    const check = await ch.checkQueue(queue);
    expect(check).toMatchObject({ messageCount: 0, consumerCount: 0 });
  });

  suite.test('publishing to an internal exchange closes the channel with 403', async () => {
    const conn = await connect(suite.url());
    const ch = await channel(conn);
    const x = unique('internal');
    await ch.assertExchange(x, 'fanout', { durable: false, internal: true });
    const closed = channelClosed(ch);
    ch.publish(x, '', Buffer.from('no'));
    expect(await closed).toBe(403);
    await (await channel(conn)).deleteExchange(x);
  });

  suite.test(
    'auto-delete: a queue goes with its last consumer, an exchange with its last binding',
    async () => {
      const conn = await connect(suite.url());
      const ch = await channel(conn);
      const q = unique('ad-q');
      const x = unique('ad-x');
      await ch.assertQueue(q, { durable: false, autoDelete: true });
      await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true });
      await ch.bindQueue(q, x, '');
      const { consumerTag } = await ch.consume(q, () => undefined);
      await ch.cancel(consumerTag);
      await until(async () => {
        const probe = await channel(conn);
        return probe.checkQueue(q).then(
          () => false,
          () => true,
        );
      });
      await expectCode((await channel(conn)).checkExchange(x), 404);
    },
  );

  suite.test('x-expires deletes a queue left unused', async () => {
    const conn = await connect(suite.url());
    const q = unique('expires');
    await (await channel(conn)).assertQueue(q, { durable: false, expires: 100 });
    await sleep(400);
    await expectCode((await channel(conn)).checkQueue(q), 404);
  });

  suite.test(
    'x-max-length-bytes with x-overflow reject-publish-dlx: refused copies are nacked and dead-lettered',
    async () => {
      const ch = await confirmChannel(await connect(suite.url()));
      const dead = (await ch.assertQueue('', { exclusive: true })).queue;
      const { queue } = await ch.assertQueue('', {
        exclusive: true,
        arguments: {
          'x-max-length-bytes': 10,
          'x-overflow': 'reject-publish-dlx',
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': dead,
        },
      });
      const outcome = (body: string): Promise<string> =>
        new Promise((resolve) =>
          ch.sendToQueue(queue, Buffer.from(body), {}, (err) => resolve(err ? 'nack' : 'ack')),
        );
      expect(await outcome('12345678')).toBe('ack');
      expect(await outcome('too long now')).toBe('nack');
      const [dl] = await take(ch, dead, 1);
      expect(dl!.content.toString()).toBe('too long now');
      expect(dl!.properties.headers?.['x-first-death-reason']).toBe('maxlen');
    },
  );

  suite.test('wrong credentials → 403 ACCESS_REFUSED; unknown vhost → 530 NOT_ALLOWED', async () => {
    const bad = new URL(suite.url());
    bad.password = 'wrong';
    await expect(connect(bad.toString())).rejects.toThrow(/ACCESS_REFUSED|403/);
    // amqplib hides the code of a close during the handshake: speak the bytes ourselves.
    const { client, last } = await rawHandshake(Number(new URL(suite.url()).port || 5672), {
      vhost: unique('vhost'),
    });
    expect(closeCode(last)).toBe(530);
    client.sendMethod(0, createMethod('connection.close-ok', {}));
    await client.closed;
  });

  suite.test(
    'queue.delete of a queue this channel consumes from: queue.delete-ok, then basic.cancel',
    async () => {
      const raw = await rawChannel(Number(new URL(suite.url()).port || 5672));
      try {
        const q = unique('delete-consumed');
        raw.sendMethod(1, createMethod('queue.declare', { queue: q, autoDelete: false, durable: false }));
        await raw.next(isMethod('queue.declare-ok'));
        raw.sendMethod(1, createMethod('basic.consume', { queue: q, consumerTag: 'c1', noAck: true }));
        await raw.next(isMethod('basic.consume-ok'));
        raw.sendMethod(1, createMethod('queue.delete', { queue: q }));
        const first = await raw.next(
          (f) =>
            f.type === 'method' && (f.method.name === 'queue.delete-ok' || f.method.name === 'basic.cancel'),
        );
        expect(first.type === 'method' && first.method.name).toBe('queue.delete-ok');
        const cancel = await raw.next(isMethod('basic.cancel'));
        expect(
          cancel.type === 'method' && cancel.method.name === 'basic.cancel' && cancel.method.args.consumerTag,
        ).toBe('c1');
      } finally {
        raw.destroy();
      }
    },
  );
}

// amqplib's method ids for tx (class 90): select 10/11, commit 20/21, rollback 30/31.
const TX: Record<string, number> = {
  select: (90 << 16) | 10,
  selectOk: (90 << 16) | 11,
  commit: (90 << 16) | 20,
  commitOk: (90 << 16) | 21,
  rollback: (90 << 16) | 30,
  rollbackOk: (90 << 16) | 31,
};
