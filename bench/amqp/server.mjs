// A Conveyor AMQP server in its own process for the benchmark: node server.mjs <memory|lmdb>
// Sends { type: 'listening', port } over IPC; removes its LMDB directory on exit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, LmdbStore, MemoryStore } from '../../packages/core/dist/index.js';

// BENCH_AMQP_DIST=<path to another build's dist/index.js>: A/B a change against a saved build.
const { AmqpServer } = await import(
  process.env.BENCH_AMQP_DIST ?? new URL('../../packages/amqp/dist/index.js', import.meta.url).href
);

const kind = process.argv[2] ?? 'memory';
const dir = kind === 'lmdb' ? mkdtempSync(join(tmpdir(), 'conveyor-amqp-bench-')) : undefined;
const broker = await Broker.open({
  store: dir ? new LmdbStore({ path: dir }) : new MemoryStore(),
});
const server = new AmqpServer(broker, { heartbeatSeconds: 0 });
const { port } = await server.listen(0, '127.0.0.1');

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => undefined);
  await broker.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
process.on('message', (m) => {
  if (m === 'stop') void stop();
  else if (m === 'cpu') process.send({ type: 'cpu', usage: process.cpuUsage() });
});
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
process.send?.({ type: 'listening', port });
