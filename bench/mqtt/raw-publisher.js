// Child process: one raw publisher. Encodes one PUBLISH once (mqtt-packet), repeats it into a
// large batch, writes batches (waiting for 'drain'), bounded by count and time.
//   parent → { port, host, topic | topics, count, batch, payloadBytes, clientId }, then 'go', then 'stop'
import { once } from 'node:events';
import { encode, rawConnect } from './raw.js';

const job = await new Promise((resolve) => process.once('message', resolve));
const { socket } = await rawConnect(job.port, job.clientId, job.host);
// One packet per topic, cycled through the batch (every packet of a topic has the same size).
const topics = job.topics ?? [job.topic];
const packets = topics.map((topic) =>
  encode({
    cmd: 'publish',
    topic,
    payload: Buffer.alloc(job.payloadBytes, 0x61),
    qos: 0,
    dup: false,
    retain: false,
  }),
);
const one = packets[0];
const batch = Buffer.concat(Array.from({ length: job.batch }, (_, i) => packets[i % packets.length]));
if (topics.length > 1 && new Set(packets.map((p) => p.length)).size !== 1)
  throw new Error('raw publisher: topics of different lengths (the batch is cut by packet count)');
process.send('ready');
await new Promise((resolve) => process.once('message', resolve));
const deadline = Date.now() + job.maxMs;
let sent = 0;
while (sent < job.count && Date.now() < deadline && !socket.destroyed) {
  const n = Math.min(job.batch, job.count - sent);
  const ok = socket.write(n === job.batch ? batch : batch.subarray(0, n * one.length));
  sent += n;
  if (!ok) await Promise.race([once(socket, 'drain'), new Promise((r) => setTimeout(r, 2000))]);
}
process.send({ sent });
await new Promise((resolve) => process.once('message', resolve));
socket.end(encode({ cmd: 'disconnect' }));
setTimeout(() => process.exit(0), 200);
