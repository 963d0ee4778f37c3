// Child process: plain Aedes (in-memory persistence) over net, on an ephemeral port.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const aedes = await Aedes.createBroker();
const server = createServer(aedes.handle);
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'stop') server.close(() => aedes.close(() => process.exit(0)));
});
