import { afterEach, vi } from 'vitest';
import { Broker, type BrokerOptions, type VirtualHost } from '../../src/index.js';

const open: Broker[] = [];

/** A broker on a fresh memory store, closed after the test. */
export async function openBroker(options: BrokerOptions = {}): Promise<{ broker: Broker; vh: VirtualHost }> {
  const broker = await Broker.open(options);
  open.push(broker);
  return { broker, vh: broker.vhost() };
}

afterEach(async () => {
  vi.useRealTimers();
  for (const b of open.splice(0)) await b.close();
});

/**
 * Fake timers for this test (real ones again after it), with the engine's clock on them: pass the
 * result to `openBroker`, then `advance` time, and a lease, TTL, expiry or timeout runs out in no
 * real time. (The engine's default clock is the real `Date.now`, captured before faking.)
 */
export function fakeClock(): Pick<BrokerOptions, 'clock'> {
  vi.useFakeTimers();
  return { clock: () => Date.now() };
}

/** Moves fake time on by `ms`, running the timers and promise callbacks that fall due. */
export async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function text(body: Uint8Array): string {
  return Buffer.from(body).toString('utf8');
}
