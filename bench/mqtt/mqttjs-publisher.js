// Child process: one mqtt.js publisher, so the publishers do not share the subscribers' process
// (one mqtt.js process saturates before the brokers do).
//   parent → { url, clientId, topic, qos, count, window, payloadBytes, maxMs, index }, then 'go';
//   parent → { delivered } as the slowest subscriber receives this publisher's messages;
//   child → 'ready', then { sent } when done.
// Payload: 8 bytes of absolute time (performance.timeOrigin + now, comparable across processes),
// then the publisher's index.
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';

const job = await new Promise((resolve) => process.once('message', resolve));
const client = await mqtt.connectAsync(job.url, {
  clientId: job.clientId,
  clean: true,
  reconnectPeriod: 0,
  connectTimeout: 5000,
  protocolVersion: 4,
});
let delivered = 0;
let wake;
process.on('message', (m) => {
  if (typeof m === 'object' && m.delivered !== undefined) {
    delivered = m.delivered;
    wake?.();
  }
});
process.send('ready');
await new Promise((resolve) => process.once('message', (m) => m === 'go' && resolve()));
const deadline = Date.now() + job.maxMs;
let sent = 0;
while (sent < job.count && Date.now() < deadline) {
  while (sent - delivered >= job.window && Date.now() < deadline)
    await new Promise((resolve) => {
      wake = resolve;
      setTimeout(resolve, 50);
    });
  const payload = Buffer.alloc(job.payloadBytes, 0x61);
  payload.writeDoubleLE(performance.timeOrigin + performance.now(), 0);
  payload[8] = job.index;
  sent++;
  if (job.qos === 0) client.publish(job.topic, payload, { qos: 0 });
  else client.publish(job.topic, payload, { qos: 1 }, () => undefined);
  if (sent % 64 === 0) await new Promise((r) => setImmediate(r));
}
process.send({ sent });
await client.endAsync().catch(() => undefined);
process.exit(0);
