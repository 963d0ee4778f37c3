// Child process: Conveyor's MqttServer on the in-memory store, on an ephemeral port.
// Tells the parent { port } over IPC; closes on 'stop' (so `node --cpu-prof` writes its profile).
import { Broker, MemoryStore } from '../../packages/core/dist/index.js';
import { MqttServer } from '../../packages/mqtt/dist/index.js';

const broker = await Broker.open({ store: new MemoryStore() });
// Defaults: guest/guest from loopback only, and an anonymous CONNECT is guest (as Mosquitto's
// default lets the bench's clients in without credentials).
const server = new MqttServer(broker);
const { port } = await server.listen(0, '127.0.0.1');
process.on('message', async (m) => {
  if (m === 'memory') {
    // After a full collection when started with --expose-gc: what is live, not what was garbage.
    globalThis.gc?.();
    process.send({ memory: process.memoryUsage() });
    return;
  }
  if (m === 'stop') {
    await server.close();
    await broker.close();
    process.exit(0);
  }
});
process.send({ port });
