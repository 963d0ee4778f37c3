import { afterEach } from 'vitest';
import { Broker, type BrokerOptions, type VirtualHost } from '../../src/index.js';

const open: Broker[] = [];

/** A broker on a fresh memory store, closed after the test. */
export async function openBroker(options: BrokerOptions = {}): Promise<{ broker: Broker; vh: VirtualHost }> {
  const broker = await Broker.open(options);
  open.push(broker);
  return { broker, vh: broker.vhost() };
}

afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function text(body: Uint8Array): string {
  return Buffer.from(body).toString('utf8');
}
