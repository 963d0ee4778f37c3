import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a Redis for tests of a lost connection. `cutReplyTo(marker)`: the next
 * client write that holds `marker` still reaches Redis, which runs it, but the connection closes
 * before its reply comes back, as when a network path or a proxy fails at that moment.
 * `refuse()` closes every connection and stops listening (Redis unreachable) until `accept()`.
 */
export async function cuttingProxy(target: string) {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let marker: Buffer | undefined;
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    open.add(client).add(upstream);
    let cutting = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('data', (chunk) => {
      if (marker && chunk.includes(marker)) {
        marker = undefined;
        cutting = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => (cutting ? end() : client.write(chunk)));
    for (const socket of [client, upstream]) {
      socket.on('error', end); // the test's own cut, or Redis going away: both ends close
      socket.on('close', end);
    }
  });
  const listen = (at: number) => new Promise<void>((resolve) => server.listen(at, '127.0.0.1', resolve));
  await listen(0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy: no port');
  const dropAll = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    url: `redis://127.0.0.1:${address.port}`,
    cutReplyTo(text: string): void {
      marker = Buffer.from(text);
    },
    /** Connections refused (ECONNREFUSED), as a Redis that is down. */
    async refuse(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await closed;
    },
    accept: () => listen(address.port),
    async close(): Promise<void> {
      dropAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
