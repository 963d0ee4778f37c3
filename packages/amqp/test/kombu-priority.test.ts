// kombu, Celery's AMQP transport, against a priority queue (issue 16, item 2): Celery's
// `priority=` tasks run highest first. The same script against Conveyor and the real RabbitMQ.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RABBITMQ_URL, reachable, startConveyor, type ConveyorTarget } from './helpers/targets.js';
import { PYTHON, pythonHas, run } from './helpers/python.js';

const here = dirname(fileURLToPath(import.meta.url));
const hasKombu = await pythonHas('kombu');
if (!hasKombu) console.warn('[kombu] skipping: install python3-kombu for /usr/bin/python3');

// What the script publishes: index → priority (two per level 0..9, then one above the maximum).
const ORDER = [...[3, 9, 0, 6, 1, 8, 4, 7, 2, 5], ...[3, 9, 0, 6, 1, 8, 4, 7, 2, 5], 12];
const EXPECTED = ORDER.map((priority, n) => ({ n, level: Math.min(priority, 10) }))
  .sort((a, b) => b.level - a.level)
  .map((m) => m.n);

async function consumedOrder(url: string): Promise<number[]> {
  const queue = `kombu-prio-${randomBytes(4).toString('hex')}`;
  const { stdout } = await run(PYTHON, [join(here, 'interop', 'kombu_priority.py'), url, queue], {
    timeout: 20_000,
  });
  return JSON.parse(stdout) as number[];
}

let t: ConveyorTarget;
beforeAll(async () => {
  t = await startConveyor();
});
afterAll(() => t.close());

describe.skipIf(!hasKombu)('kombu priority queue', () => {
  it('Conveyor: messages come out highest priority first, FIFO within a level, above the maximum as the maximum', async () => {
    expect(await consumedOrder(`amqp://guest:guest@127.0.0.1:${t.port}//`)).toEqual(EXPECTED);
  });

  it('RabbitMQ: the same order (the test checks RabbitMQ’s behaviour)', async (ctx) => {
    if (!(await reachable(RABBITMQ_URL))) {
      if (process.env.CI === 'true') throw new Error(`RabbitMQ is not reachable at ${RABBITMQ_URL}`);
      return ctx.skip();
    }
    const url = RABBITMQ_URL.endsWith('/') ? `${RABBITMQ_URL}/` : `${RABBITMQ_URL}//`;
    expect(await consumedOrder(url)).toEqual(EXPECTED);
  });
});
