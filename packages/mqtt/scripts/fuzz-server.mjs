// Child process for fuzz-run.mjs: a Conveyor MQTT server (memory store) that reports its heap
// after forced GC on request. Needs --expose-gc and the built dist (`npm run build`).
import { Broker, MemoryStore } from '../../core/dist/index.js';
import { MqttServer } from '../dist/index.js';

const broker = await Broker.open({ store: new MemoryStore() });
const server = new MqttServer(broker, { maxPacketBytes: 64 * 1024 });
const { port } = await server.listen(0, '127.0.0.1');

async function settledHeap() {
  for (let i = 0; i < 6; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
}

process.on('message', async (m) => {
  if (m === 'queues') {
    const queues = await broker.vhost('/').listQueues();
    process.send(queues.filter((q) => q.messageCount > 0).map((q) => `${q.name}: ${q.messageCount}`));
  }
  if (m === 'heap')
    process.send({
      heapUsed: await settledHeap(),
      connections: server.connectionCount,
      rss: process.memoryUsage().rss,
    });
  if (typeof m === 'object' && m.snapshot) {
    await settledHeap();
    const { writeHeapSnapshot } = await import('node:v8');
    process.send({ file: writeHeapSnapshot(m.snapshot) });
  }
  if (m === 'stop') {
    await server.close();
    await broker.close();
    process.exit(0);
  }
});
process.send({ port });
