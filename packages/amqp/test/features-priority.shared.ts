/**
 * Priority queues (`x-max-priority`), run unchanged against Conveyor and the real RabbitMQ: the
 * order RabbitMQ gives (higher first, FIFO within a level, no priority as 0, above the maximum
 * as the maximum), with TTL, dead-lettering, max-length and redelivery (issue 16, item 2).
 */
import { expect } from 'vitest';
import { channel, confirmChannel, connect, expectCode, sleep } from './helpers/amqp-clients.js';
import type { FeatureSuite } from './features-more.shared.js';

/** Everything in `queue`, by basic.get, as "body/priority". */
async function drain(ch: Awaited<ReturnType<typeof channel>>, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

export function amqpPrioritySuite(suite: FeatureSuite): void {
  suite.test(
    'x-max-priority: 30 shuffled priorities come back highest first, FIFO within a level',
    async () => {
      const ch = await confirmChannel(await connect(suite.url()));
      const { queue } = await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-priority': 10 } });
      const sent: { body: string; priority: number }[] = [];
      // A fixed shuffle of 0..9, three times: every level holds three, published apart.
      const order = [7, 2, 9, 0, 4, 8, 1, 6, 3, 5];
      for (let round = 0; round < 3; round++)
        for (const p of order) sent.push({ body: `p${p}-${round}`, priority: p });
      for (const m of sent) ch.sendToQueue(queue, Buffer.from(m.body), { priority: m.priority });
      await ch.waitForConfirms();
      const expected = [...sent].sort((a, b) => b.priority - a.priority).map((m) => m.body);
      expect(await drain(ch, queue)).toEqual(expected);
    },
  );

  suite.test(
    'x-max-priority: no priority is 0, one above the maximum counts as the maximum (and keeps its property)',
    async () => {
      const ch = await confirmChannel(await connect(suite.url()));
      const { queue } = await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-priority': 5 } });
      const sent: [string, number | undefined][] = [
        ['none', undefined],
        ['p1', 1],
        ['p9', 9],
        ['p5', 5],
        ['p3', 3],
        ['p0', 0],
        ['p5b', 5],
        ['p7', 7],
      ];
      for (const [body, priority] of sent)
        ch.sendToQueue(queue, Buffer.from(body), priority === undefined ? {} : { priority });
      await ch.waitForConfirms();
      const first = await ch.get(queue, { noAck: true });
      expect(first !== false && first.properties.priority).toBe(9);
      expect(await drain(ch, queue)).toEqual(['p5', 'p5b', 'p7', 'p3', 'p1', 'none', 'p0']);
    },
  );

  suite.test('x-max-priority above 255 or negative is 406 PRECONDITION_FAILED', async () => {
    const conn = await connect(suite.url());
    for (const value of [256, 1000, -1]) {
      const ch = await channel(conn);
      await expectCode(ch.assertQueue('', { exclusive: true, arguments: { 'x-max-priority': value } }), 406);
    }
  });

  suite.test(
    'a priority queue with a consumer: a nacked message goes back to its level; prefetch delivers in priority order',
    async () => {
      const conn = await connect(suite.url());
      const pub = await confirmChannel(conn);
      const { queue } = await pub.assertQueue('', { exclusive: true, arguments: { 'x-max-priority': 3 } });
      for (const [body, priority] of [
        ['a1', 1],
        ['b3', 3],
        ['c2', 2],
        ['d3', 3],
      ] as const)
        pub.sendToQueue(queue, Buffer.from(body), { priority });
      await pub.waitForConfirms();
      const ch = await channel(conn);
      await ch.prefetch(1);
      const got: string[] = [];
      let nacked = false;
      await ch.consume(queue, (m) => {
        if (!m) return;
        got.push(m.content.toString());
        if (!nacked && m.content.toString() === 'b3') {
          nacked = true;
          ch.nack(m, false, true);
        } else ch.ack(m);
      });
      for (let i = 0; i < 100 && got.length < 5; i++) await sleep(20);
      expect(got).toEqual(['b3', 'b3', 'd3', 'c2', 'a1']);
    },
  );

  suite.test(
    'a priority queue with a message TTL dead-letters the expired messages of every level',
    async () => {
      const ch = await confirmChannel(await connect(suite.url()));
      const { queue: dlq } = await ch.assertQueue('', { exclusive: true });
      const { queue } = await ch.assertQueue('', {
        exclusive: true,
        arguments: {
          'x-max-priority': 5,
          'x-message-ttl': 200,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': dlq,
        },
      });
      for (const [body, priority] of [
        ['low', 1],
        ['high', 5],
      ] as const)
        ch.sendToQueue(queue, Buffer.from(body), { priority });
      await ch.waitForConfirms();
      await sleep(400);
      expect(await drain(ch, queue)).toEqual([]);
      expect((await drain(ch, dlq)).sort()).toEqual(['high', 'low']);
    },
  );

  suite.test(
    'a priority queue with max-length: past it, drop-head drops what would be delivered first',
    async () => {
      const ch = await confirmChannel(await connect(suite.url()));
      const { queue } = await ch.assertQueue('', {
        exclusive: true,
        arguments: { 'x-max-priority': 5, 'x-max-length': 2 },
      });
      for (const [body, priority] of [
        ['low', 1],
        ['high', 5],
        ['mid', 3],
      ] as const) {
        ch.sendToQueue(queue, Buffer.from(body), { priority });
        await ch.waitForConfirms();
      }
      // RabbitMQ drops the highest level's head (checked against it), so does Conveyor.
      expect(await drain(ch, queue)).toEqual(['mid', 'low']);
    },
  );
}
