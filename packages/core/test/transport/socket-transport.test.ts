/** The socket layer of every door: one flush per event-loop turn, TCP_NODELAY, and reading paused on backpressure. */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SocketTransport } from '../../src/internal.js';

async function until(done: () => boolean, timeoutMs = 2000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !done();) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

let server: Server | undefined;
const sockets: Socket[] = [];

async function pair(): Promise<{ serverSide: Socket; client: Socket }> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const client = netConnect((server!.address() as { port: number }).port, '127.0.0.1');
  const serverSide = await accepted;
  sockets.push(client, serverSide);
  return { serverSide, client };
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('SocketTransport', () => {
  it('coalesces the writes of one event-loop turn into one flush', async () => {
    const { serverSide, client } = await pair();
    const transport = new SocketTransport(serverSide);
    const received: Buffer[] = [];
    client.on('data', (d: Buffer) => received.push(d));
    transport.write(Buffer.from('abc'));
    transport.write(Buffer.from('def'));
    // Gathered: nothing has gone to the kernel yet within this turn.
    expect(transport.bufferedBytes).toBe(6);
    expect(serverSide.writableLength).toBe(0);
    await until(() => Buffer.concat(received).toString() === 'abcdef');
  });

  it('keeps order and content when a turn mixes many small frames with large ones', async () => {
    const { serverSide, client } = await pair();
    const transport = new SocketTransport(serverSide);
    const received: Buffer[] = [];
    client.on('data', (d: Buffer) => received.push(d));
    const sent: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const size = i % 1000 === 500 ? 200 * 1024 : 1 + (i % 300);
      const frame = Buffer.alloc(size, i % 251);
      sent.push(frame);
      transport.write(frame);
    }
    const expected = Buffer.concat(sent);
    await until(() => Buffer.concat(received).length >= expected.length, 5000);
    expect(Buffer.concat(received).equals(expected)).toBe(true);
  });

  it('stops reading while the write buffer is over the high watermark, resumes on drain', async () => {
    const { serverSide, client } = await pair();
    const transport = new SocketTransport(serverSide, { writeHighWatermark: 64 * 1024 });
    client.pause(); // a peer that does not read
    for (let i = 0; i < 64 && !serverSide.isPaused(); i++) transport.write(Buffer.alloc(256 * 1024));
    expect(serverSide.isPaused()).toBe(true);
    client.resume();
    await until(() => !serverSide.isPaused(), 5000);
  });

  it('end(): the 5 s destroy timer goes once the socket closes (it would keep the connection alive)', async () => {
    const { serverSide, client } = await pair();
    const transport = new SocketTransport(serverSide);
    client.on('end', () => client.end());
    const set = vi.spyOn(globalThis, 'setTimeout');
    const clear = vi.spyOn(globalThis, 'clearTimeout');
    try {
      transport.end();
      const timer = set.mock.results.find((r) => r.type === 'return')?.value as unknown;
      expect(timer).toBeDefined();
      await new Promise((resolve) => serverSide.once('close', resolve));
      expect(clear).toHaveBeenCalledWith(timer);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
  });

  it('reading resumes only when every reason to pause is gone', async () => {
    const { serverSide } = await pair();
    const transport = new SocketTransport(serverSide);
    transport.pauseReading('blocked');
    transport.pauseReading('publishes');
    transport.resumeReading('blocked');
    expect(serverSide.isPaused()).toBe(true);
    transport.resumeReading('publishes');
    expect(serverSide.isPaused()).toBe(false);
  });
});
