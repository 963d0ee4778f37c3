// The node's cost of a take's reply, in process: ioredis's RESP decoder and takenToMessages, per
// message, for both of the reply's shapes (takeIds in the Lua prelude): a head and a packed value
// per message, and '*' with the ids joined, then the values (a take of first deliveries only).
// No socket and no Redis, so the figures are steady; shapes alternate, medians of 8:
//   npm run build && node bench/scale-out/take-reply-decode.mjs [--batch 25] [--body 256]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { packRecord, takenToMessages } from '../../packages/store-redis/dist/record-codec.js';
import { recordFactory } from './store-builds.mjs';

const { values: opt } = parseArgs({
  options: { batch: { type: 'string', default: '25' }, body: { type: 'string', default: '256' } },
});
const N = Number(opt.batch);
const require = createRequire(import.meta.url);
const { Decoder, RESP_TYPES: T } = require('ioredis/built/resp/decoder.js');
// As ioredis 6 maps RESP2 replies for a command whose reply is read as Buffers.
const mapping = {
  [T.SIMPLE_STRING]: Buffer,
  [T.BLOB_STRING]: Buffer,
  [T.VERBATIM_STRING]: Buffer,
  [T.BIG_NUMBER]: String,
  [T.DOUBLE]: Buffer,
  [T.BOOLEAN]: Number,
  [T.MAP]: Array,
  [T.SET]: Array,
};
let reply;
const decoder = new Decoder({
  getTypeMapping: () => mapping,
  onReply: (r) => (reply = r),
  onErrorReply: (err) => {
    throw err;
  },
  onPush: () => {},
});

const packed = packRecord(recordFactory(Number(opt.body))());
const ids = Array.from({ length: N }, (_, i) => String(1_796_704_800_000 * 1024 + i));
const bulk = (b) => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
const array = (items) => Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items.map(bulk)]);
const shapes = {
  'a head and a value per message': array(ids.flatMap((id) => [Buffer.from(id), packed])),
  "'*' and the ids joined, then the values": array([
    Buffer.from(`*${ids.join(' ')}`),
    ...ids.map(() => packed),
  ]),
};

/** µs per message of decoding the reply and reading its messages, over `iterations` replies. */
function cost(wire, iterations) {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    decoder.write(wire);
    if (takenToMessages(reply).length !== N) throw new Error('a take reply misread');
  }
  const { user, system } = process.cpuUsage(start);
  return (user + system) / iterations / N;
}

const runs = Object.fromEntries(Object.keys(shapes).map((name) => [name, []]));
for (let round = 0; round < 11; round++)
  for (const [name, wire] of Object.entries(shapes)) {
    const us = cost(wire, 20_000);
    if (round >= 3) runs[name].push(us); // the first rounds warm the JIT up
  }
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`A take's reply, ${N} messages of ${opt.body} B: decode + takenToMessages, µs per message\n`);
console.log('| reply shape | µs per message |\n| --- | ---: |');
for (const [name, xs] of Object.entries(runs)) console.log(`| ${name} | ${median(xs).toFixed(3)} |`);
