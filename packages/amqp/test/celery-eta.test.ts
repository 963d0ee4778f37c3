// Celery 5 end to end (issue 16, item 1): with 12 countdown tasks and 4 immediate ones queued, a
// worker runs the immediate ones at once, not after the countdown. kombu raises its channel's
// prefetch for every countdown task it holds and, to a server that is not RabbitMQ, sends
// basic.qos with global=false for that: the immediate tasks came only once the countdown ran out
// before Conveyor gave py-amqp clients the spec's meaning. Same script against RabbitMQ.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RABBITMQ_URL, reachable, startConveyor, type ConveyorTarget } from './helpers/targets.js';
import { PYTHON, pythonHas, run } from './helpers/python.js';

const here = dirname(fileURLToPath(import.meta.url));
const hasCelery = await pythonHas('celery');
if (!hasCelery) {
  if (process.env.CI === 'true') throw new Error('python3-celery is missing for /usr/bin/python3');
  console.warn('[celery] skipping: install python3-celery for /usr/bin/python3');
}

interface Outcome {
  /** Seconds from the worker's start to each immediate task's run. */
  immediate: number[];
  eta_ran_early: number;
}

let dir: string;
async function celery(url: string): Promise<Outcome> {
  const queue = `celery-eta-${randomBytes(4).toString('hex')}`;
  const { stdout } = await run(
    PYTHON,
    [join(here, 'interop', 'celery_eta.py'), url, queue, join(dir, `${queue}.jsonl`)],
    { timeout: 45_000 },
  );
  return JSON.parse(stdout) as Outcome;
}

let t: ConveyorTarget;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-celery-'));
  t = await startConveyor();
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasCelery)('Celery: immediate tasks behind countdown tasks', () => {
  it('Conveyor: the 4 immediate tasks run long before the 10 s countdown is over', async () => {
    const outcome = await celery(`amqp://guest:guest@127.0.0.1:${t.port}//`);
    expect(outcome.immediate).toHaveLength(4);
    // RabbitMQ here: about 0.8 s after the worker starts (its start-up included).
    for (const seconds of outcome.immediate) expect(seconds).toBeLessThan(5);
    expect(outcome.eta_ran_early).toBe(0);
  }, 60_000);

  it('RabbitMQ: the same (the test checks RabbitMQ’s behaviour)', async (ctx) => {
    if (!(await reachable(RABBITMQ_URL))) {
      if (process.env.CI === 'true') throw new Error(`RabbitMQ is not reachable at ${RABBITMQ_URL}`);
      return ctx.skip();
    }
    const url = RABBITMQ_URL.endsWith('/') ? `${RABBITMQ_URL}/` : `${RABBITMQ_URL}//`;
    const outcome = await celery(url);
    expect(outcome.immediate).toHaveLength(4);
    for (const seconds of outcome.immediate) expect(seconds).toBeLessThan(5);
  }, 60_000);
});
