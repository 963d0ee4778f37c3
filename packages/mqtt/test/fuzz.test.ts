import { connect as netConnect } from 'node:net';
import { generate, type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { collect, connect, startConveyor } from './helpers.js';

/** Small seeded PRNG (mulberry32): the same cases every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID: Packet[] = [
  {
    cmd: 'publish',
    topic: 'f/a',
    payload: Buffer.from('x'),
    qos: 1,
    messageId: 1,
    dup: false,
    retain: false,
  },
  {
    cmd: 'publish',
    topic: 'f/b',
    payload: Buffer.from('yy'),
    qos: 2,
    messageId: 2,
    dup: false,
    retain: true,
    properties: { topicAlias: 1, userProperties: { a: 'b' } },
  },
  {
    cmd: 'subscribe',
    messageId: 3,
    subscriptions: [{ topic: 'f/#', qos: 1, nl: true, rap: true, rh: 1 }],
    properties: { subscriptionIdentifier: 5 },
  },
  { cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['f/#'] },
  { cmd: 'puback', messageId: 1, reasonCode: 0 },
  { cmd: 'pubrec', messageId: 2, reasonCode: 0 },
  { cmd: 'pubrel', messageId: 2, reasonCode: 0 },
  { cmd: 'pubcomp', messageId: 2, reasonCode: 0 },
  { cmd: 'pingreq' },
  { cmd: 'disconnect', reasonCode: 0 },
];
const CONNECT = generate(
  { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'fuzz', clean: true, keepalive: 5 },
  { protocolVersion: 5 },
);

function mutate(bytes: Buffer, r: () => number): Buffer {
  const out = Buffer.from(bytes);
  const edits = 1 + Math.floor(r() * 4);
  for (let i = 0; i < edits; i++) {
    const kind = r();
    if (kind < 0.6) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
    else if (kind < 0.8) return out.subarray(0, Math.floor(r() * out.length));
    else return Buffer.concat([out, Buffer.from([Math.floor(r() * 256)])]);
  }
  return out;
}

function randomBytes(r: () => number): Buffer {
  const len = Math.floor(r() * 40);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
  if (len > 0 && r() < 0.7) b[0] = (Math.floor(r() * 15) + 1) << 4; // a plausible packet type
  return b;
}

let target: Awaited<ReturnType<typeof startConveyor>>;
beforeAll(async () => {
  target = await startConveyor({ maxPacketBytes: 64 * 1024 });
});
afterAll(() => target.close());

/** One socket per case: CONNECT, then a batch of random or mutated packets; the server may close it. */
function runCase(bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect({ port: target.port, host: '127.0.0.1' }, () => {
      socket.write(Buffer.concat([CONNECT, bytes]));
      setTimeout(() => socket.destroy(), 30);
    });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
  });
}

test('seeded fuzz: 5,000+ random and mutated packets after a valid CONNECT; the server survives and serves a fresh client', async () => {
  const r = rng(0xc0ffee);
  const CASES = 5200;
  const PER_SOCKET = 8;
  const parallel = 16;
  let done = 0;
  const batches: Buffer[] = [];
  for (let i = 0; i < CASES / PER_SOCKET; i++) {
    const parts: Buffer[] = [];
    for (let k = 0; k < PER_SOCKET; k++) {
      const valid = generate(VALID[Math.floor(r() * VALID.length)]!, { protocolVersion: 5 });
      parts.push(r() < 0.5 ? randomBytes(r) : mutate(valid, r));
    }
    batches.push(Buffer.concat(parts));
  }
  for (let i = 0; i < batches.length; i += parallel) {
    await Promise.all(batches.slice(i, i + parallel).map(runCase));
    done += Math.min(parallel, batches.length - i) * PER_SOCKET;
  }
  expect(done).toBeGreaterThanOrEqual(5000);
  const sub = await connect(target.url, { protocolVersion: 5 });
  const got = collect(sub);
  await sub.subscribeAsync('alive/check', { qos: 1 });
  await sub.publishAsync('alive/check', 'still here', { qos: 1 });
  expect((await got.next(1))[0]!.payload).toBe('still here');
  sub.end();
}, 60_000);
