/**
 * The pattern suite with the app's engine on a shared Redis store (`connection: { store: url }`),
 * the same URL form as `conveyor start --store`. The raw AMQP publisher talks to another node of
 * that store: what it sends reaches the app's handlers through Redis.
 */
import { AmqpServer } from '@conveyor/amqp';
import { Broker } from '@conveyor/core';
import { RedisStore } from '@conveyor/store-redis';
import { afterAll, beforeAll, describe } from 'vitest';
import {
  REDIS_URL,
  deletePrefix,
  redisUnavailable,
  uniquePrefix,
} from '../../store-redis/test/redis-fixture.js';
import { publishRaw } from './helpers/raw-amqp.js';
import { patternSuite } from './patterns.shared.js';

const skip = await redisUnavailable();
const prefix = uniquePrefix();
const storeUrl = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`;
let otherNode: Broker | undefined;
let amqpServer: AmqpServer | undefined;
let port = 0;

beforeAll(async () => {
  if (skip !== undefined) return;
  otherNode = await Broker.open({
    store: new RedisStore({ url: REDIS_URL, prefix }),
    onError: () => undefined,
  });
  amqpServer = new AmqpServer(otherNode);
  port = (await amqpServer.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await amqpServer?.close();
  await otherNode?.close();
  if (skip === undefined) await deletePrefix(prefix);
});

describe.skipIf(skip !== undefined)(`on a shared store${skip ? ` (skipped: ${skip})` : ''}`, () => {
  patternSuite({
    name: 'shared Redis store',
    connection: () => ({ store: storeUrl }),
    publishRaw: (queue, body, contentType) =>
      publishRaw(`amqp://guest:guest@127.0.0.1:${port}`, queue, body, contentType),
  });
});
