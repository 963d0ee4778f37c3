// Work nobody waits on (here: the engine ack behind a PUBACK) reports its failures to the
// server's onError and counts them; a race lost to another step (the lease already gone) is not
// news. Either way the connection and the server go on.
import { LeaseNotHeldError, StoreError } from '@conveyor/core';
import { failMethods } from '@conveyor/core/testing';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { connect, startConveyor, uid } from './helpers.js';

let target: Awaited<ReturnType<typeof startConveyor>>;
const errors: unknown[] = [];
beforeEach(async () => {
  errors.length = 0;
  target = await startConveyor({ onError: (err) => errors.push(err) });
});
afterEach(() => target.close());

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('a failed ack behind a PUBACK reaches onError and is counted; a lost race is not; the server goes on', async () => {
  const topic = `bg/${uid()}`;
  const sub = await connect(target.url);
  const pub = await connect(target.url);
  const got: string[] = [];
  sub.on('message', (_t, payload) => got.push(payload.toString()));
  await sub.subscribeAsync(topic, { qos: 1 });
  const vhost = target.broker.vhost('/');

  const broken = failMethods(vhost, { ack: 'reject' }, () => new StoreError('disk gone'));
  await pub.publishAsync(topic, 'one', { qos: 1 });
  await until(() => errors.length > 0);
  broken.restore();
  expect(got).toEqual(['one']);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toBeInstanceOf(StoreError);
  expect(target.server.backgroundErrors).toBe(1);

  const raced = failMethods(vhost, { ack: 'reject' }, () => new LeaseNotHeldError('already settled'));
  await pub.publishAsync(topic, 'two', { qos: 1 });
  await until(() => got.length === 2);
  raced.restore();
  await pub.publishAsync(topic, 'three', { qos: 1 });
  await until(() => got.length === 3);
  expect(got).toEqual(['one', 'two', 'three']);
  expect(errors).toHaveLength(1);
  expect(target.server.backgroundErrors).toBe(1);
  await Promise.all([sub.endAsync(), pub.endAsync()]);
});
