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
import { createMethod } from '../src/index.js';
import { closeCode, rawHandshake } from './helpers/raw-client.js';
import { RABBITMQ_URL, reachable, startConveyor, type ConveyorTarget } from './helpers/targets.js';

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

    test('basic.qos prefetch per consumer: at most N unacked', async () => {
      const ch = await channel(await connect(url));
      const { queue } = await ch.assertQueue('', { exclusive: true });
      for (let i = 0; i < 5; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
      await ch.prefetch(2);
      const got: string[] = [];
      await ch.consume(queue, (m) => m && got.push(m.content.toString()));
      await sleep(150);
      expect(got).toEqual(['0', '1']);
    });

    test('basic.qos global=true is shared by the channel consumers', async () => {
      const ch = await channel(await connect(url));
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

    test('competing consumers share a queue round-robin', async () => {
      const conn = await connect(url);
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

    test('basic.get / get-empty, message_count, and ack of a got message', async () => {
      const ch = await channel(await connect(url));
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

    test('unacked deliveries go back to the queue when the channel closes', async () => {
      const conn = await connect(url);
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

    test('basic.recover redelivers unacked messages', async () => {
      const ch = await channel(await connect(url));
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('r'));
      const seen: boolean[] = [];
      await ch.consume(queue, (m) => m && seen.push(m.fields.redelivered));
      await until(() => seen.length === 1);
      await ch.recover();
      await until(() => seen.length === 2);
      expect(seen).toEqual([false, true]);
    });

    test('ack of an unknown delivery tag closes the channel with 406', async () => {
      const ch = await channel(await connect(url));
      const closed = channelClosed(ch);
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('x'));
      const [m] = await take(ch, queue, 1);
      ch.ack(m!); // second ack of the same tag
      expect(await closed).toBe(406);
    });

    test('queue.purge and queue.delete with if-empty / if-unused', async () => {
      const ch = await channel(await connect(url));
      const q = unique('del');
      await ch.assertQueue(q, { durable: false });
      ch.sendToQueue(q, Buffer.from('1'));
      ch.sendToQueue(q, Buffer.from('2'));
      await until(async () => (await ch.checkQueue(q)).messageCount === 2);
      await expectCode(ch.deleteQueue(q, { ifEmpty: true }), 406);
      const ch3 = await channel(await connect(url));
      expect((await ch3.purgeQueue(q)).messageCount).toBe(2);
      await ch3.consume(q, () => undefined);
      const ch4 = await channel(await connect(url));
      await expectCode(ch4.deleteQueue(q, { ifUnused: true }), 406);
      const ch5 = await channel(await connect(url));
      expect((await ch5.deleteQueue(q)).messageCount).toBe(0);
      expect((await ch5.deleteQueue(q)).messageCount).toBe(0); // deleting a missing queue is fine
    });

    test('deleting a consumed queue sends basic.cancel to the consumer (consumer_cancel_notify)', async () => {
      const conn = await connect(url);
      const ch = await channel(conn);
      const q = unique('cancel');
      await ch.assertQueue(q, { durable: false });
      const cancelled = new Promise<null>(
        (resolve) => void ch.consume(q, (m) => m === null && resolve(null)),
      );
      await (await channel(conn)).deleteQueue(q);
      expect(await cancelled).toBeNull();
    });

    test('tx: publishes and acks take effect on commit, not on rollback', async () => {
      const ch = await channel(await connect(url));
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

    test('direct reply-to: a request carries amq.rabbitmq.reply-to and the reply comes back to the requester', async () => {
      const conn = await connect(url);
      const client = await channel(conn);
      const server = await channel(await connect(url));
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
    });

    test('an exclusive consumer locks the queue for other consumers (403 ACCESS_REFUSED)', async () => {
      const conn = await connect(url);
      const ch = await channel(conn);
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.consume(queue, () => undefined, { exclusive: true });
      const ch2 = await channel(conn);
      await expectCode(
        ch2.consume(queue, () => undefined),
        403,
      );
    });

    test('consuming from or binding a missing queue/exchange → 404; exchange.delete if-unused → 406', async () => {
      const conn = await connect(url);
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
    });

    test('after basic.cancel, deliveries already received can still be acked', async () => {
      const ch = await channel(await connect(url));
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('a'));
      ch.sendToQueue(queue, Buffer.from('b'));
      const got = await take(ch, queue, 2, { ack: false }); // take() cancels its consumer
      ch.ack(got[1]!, true);
      await sleep(50);
      const check = await ch.checkQueue(queue);
      expect(check).toMatchObject({ messageCount: 0, consumerCount: 0 });
    });

    test('publishing to an internal exchange closes the channel with 403', async () => {
      const conn = await connect(url);
      const ch = await channel(conn);
      const x = unique('internal');
      await ch.assertExchange(x, 'fanout', { durable: false, internal: true });
      const closed = channelClosed(ch);
      ch.publish(x, '', Buffer.from('no'));
      expect(await closed).toBe(403);
      await (await channel(conn)).deleteExchange(x);
    });

    test('auto-delete: a queue goes with its last consumer, an exchange with its last binding', async () => {
      const conn = await connect(url);
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
    });

    test('x-expires deletes a queue left unused', async () => {
      const conn = await connect(url);
      const q = unique('expires');
      await (await channel(conn)).assertQueue(q, { durable: false, expires: 100 });
      await sleep(400);
      await expectCode((await channel(conn)).checkQueue(q), 404);
    });

    test('x-max-length-bytes with x-overflow reject-publish-dlx: refused copies are nacked and dead-lettered', async () => {
      const ch = await confirmChannel(await connect(url));
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
    });

    test('wrong credentials → 403 ACCESS_REFUSED; unknown vhost → 530 NOT_ALLOWED', async () => {
      const bad = new URL(url);
      bad.password = 'wrong';
      await expect(connect(bad.toString())).rejects.toThrow(/ACCESS_REFUSED|403/);
      // amqplib hides the code of a close during the handshake: speak the bytes ourselves.
      const { client, last } = await rawHandshake(Number(new URL(url).port || 5672), {
        vhost: unique('vhost'),
      });
      expect(closeCode(last)).toBe(530);
      client.sendMethod(0, createMethod('connection.close-ok', {}));
      await client.closed;
    });
  });
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
