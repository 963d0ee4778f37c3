import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Request } from '../src/index.js';
import { startApp, uniquePrefix, usedPrefixes } from './helpers/apps.js';
import { deleteTestQueues, publishRaw, reachable } from './helpers/raw-amqp.js';
import { patternSuite } from './patterns.shared.js';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const available = await reachable(url);

if (!available && process.env['CI'] !== 'true') {
  describe('@conveyor/nestjs patterns (RabbitMQ)', () => {
    it.skip(`RabbitMQ unreachable at ${url}: start it or set RABBITMQ_URL (required when CI=true)`, () =>
      undefined);
  });
} else {
  beforeAll(() => {
    if (!available) throw new Error(`RabbitMQ unreachable at ${url} and CI=true`);
  });
  afterAll(async () => {
    if (available) await deleteTestQueues(url, usedPrefixes);
  });
  patternSuite({
    name: 'RabbitMQ',
    connection: () => ({ url, kind: 'rabbitmq' }),
    publishRaw: (queue, body, contentType) => publishRaw(url, queue, body, contentType),
  });

  describe('upgrading over the old layout on RabbitMQ [issue 14, item 7]', () => {
    it('an old @Request queue with x-dead-letter-* keeps its arguments (no 406) and its non-empty DLQ stays', async () => {
      const p = uniquePrefix();
      const old = await amqp.connect(url);
      const ch = await old.createConfirmChannel();
      await ch.assertQueue(`${p}.ask.dlq`);
      await ch.assertQueue(`${p}.ask`, { deadLetterExchange: '', deadLetterRoutingKey: `${p}.ask.dlq` });
      ch.sendToQueue(`${p}.ask.dlq`, Buffer.from('{"old":true}'));
      await ch.waitForConfirms();
      @Controller()
      class H {
        @Request(`${p}.ask`)
        ask(): string {
          return 'answer';
        }
      }
      const app = await startApp([H], { url, kind: 'rabbitmq' });
      try {
        await expect(app.client.request(`${p}.ask`, {})).resolves.toBe('answer');
        expect((await ch.checkQueue(`${p}.ask.dlq`)).messageCount).toBe(1);
        // Its retry queue is RabbitMQ's only way to delay: still there.
        await expect(ch.checkQueue(`${p}.ask.retry`)).resolves.toBeDefined();
      } finally {
        await app.close();
        for (const q of [`${p}.ask`, `${p}.ask.dlq`, `${p}.ask.retry`]) await ch.deleteQueue(q);
        await old.close();
      }
    });
  });
}
