// The server under fuzz, in its own process (run with --expose-gc): node fuzz-server.mjs
// IPC: → { type: 'listening', port }; 'mem' → { type: 'mem', ... } after a forced GC; 'stop'.
// 'mem' purges every queue first; with { clean: true } it also deletes the queues and exchanges
// created since the first 'mem'.
import { writeHeapSnapshot } from 'node:v8';
import { Broker, MemoryStore } from '@conveyor/core';
import { AmqpServer } from '@conveyor/amqp';

const errors = [];
const broker = await Broker.open({ store: new MemoryStore() });
const server = new AmqpServer(broker, {
  heartbeatSeconds: 0,
  onError: (err) => errors.push(String(err?.stack ?? err).slice(0, 500)),
});
const { port } = await server.listen(0, '127.0.0.1');
let baseline;

async function topology() {
  const vhost = broker.vhost('/');
  const queues = (await vhost.listQueues()).map((q) => q.name);
  const exchanges = vhost.routing.exchanges().map((e) => e.name);
  return { vhost, queues, exchanges };
}

/** Messages the cases left in queues are state they asked for, not leaks: purged before each measure. */
async function purge() {
  const { vhost, queues } = await topology();
  let purged = 0;
  for (const q of queues) purged += await vhost.purgeQueue(q).catch(() => 0);
  return purged;
}

async function clean() {
  const { vhost, queues, exchanges } = await topology();
  let deleted = 0;
  for (const q of queues)
    if (!baseline.queues.includes(q))
      await vhost.deleteQueue(q).then(
        () => deleted++,
        () => undefined,
      );
  for (const x of exchanges)
    if (!baseline.exchanges.includes(x))
      await vhost.deleteExchange(x).then(
        () => deleted++,
        () => undefined,
      );
  return deleted;
}

async function measure(m) {
  let waitedMs = 0;
  // Connections closed by the fuzzer go away asynchronously (close timeouts are 2 s).
  while (server.connectionCount > 0 && waitedMs < 10_000) {
    await new Promise((r) => setTimeout(r, 100));
    waitedMs += 100;
  }
  const deleted = baseline && m.clean ? await clean() : 0;
  const purged = await purge();
  const t = await topology();
  baseline ??= t;
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  // FUZZ_HEAP_SNAPSHOTS=<dir>: a heap snapshot at each measure, to diff when the heap did not return.
  const snapshot = process.env.FUZZ_HEAP_SNAPSHOTS
    ? writeHeapSnapshot(`${process.env.FUZZ_HEAP_SNAPSHOTS}/fuzz-${Date.now()}.heapsnapshot`)
    : undefined;
  return {
    type: 'mem',
    snapshot,
    memory: process.memoryUsage(),
    connections: server.connectionCount,
    queues: t.queues.length,
    exchanges: t.exchanges.length,
    deleted,
    purged,
    errors: errors.length,
    firstErrors: errors.slice(0, 5),
  };
}

process.on('message', (m) => {
  if (m === 'stop' || m?.type === 'stop')
    void server
      .close()
      .then(() => broker.close())
      .finally(() => process.exit(0));
  else if (m?.type === 'mem') void measure(m).then((r) => process.send(r));
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'listening', port });
