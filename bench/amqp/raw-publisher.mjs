// Raw load generator: one basic.publish (method + header + 256-byte body) encoded once with the codec,
// repeated into a large batch buffer and written batch after batch, waiting only for socket drain.
//   node raw-publisher.mjs <url> <queue> <count> <seconds> [batch=2000]
import { createMethod, encodeContent } from '../../packages/amqp/dist/index.js';
import { deadline, now, rawClose, rawOpen } from './lib.mjs';

const [url, queue, countArg, secondsArg, batchArg] = process.argv.slice(2);
const N = Number(countArg);
const BATCH = Number(batchArg ?? 2000);
deadline(Number(secondsArg), 'raw publisher');

const one = encodeContent(
  1,
  createMethod('basic.publish', { exchange: '', routingKey: queue }),
  { deliveryMode: 1, contentType: 'application/octet-stream' },
  Buffer.alloc(256, 0x61),
  131072,
);
const batch = Buffer.concat(Array.from({ length: BATCH }, () => one));
const socket = await rawOpen(url);
socket.on('data', () => undefined); // nothing expected; keep the socket flowing

const startAt = now();
let sent = 0;
while (sent < N) {
  const n = Math.min(BATCH, N - sent);
  const ok = socket.write(n === BATCH ? batch : batch.subarray(0, n * one.length));
  sent += n;
  if (!ok) await new Promise((r) => socket.once('drain', r));
}
await new Promise((r) => socket.write(Buffer.alloc(0), r)); // flushed to the kernel
const writtenAt = now();
// Stay connected until the orchestrator has the consumer's count: closing early could drop queued work.
process.on('message', (m) => {
  if (m === 'exit') {
    rawClose(socket);
    setTimeout(() => process.exit(0), 300);
  }
});
process.send?.({ type: 'result', sent, startAt, writtenAt, frameBytes: one.length });
