// Raw consumer: handshake by hand, basic.consume no-ack, then only count basic.deliver frames by reading
// frame headers (no decoding). Reports the time of the first and of the N-th delivery.
//   node raw-consumer.mjs <url> <queue> <count> <seconds>
import { createMethod } from '../../packages/amqp/dist/index.js';
import { deadline, now, rawClose, rawOpen, ready, report } from './lib.mjs';

const [url, queue, countArg, secondsArg] = process.argv.slice(2);
const N = Number(countArg);
deadline(Number(secondsArg), 'raw consumer');

const socket = await rawOpen(url, [
  [createMethod('queue.declare', { queue, autoDelete: true }), 'queue.declare-ok'],
  [createMethod('basic.consume', { queue, consumerTag: 'c', noAck: true }), 'basic.consume-ok'],
]);

let count = 0;
let firstAt = 0;
let pending = Buffer.alloc(0); // an incomplete frame carried between chunks
let skip = 0; // bytes of a frame's payload still to skip in later chunks
socket.on('data', (chunk) => {
  let buf = chunk;
  let o = 0;
  if (skip > 0) {
    const n = Math.min(skip, buf.length);
    skip -= n;
    o = n;
    if (skip > 0) return;
  }
  if (pending.length > 0) {
    buf = Buffer.concat([pending, buf.subarray(o)]);
    o = 0;
    pending = Buffer.alloc(0);
  }
  while (o < buf.length) {
    if (buf.length - o < 11) {
      pending = Buffer.from(buf.subarray(o));
      break;
    }
    const type = buf[o];
    const size = buf.readUInt32BE(o + 3);
    // basic.deliver = class 60, method 60
    if (type === 1 && buf.readUInt32BE(o + 7) === 0x003c003c) {
      if (count === 0) firstAt = now();
      if (++count === N) {
        report({ count, firstAt, lastAt: now() });
        rawClose(socket);
        return;
      }
    }
    const end = o + 8 + size;
    if (end > buf.length) {
      skip = end - buf.length;
      break;
    }
    o = end;
  }
});
ready();
