// Child process: one raw publisher. Encodes one PUBLISH once (mqtt-packet), repeats it into a
// large batch, writes batches (waiting for 'drain'), bounded by count and time.
//   parent → { port, host, topic, count, batch, payloadBytes, clientId }, then 'go', then 'stop'
import { once } from 'node:events';
import { encode, rawConnect } from './raw.js';

const job = await new Promise((resolve) => process.once('message', resolve));
const { socket } = await rawConnect(job.port, job.clientId, job.host);
const one = encode({
  cmd: 'publish',
  topic: job.topic,
  payload: Buffer.alloc(job.payloadBytes, 0x61),
  qos: 0,
  dup: false,
  retain: false,
});
const batch = Buffer.concat(new Array(job.batch).fill(one));
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
