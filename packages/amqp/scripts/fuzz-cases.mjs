// Case generation for fuzz-run.mjs: a seeded PRNG and the bytes a case sends after channel.open.
import { encodeFrame, encodeMethodFrame, HEARTBEAT_FRAME } from '@conveyor/amqp';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Names that hit existing and special entities more often than random strings would.
const NAMES = [
  '',
  'fz',
  'fz2',
  'amq.direct',
  'amq.topic',
  'amq.fanout',
  'amq.headers',
  'amq.x',
  'amq.rabbitmq.reply-to',
  'a.b',
  '#',
  '*.b',
  'c',
];
const TABLE_KEYS = [
  'x-message-ttl',
  'x-max-length',
  'x-max-length-bytes',
  'x-expires',
  'x-overflow',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-delivery-limit',
  'x-consumer-timeout',
  'x-queue-type',
  'alternate-exchange',
  'x-match',
  'k',
];

function generator(rand) {
  const int = (n) => Math.floor(rand() * n);
  const pick = (xs) => xs[int(xs.length)];
  const bytes = (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const str = () => (rand() < 0.8 ? pick(NAMES) : bytes(int(12)).toString('latin1'));
  const number = () => pick([0, 1, 2, 5, 100, 65535, -1, 2 ** 31 - 1, int(1000)]);
  const value = () => pick([number, str, () => rand() < 0.5, () => ({ [pick(TABLE_KEYS)]: number() })])();
  const table = () => {
    const t = {};
    for (let i = 0, n = int(3); i < n; i++) t[pick(TABLE_KEYS)] = value();
    return t;
  };
  const arg = (type) => {
    switch (type) {
      case 'bit':
        return rand() < 0.3;
      case 'octet':
        return int(256);
      case 'short':
        return pick([0, 1, 2, 10, 40, 60, 200, 404, int(65536)]);
      case 'long':
        return pick([0, 1, 100, 4096, 131072, int(2 ** 32)]);
      case 'longlong':
      case 'timestamp':
        return pick([0, 1, 2, 3, int(2 ** 40)]);
      case 'shortstr':
        return str();
      case 'longstr':
        return rand() < 0.5 ? Buffer.from('\u0000guest\u0000guest') : bytes(int(20));
      case 'table':
        return table();
    }
  };
  return { int, pick, bytes, arg, table, str };
}

/** A spec method with random arguments, plus header and body frames when it carries content. */
function validFrames(g, specs, channel) {
  const spec = g.pick(specs);
  const args = {};
  for (const a of spec.args) args[a.field] = g.arg(a.type);
  const method = { name: spec.name, classId: spec.classId, methodId: spec.methodId, args };
  const frames = [encodeMethodFrame(channel, method)];
  if (spec.content) {
    const body = g.bytes(g.int(40));
    const properties = g.pick([
      {},
      { deliveryMode: 2, headers: g.table() },
      { expiration: g.pick(['0', '100', 'x', '-1']), replyTo: g.str(), userId: g.pick(['guest', 'x']) },
      { priority: g.int(256), correlationId: g.str(), messageId: g.str() },
    ]);
    frames.push(encodeFrame({ type: 'header', channel, bodySize: body.length, properties }));
    if (body.length > 0) frames.push(encodeFrame({ type: 'body', channel, payload: body }));
  }
  return frames;
}

function mutate(g, frame) {
  let f = Buffer.from(frame);
  for (let m = 0, n = 1 + g.int(3); m < n; m++) {
    switch (g.int(6)) {
      case 0: // flip a byte
        f[g.int(f.length)] = g.int(256);
        break;
      case 1: // truncate
        f = f.subarray(0, g.int(f.length));
        break;
      case 2: // wrong size field
        if (f.length > 7) f.writeUInt32BE(g.pick([0, 1, g.int(f.length * 2), 2 ** 31]), 3);
        break;
      case 3: // flip one payload bit
        if (f.length > 8) {
          const at = 7 + g.int(f.length - 8);
          f[at] ^= 1 << g.int(8);
        }
        break;
      case 4: // bad frame-end
        f[f.length - 1] = g.int(256);
        break;
      case 5: // insert random bytes
        f = Buffer.concat([
          f.subarray(0, g.int(f.length)),
          g.bytes(1 + g.int(8)),
          f.subarray(g.int(f.length)),
        ]);
        break;
    }
  }
  return f;
}

/** The bytes of one case (sent after a correct handshake and channel.open on channel 1). */
export function caseBytes(rand, specs) {
  const g = generator(rand);
  const parts = [];
  for (let i = 0, n = 1 + g.int(4); i < n; i++) {
    const r = rand();
    const channel = g.pick([1, 1, 1, 1, 0, 2, g.int(65536)]);
    if (r < 0.1) {
      parts.push(g.bytes(1 + g.int(64))); // noise
    } else if (r < 0.3) {
      const payload = g.bytes(g.int(48)); // a well-framed random frame
      const frame = Buffer.alloc(payload.length + 8);
      frame[0] = g.pick([1, 2, 3, 8, g.int(256)]);
      frame.writeUInt16BE(channel, 1);
      frame.writeUInt32BE(payload.length, 3);
      payload.copy(frame, 7);
      frame[frame.length - 1] = rand() < 0.9 ? 0xce : g.int(256);
      parts.push(frame);
    } else if (r < 0.35) {
      parts.push(Buffer.from(HEARTBEAT_FRAME));
    } else {
      const frames = validFrames(g, specs, channel);
      // Half the valid frames go as they are (state-machine fuzzing), half mutated (codec fuzzing).
      if (rand() < 0.5) {
        const at = g.int(frames.length);
        frames[at] = mutate(g, frames[at]);
      }
      parts.push(...frames);
    }
  }
  return Buffer.concat(parts);
}
