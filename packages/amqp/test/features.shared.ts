/**
 * AMQP 0-9-1 feature tests run unchanged against Conveyor and against the real RabbitMQ (RABBITMQ_URL),
 * so every behaviour asserted here is RabbitMQ's. Where Conveyor deliberately differs, the test lives in
 * features.conveyor-only.test.ts and docs/amqp.md lists the difference.
 */
import amqpCallback from 'amqplib/callback_api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  channel,
  channelClosed,
  closeClients,
  confirmChannel,
  connect,
  expectCode,
  sleep,
  take,
  unique,
  until,
} from './helpers/amqp-clients.js';
import { RABBITMQ_URL, reachable, startConveyor, type ConveyorTarget } from './helpers/targets.js';
import { amqpFeatureSuiteMore } from './features-more.shared.js';
import { amqpPrioritySuite } from './features-priority.shared.js';

export type TargetName = 'conveyor' | 'rabbitmq';

export function amqpFeatureSuite(target: TargetName): void {
  let url = '';
  let conveyor: ConveyorTarget | undefined;
  let skipReason: string | undefined;

  beforeAll(async () => {
    if (target === 'conveyor') {
      conveyor = await startConveyor();
      url = conveyor.url;
      return;
    }
    url = RABBITMQ_URL;
    if (!(await reachable(url))) {
      if (process.env['CI'] === 'true')
        throw new Error(`RabbitMQ is unreachable at ${url} and CI=true: the interop suite must run`);
      skipReason = `RabbitMQ unreachable at ${url} (set RABBITMQ_URL; required when CI=true)`;
      console.warn(`[amqp features] skipping the RabbitMQ run: ${skipReason}`);
    }
  });
  afterEach(closeClients);
  afterAll(async () => conveyor?.close());

  /** A test that needs the broker: skipped (with the reason logged above) when RabbitMQ is unreachable. */
  const test = (name: string, fn: () => Promise<void>): void => {
    it(name, async (ctx) => {
      if (skipReason !== undefined) ctx.skip(skipReason);
      await fn();
    });
  };

  describe(`AMQP features on ${target}`, () => {
    test('queue.declare: server-named exclusive queue, message_count from the queue', async () => {
      const ch = await channel(await connect(url));
      const { queue } = await ch.assertQueue('', { exclusive: true });
      expect(queue).toMatch(/^amq\.gen-/);
      ch.sendToQueue(queue, Buffer.from('a'));
      ch.sendToQueue(queue, Buffer.from('b'));
      await until(async () => (await ch.checkQueue(queue)).messageCount === 2);
      expect(await ch.checkQueue(queue)).toMatchObject({ queue, messageCount: 2, consumerCount: 0 });
      // Even the server-generated name is reserved: redeclaring it is refused, as RabbitMQ does.
      await expectCode(ch.assertQueue(queue, { exclusive: true }), 403);
    });

    test('queue.declare passive of a missing queue closes the channel with 404', async () => {
      const ch = await channel(await connect(url));
      await expectCode(ch.checkQueue(unique('missing')), 404);
    });

    test('queue.declare with inequivalent arguments closes the channel with 406', async () => {
      const conn = await connect(url);
      const ch = await channel(conn);
      const q = unique('ineq');
      await ch.assertQueue(q, { exclusive: true, messageTtl: 1000 });
      const ch2 = await channel(conn);
      await expectCode(ch2.assertQueue(q, { exclusive: true, messageTtl: 2000 }), 406);
    });

    test('queue.declare of a reserved amq.* name is refused with 403', async () => {
      const ch = await channel(await connect(url));
      await expectCode(ch.assertQueue('amq.mine', { exclusive: true }), 403);
    });

    test('an exclusive queue is locked (405) for other connections and gone when its owner closes', async () => {
      const owner = await connect(url);
      const ch = await channel(owner);
      const q = unique('excl');
      await ch.assertQueue(q, { exclusive: true });
      const other = await channel(await connect(url));
      await expectCode(other.checkQueue(q), 405);
      await owner.close();
      const third = await channel(await connect(url));
      await until(async () => {
        try {
          await (await channel(await connect(url))).checkQueue(q);
          return false;
        } catch {
          return true;
        }
      });
      await expectCode(third.checkQueue(q), 404);
    });

    test('publish → consume → ack with the promise API; properties and headers survive', async () => {
      const ch = await channel(await connect(url));
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('hello'), {
        contentType: 'text/plain',
        headers: { a: 1, b: 'two', nested: { c: true } },
        messageId: 'm1',
        correlationId: 'c1',
        priority: 3,
        timestamp: 1700000000,
        type: 't',
        appId: 'app',
      });
      const [msg] = await take(ch, queue, 1);
      expect(msg!.content.toString()).toBe('hello');
      expect(msg!.fields).toMatchObject({ redelivered: false, exchange: '', routingKey: queue });
      expect(msg!.properties).toMatchObject({
        contentType: 'text/plain',
        messageId: 'm1',
        correlationId: 'c1',
        priority: 3,
        timestamp: 1700000000,
        type: 't',
        appId: 'app',
      });
      expect(msg!.properties.headers).toMatchObject({ a: 1, b: 'two', nested: { c: true } });
    });

    test('the callback API publishes and consumes too', async () => {
      const body = await new Promise<string>((resolve, reject) => {
        amqpCallback.connect(url, (err, conn) => {
          if (err) return reject(err);
          conn.on('error', () => undefined);
          conn.createChannel((err2, ch) => {
            if (err2) return reject(err2);
            ch.assertQueue('', { exclusive: true }, (err3, ok) => {
              if (err3) return reject(err3);
              ch.sendToQueue(ok.queue, Buffer.from('via callbacks'));
              ch.consume(ok.queue, (msg) => {
                if (!msg) return;
                ch.ack(msg);
                conn.close(() => resolve(msg.content.toString()));
              });
            });
          });
        });
      });
      expect(body).toBe('via callbacks');
    });

    test('exchanges route: direct, fanout, topic, headers, exchange-to-exchange', async () => {
      const ch = await channel(await connect(url));
      const names = {
        direct: unique('d'),
        fanout: unique('f'),
        topic: unique('t'),
        headers: unique('h'),
        e2e: unique('e2e'),
      };
      for (const [kind, name] of Object.entries(names))
        await ch.assertExchange(name, kind === 'e2e' ? 'fanout' : kind, {
          autoDelete: false,
          durable: false,
        });
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.bindQueue(q, names.direct, 'rk');
      await ch.bindQueue(q, names.fanout, '');
      await ch.bindQueue(q, names.topic, 'a.*.c');
      await ch.bindQueue(q, names.headers, '', { 'x-match': 'all', kind: 'x' });
      await ch.bindExchange(names.fanout, names.e2e, '');
      ch.publish(names.direct, 'rk', Buffer.from('direct'));
      ch.publish(names.direct, 'other', Buffer.from('dropped'));
      ch.publish(names.fanout, 'any', Buffer.from('fanout'));
      ch.publish(names.topic, 'a.b.c', Buffer.from('topic'));
      ch.publish(names.topic, 'a.b.d', Buffer.from('dropped'));
      ch.publish(names.headers, '', Buffer.from('headers'), { headers: { kind: 'x' } });
      ch.publish(names.e2e, '', Buffer.from('e2e'));
      const got = (await take(ch, q, 5)).map((m) => m.content.toString());
      expect(got).toEqual(['direct', 'fanout', 'topic', 'headers', 'e2e']);
      await ch.unbindExchange(names.fanout, names.e2e, '');
      await ch.unbindQueue(q, names.direct, 'rk');
      for (const name of Object.values(names)) await ch.deleteExchange(name);
    });

    test('queue.unbind and exchange.unbind of what is not there answer unbind-ok (idempotent since RabbitMQ 3.2)', async () => {
      const ch = await channel(await connect(url));
      const q = unique('unbind-q');
      const x = unique('unbind-x');
      await ch.assertQueue(q, { exclusive: true });
      await ch.assertExchange(x, 'direct', { autoDelete: false, durable: false });
      // A binding that was never made, a queue and an exchange that do not exist.
      await ch.unbindQueue(q, x, 'never-bound');
      await ch.unbindQueue(unique('no-such-queue'), x, 'k');
      await ch.unbindQueue(q, unique('no-such-exchange'), 'k');
      await ch.unbindExchange(unique('no-such-exchange'), x, 'k');
      await ch.unbindExchange(x, unique('no-such-exchange'), 'k');
      // aio-pika's RPC.close(): the auto-delete reply queue went with its consumer, then it unbinds.
      const gone = unique('unbind-gone');
      await ch.assertQueue(gone, { autoDelete: true, durable: false });
      await ch.bindQueue(gone, x, 'k');
      const { consumerTag } = await ch.consume(gone, () => undefined);
      await ch.cancel(consumerTag);
      const conn = await connect(url);
      await until(async () => {
        const probe = await channel(conn);
        const exists = await probe.checkQueue(gone).then(
          () => true,
          () => false,
        );
        if (exists) await probe.close();
        return !exists;
      });
      await ch.unbindQueue(gone, x, 'k');
      // The channel is still open.
      expect((await ch.checkQueue(q)).queue).toBe(q);
      await ch.deleteExchange(x);
    });

    test('exchange.declare: passive missing → 404; inequivalent → 406; unknown type → connection 503', async () => {
      const conn = await connect(url);
      await expectCode((await channel(conn)).checkExchange(unique('nope')), 404);
      const ch = await channel(conn);
      const x = unique('x');
      await ch.assertExchange(x, 'direct', { durable: false });
      await expectCode(ch.assertExchange(x, 'fanout', { durable: false }), 406);
      const ch2 = await channel(conn);
      await ch2.deleteExchange(x);
      const closed = new Promise<Error | undefined>((resolve) => conn.on('close', resolve));
      await expect(ch2.assertExchange(unique('y'), 'no-such-type')).rejects.toThrow();
      expect(String(await closed)).toMatch(/503 .*COMMAND_INVALID/);
    });

    test('publishing to a missing exchange closes the channel with 404', async () => {
      const ch = await channel(await connect(url));
      const closed = channelClosed(ch);
      ch.publish(unique('none'), 'rk', Buffer.from('x'));
      expect(await closed).toBe(404);
    });

    test('alternate exchange receives what the main exchange cannot route', async () => {
      const ch = await channel(await connect(url));
      const ae = unique('ae');
      const main = unique('main');
      await ch.assertExchange(ae, 'fanout', { durable: false });
      await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, ae, '');
      ch.publish(main, 'nowhere', Buffer.from('to ae'));
      expect((await take(ch, queue, 1))[0]!.content.toString()).toBe('to ae');
      await ch.deleteExchange(main);
      await ch.deleteExchange(ae);
    });

    test('mandatory unroutable publish comes back as basic.return 312 NO_ROUTE, then is confirmed', async () => {
      const ch = await confirmChannel(await connect(url));
      const returned = new Promise<{ replyCode: number; body: string }>((resolve) =>
        ch.on('return', (m) =>
          resolve({
            replyCode: (m.fields as unknown as { replyCode: number }).replyCode,
            body: m.content.toString(),
          }),
        ),
      );
      const confirmed = new Promise<void>((resolve, reject) =>
        ch.publish('', unique('nobody'), Buffer.from('lost'), { mandatory: true }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      expect(await returned).toEqual({ replyCode: 312, body: 'lost' });
      await confirmed;
    });

    test('publisher confirms: acks in order; overflow reject-publish → nack', async () => {
      const ch = await confirmChannel(await connect(url));
      const { queue } = await ch.assertQueue('', {
        exclusive: true,
        maxLength: 1,
        overflow: 'reject-publish',
      } as never);
      const results = await Promise.all(
        ['one', 'two'].map(
          (body) =>
            new Promise<string>((resolve) =>
              ch.sendToQueue(queue, Buffer.from(body), {}, (err) => resolve(err ? 'nack' : 'ack')),
            ),
        ),
      );
      expect(results).toEqual(['ack', 'nack']);
      await ch.waitForConfirms().catch(() => undefined);
    });

    test('nack with requeue redelivers with redelivered=true; reject without requeue dead-letters with x-death', async () => {
      const ch = await channel(await connect(url));
      const dlx = unique('dlx');
      await ch.assertExchange(dlx, 'fanout', { durable: false });
      const dead = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.bindQueue(dead, dlx, '');
      const { queue } = await ch.assertQueue('', { exclusive: true, deadLetterExchange: dlx });
      ch.sendToQueue(queue, Buffer.from('poison'));
      const [first] = await take(ch, queue, 1, { ack: false });
      expect(first!.fields.redelivered).toBe(false);
      ch.nack(first!, false, true);
      const [second] = await take(ch, queue, 1, { ack: false });
      expect(second!.fields.redelivered).toBe(true);
      ch.reject(second!, false);
      const [dl] = await take(ch, dead, 1);
      const death = dl!.properties.headers?.['x-death']?.[0];
      expect(death).toMatchObject({ reason: 'rejected', queue, count: 1, exchange: '' });
      expect(dl!.properties.headers?.['x-first-death-reason']).toBe('rejected');
      await ch.deleteExchange(dlx);
    });

    test('x-message-ttl and per-message expiration dead-letter with reason expired', async () => {
      const ch = await channel(await connect(url));
      const dead = (await ch.assertQueue('', { exclusive: true })).queue;
      const ttlQueue = (
        await ch.assertQueue('', {
          exclusive: true,
          messageTtl: 50,
          deadLetterExchange: '',
          deadLetterRoutingKey: dead,
        })
      ).queue;
      const plain = (
        await ch.assertQueue('', { exclusive: true, deadLetterExchange: '', deadLetterRoutingKey: dead })
      ).queue;
      ch.sendToQueue(ttlQueue, Buffer.from('queue-ttl'));
      ch.sendToQueue(plain, Buffer.from('msg-ttl'), { expiration: '50' });
      const got = await take(ch, dead, 2);
      expect(got.map((m) => m.content.toString()).sort()).toEqual(['msg-ttl', 'queue-ttl']);
      for (const m of got) expect(m.properties.headers?.['x-first-death-reason']).toBe('expired');
      expect((await ch.checkQueue(ttlQueue)).messageCount).toBe(0);
    });

    test('x-max-length drops the head (dead-lettered as maxlen)', async () => {
      const ch = await channel(await connect(url));
      const dead = (await ch.assertQueue('', { exclusive: true })).queue;
      const { queue } = await ch.assertQueue('', {
        exclusive: true,
        maxLength: 2,
        deadLetterExchange: '',
        deadLetterRoutingKey: dead,
      });
      for (const body of ['1', '2', '3']) ch.sendToQueue(queue, Buffer.from(body));
      expect((await take(ch, dead, 1))[0]!.content.toString()).toBe('1');
      expect((await take(ch, queue, 2)).map((m) => m.content.toString())).toEqual(['2', '3']);
    });

    test('x-delivery-limit (quorum queue): dead-lettered after limit redeliveries, x-delivery-count counts them', async () => {
      const ch = await channel(await connect(url));
      const dead = (await ch.assertQueue('', { exclusive: true })).queue;
      const q = unique('limit');
      await ch.assertQueue(q, {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': 1,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': dead,
        },
      });
      try {
        ch.sendToQueue(q, Buffer.from('twice'));
        const [a] = await take(ch, q, 1, { ack: false });
        ch.nack(a!, false, true);
        const [b] = await take(ch, q, 1, { ack: false });
        expect(b!.properties.headers?.['x-delivery-count']).toBe(1);
        ch.nack(b!, false, true);
        // Both brokers dead-letter at this nack: no consumer needs to come along for it to move.
        const [d] = await take(ch, dead, 1);
        expect((await ch.checkQueue(q)).messageCount).toBe(0);
        expect(d!.content.toString()).toBe('twice');
        expect(d!.properties.headers?.['x-first-death-reason']).toBe('delivery_limit');
      } finally {
        await ch.deleteQueue(q);
      }
    });

    test('x-single-active-consumer: only the first consumer gets messages; the next takes over when its channel goes', async () => {
      const conn = await connect(url);
      const setup = await channel(conn);
      const q = unique('sac');
      await setup.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } });
      const first = await channel(conn);
      const second = await channel(conn);
      await first.prefetch(2);
      await second.prefetch(10);
      const gotFirst: string[] = [];
      const gotSecond: { body: string; redelivered: boolean }[] = [];
      await first.consume(q, (m) => m && gotFirst.push(m.content.toString()));
      await second.consume(q, (m) => {
        if (!m) return;
        gotSecond.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
        second.ack(m);
      });
      for (let i = 0; i < 4; i++) setup.sendToQueue(q, Buffer.from(String(i)));
      await until(() => gotFirst.length === 2);
      await sleep(150);
      // The standby gets nothing although the active consumer is at its prefetch.
      expect(gotFirst).toEqual(['0', '1']);
      expect(gotSecond).toEqual([]);
      await first.close();
      await until(() => gotSecond.length === 4);
      expect(gotSecond).toEqual([
        { body: '0', redelivered: true },
        { body: '1', redelivered: true },
        { body: '2', redelivered: false },
        { body: '3', redelivered: false },
      ]);
      await expectCode(
        setup.assertQueue(unique('sac-bad'), {
          exclusive: true,
          arguments: { 'x-single-active-consumer': 'yes' },
        }),
        406,
      );
    });

    amqpFeatureSuiteMore({ url: () => url, test });
    amqpPrioritySuite({ url: () => url, test });
  });
}
