import { afterAll, beforeAll, expect, test } from 'vitest';
import { connect, connectCollecting, startConveyor, uid } from './helpers.js';

let target: Awaited<ReturnType<typeof startConveyor>>;
beforeAll(async () => {
  target = await startConveyor();
});
afterAll(() => target.close());

for (const protocolVersion of [4, 5] as const) {
  test(`v${protocolVersion}: an absent client gets all 5,000 queued QoS 1 messages, in order`, async () => {
    const clientId = uid();
    const opts =
      protocolVersion === 5
        ? { protocolVersion, clientId, clean: false, properties: { sessionExpiryInterval: 300 } }
        : { protocolVersion, clientId, clean: false };
    const first = await connect(target.url, opts);
    await first.subscribeAsync('absent/+', { qos: 1 });
    await first.endAsync();
    const pub = await connect(target.url, { protocolVersion });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 5000; i++) sends.push(pub.publishAsync('absent/x', String(i), { qos: 1 }));
    await Promise.all(sends);
    await pub.endAsync();
    expect((await target.broker.vhost('/').count(`mqtt-subscription-${clientId}qos1`)).ready).toBe(5000);
    const { client, got, connack } = connectCollecting(target.url, opts);
    expect((await connack).sessionPresent).toBe(true);
    const all = await got.next(5000, 30_000);
    expect(all.map((m) => Number(m.payload))).toEqual([...Array(5000).keys()]);
    await client.endAsync();
  }, 60_000);
}
