// Seeded fuzz material shared by the CI fuzz test (test/fuzz.test.ts) and scripts/fuzz-run.mjs:
// a PRNG, valid packets to start from, and the mutations.

/** mulberry32: the same cases for the same seed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Valid client packets; `v5: true` ones exist only in MQTT 5.0. */
export const VALID = [
  { cmd: 'publish', topic: 'f/a', payload: Buffer.from('x'), qos: 0, dup: false, retain: false },
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
    topic: 'f/b/c',
    payload: Buffer.from('yy'),
    qos: 2,
    messageId: 2,
    dup: false,
    retain: false,
  },
  {
    cmd: 'publish',
    topic: 'f/b',
    payload: Buffer.from('zz'),
    qos: 1,
    messageId: 7,
    dup: false,
    retain: false,
    properties: { topicAlias: 1, userProperties: { a: 'b' }, messageExpiryInterval: 5, contentType: 't' },
    v5: true,
  },
  { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'f/#', qos: 1 }] },
  {
    cmd: 'subscribe',
    messageId: 4,
    subscriptions: [{ topic: '$share/g/f/+', qos: 2, nl: false, rap: true, rh: 1 }],
    properties: { subscriptionIdentifier: 5 },
    v5: true,
  },
  { cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['f/#'] },
  { cmd: 'puback', messageId: 1 },
  { cmd: 'pubrec', messageId: 2 },
  { cmd: 'pubrel', messageId: 2 },
  { cmd: 'pubcomp', messageId: 2 },
  { cmd: 'pingreq' },
  { cmd: 'disconnect' },
  { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'again', clean: true, keepalive: 5 },
];

export function mutate(bytes, r) {
  const out = Buffer.from(bytes);
  const edits = 1 + Math.floor(r() * 4);
  for (let i = 0; i < edits; i++) {
    const kind = r();
    if (kind < 0.5) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
    else if (kind < 0.65) out[Math.floor(r() * out.length)] ^= 1 << Math.floor(r() * 8);
    else if (kind < 0.8) return out.subarray(0, Math.floor(r() * out.length));
    else return Buffer.concat([out, Buffer.from([Math.floor(r() * 256)])]);
  }
  return out;
}

export function randomBytes(r) {
  const len = Math.floor(r() * 48);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
  if (len > 0 && r() < 0.7) b[0] = (Math.floor(r() * 15) + 1) << 4; // a plausible packet type
  return b;
}
