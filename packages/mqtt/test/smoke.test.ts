import { Broker } from '@conveyor/core';
import mqtt from 'mqtt';
import { expect, test } from 'vitest';
import { MqttServer } from '../src/index.js';

test('smoke', async () => {
  const broker = await Broker.open();
  const server = new MqttServer(broker);
  const { port } = await server.listen(0);
  for (const protocolVersion of [4, 5] as const) {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion, clientId: `c${protocolVersion}` });
    await c.subscribeAsync('a/+/c', { qos: 1 });
    const got = new Promise<string>((r) => c.once('message', (t, p) => r(`${t}:${p.toString()}`)));
    await c.publishAsync('a/b/c', 'hi', { qos: 1 });
    expect(await got).toBe('a/b/c:hi');
    await c.endAsync();
  }
  await server.close();
  await broker.close();
});
