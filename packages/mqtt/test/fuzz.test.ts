import { connect as netConnect } from 'node:net';
import { generate } from 'mqtt-packet';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { VALID, mutate, randomBytes, rng } from '../scripts/fuzz-cases.mjs';
import { collect, connect, startConveyor } from './helpers.js';

const CONNECT = generate(
  { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'fuzz', clean: true, keepalive: 5 },
  { protocolVersion: 5 },
);

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
      const { v5: _v5, ...packet } = VALID[Math.floor(r() * VALID.length)]!;
      const valid = generate(packet, { protocolVersion: 5 });
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
