import { generate } from 'mqtt-packet';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sleep, startConveyor, uid } from './helpers.js';
import { RawClient } from './raw-client.js';

let target: Awaited<ReturnType<typeof startConveyor>>;
beforeAll(async () => {
  target = await startConveyor();
});
afterAll(() => target.close());

test('a connection closed while its SUBSCRIBE is being set up leaves no queue behind (found by the fuzzer: orphaned $share queues collected messages for ever)', async () => {
  const vhost = target.broker.vhost('/');
  for (let i = 0; i < 20; i++) {
    const raw = await RawClient.open(target.port);
    await raw.connect(uid());
    // SUBSCRIBE and, in the same chunk, a malformed packet: the server closes the connection while
    // the subscription is still being set up.
    raw.sendBytes(
      Buffer.concat([
        generate(
          {
            cmd: 'subscribe',
            messageId: 1,
            subscriptions: [
              { topic: '$share/g/gone/+', qos: 1 },
              { topic: 'gone/own', qos: 0 },
            ],
          },
          { protocolVersion: 5 },
        ),
        Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
      ]),
    );
    await raw.untilClosed();
  }
  await sleep(300);
  const left = (await vhost.listQueues()).map((q) => q.name).filter((n) => n.startsWith('mqtt-'));
  expect(left).toEqual([]);
});
