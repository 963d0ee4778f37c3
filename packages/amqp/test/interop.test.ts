/** Real clients other than amqplib against Conveyor: pika (Python) and Debian's amqp-tools (librabbitmq, C). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeClients, connect } from './helpers/amqp-clients.js';
import { startConveyor, type ConveyorTarget } from './helpers/targets.js';
import { PYTHON, pythonHas, run } from './helpers/python.js';

const here = dirname(fileURLToPath(import.meta.url));
const hasPika = await pythonHas('pika');
const hasAmqpTools = existsSync('/usr/bin/amqp-publish');
if (!hasPika) console.warn('[amqp interop] skipping pika: install python3-pika for /usr/bin/python3');
if (!hasAmqpTools) console.warn('[amqp interop] skipping amqp-tools: install amqp-tools');

let t: ConveyorTarget;
beforeAll(async () => {
  t = await startConveyor();
});
afterAll(async () => {
  await closeClients();
  await t.close();
});

describe('interop', () => {
  it.skipIf(!hasPika)(
    'pika: confirms, get, topic consume, mandatory return, 404, direct reply-to',
    async () => {
      const { stdout } = await run(PYTHON, [join(here, 'interop', 'pika_client.py'), String(t.port)], {
        timeout: 15_000,
      });
      expect(JSON.parse(stdout)).toEqual({
        get: { body: 'from pika', content_type: 'text/plain', headers: { n: 1 } },
        topic: ['a.one', 'a.three'],
        unroutable: 'returned',
        passive_missing: 404,
        reply_to: ['pong'],
      });
    },
  );

  it.skipIf(!hasAmqpTools)('amqp-tools: amqp-publish, amqp-get and amqp-consume', async () => {
    const url = `amqp://guest:guest@127.0.0.1:${t.port}`;
    const ch = await (await connect(t.url)).createChannel();
    await ch.assertQueue('tools-q', { durable: false });
    await run('amqp-publish', ['-u', url, '-r', 'tools-q', '-b', 'one']);
    await run('amqp-publish', ['-u', url, '-r', 'tools-q', '-b', 'two']);
    const got = await run('amqp-get', ['-u', url, '-q', 'tools-q']);
    expect(got.stdout).toBe('one');
    const consumed = await run('amqp-consume', ['-u', url, '-q', 'tools-q', '-c', '1', 'cat'], {
      timeout: 10_000,
    });
    expect(consumed.stdout).toBe('two');
    expect((await ch.checkQueue('tools-q')).messageCount).toBe(0);
  });
});
