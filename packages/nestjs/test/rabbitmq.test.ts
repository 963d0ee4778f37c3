import { afterAll, beforeAll, describe, it } from 'vitest';
import { usedPrefixes } from './helpers/apps.js';
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
}
