import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBroker, StartError, type ListenerModule, type RunningBroker } from '@conveyor/broker';

const silent = pino({ level: 'silent' });
const servers: Server[] = [];
let running: RunningBroker | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A listener standing in for a protocol door: a plain TCP server. */
function tcpListener(name: string): ListenerModule {
  return {
    name,
    portFlag: `--${name}-port`,
    likelyHolder: `another ${name} server`,
    listen: (_servers, port, host) =>
      new Promise<AddressInfo>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, host, () => {
          servers.push(server);
          resolve(server.address() as AddressInfo);
        });
      }),
  };
}

describe('startBroker', () => {
  it('opens the engine and reports the ports each listener actually bound', async () => {
    running = await startBroker({
      store: { kind: 'memory' },
      bind: '127.0.0.1',
      ports: { a: 0, b: 0 },
      logger: silent,
      listeners: [tcpListener('a'), tcpListener('b')],
    });
    expect(running.listeners.map((l) => l.name)).toEqual(['a', 'b']);
    for (const listener of running.listeners) expect(listener.port).toBeGreaterThan(0);
    await running.broker.vhost().declareQueue('q');
    expect((await running.broker.vhost().send('q', { body: 'x' })).queues).toEqual(['q']);
  });

  it('names the port, its likely holder and the flag when the port is taken, and closes the engine', async () => {
    const holder = createServer();
    servers.push(holder);
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as AddressInfo).port)),
    );
    const error = await startBroker({
      store: { kind: 'memory' },
      bind: '127.0.0.1',
      ports: { a: port },
      logger: silent,
      listeners: [tcpListener('a')],
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).code).toBe('PORT_IN_USE');
    expect((error as StartError).message).toBe(
      `a: port ${port} on 127.0.0.1 is already in use (another a server?); choose another with --a-port PORT (0 = any free port)`,
    );
  });

  it('refuses a shared store URL other than redis://', async () => {
    await expect(
      startBroker({ store: { kind: 'shared', url: 'nats://localhost' }, logger: silent, listeners: [] }),
    ).rejects.toThrow(
      /only redis:\/\/, rediss:\/\/ and redis\+cluster:\/\/h1:p1,h2:p2 shared stores are supported/,
    );
  });

  it('skips a listener that is switched off', async () => {
    running = await startBroker({
      store: { kind: 'memory' },
      ports: { a: false },
      logger: silent,
      listeners: [tcpListener('a')],
    });
    expect(running.listeners).toEqual([]);
  });
});
